"""The preview's parts without a browser: the watcher (re-checks on every edit of the flow or its
tests file, keeps the last good version), the preview app on a real migrated SQLite database
(it serves each good edit with no restart, answers its poll 204 while nothing changed, lets only
its own pages frame the wizard) and the command's refusals."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.flow.watch import FlowWatcher
from assistant.web.preview import install
from conftest import FLOWS, heading, past_checks, start_form

TITLE = "Autofy can reach Salesforce right now"


@pytest.fixture
def flow_file(tmp_path):
    path = tmp_path / "salesforce.yaml"
    shutil.copy(FLOWS / "salesforce.yaml", path)
    shutil.copy(FLOWS / "salesforce.tests.yaml", tmp_path / "salesforce.tests.yaml")
    return path


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def line_of(path, text: str) -> int:
    content = path.read_text()
    return content.count("\n", 0, content.index(text)) + 1


def test_the_watcher_rechecks_each_edit_and_keeps_the_last_good_version(flow_file):
    watcher = FlowWatcher(flow_file)
    first = watcher.poll()
    assert first.current and not first.problems
    assert first.report.ok and first.report.cases > 0 and first.report.coverage == 1.0
    assert watcher.poll() is first  # unchanged bytes: not checked again

    edit(flow_file, "start: detect", "start: nowhere")
    broken = watcher.poll()
    line = line_of(flow_file, "start: nowhere")
    assert not broken.current and broken.report is None
    assert [str(p) for p in broken.problems] == [
        f"{flow_file}:{line}: start: start step 'nowhere' does not exist"]
    assert broken.flow is first.flow and broken.good_at == first.good_at  # still walkable
    assert broken.fingerprint != first.fingerprint

    edit(flow_file, "start: nowhere", "start: detect")
    edit(flow_file, f"title: {TITLE}", "title: Salesforce answers")
    fixed = watcher.poll()
    assert fixed.current and not fixed.problems
    assert fixed.flow.steps["already-working"].title == "Salesforce answers"
    assert fixed.flow.version != first.flow.version


def test_an_edit_of_the_tests_file_runs_the_cases_again(flow_file):
    tests = flow_file.with_name("salesforce.tests.yaml")
    watcher = FlowWatcher(flow_file)
    before = watcher.poll()
    assert before.report.ok
    edit(tests, "{probe: connected, then: already-working}",
         "{probe: connected, then: disconnect}")
    after = watcher.poll()
    assert after.current and not after.report.ok
    assert [p.file for p in after.report.problems] == [str(tests)]
    assert after.report.problems[0].message == (
        "expected step 'disconnect', but 'connected' at 'detect' led to 'already-working'")
    tests.unlink()
    without = watcher.poll()
    assert without.report.tests_file is None and without.report.ok
    assert without.report.covered == set() and without.report.all


def test_a_file_broken_from_the_start_or_removed_names_the_problem(tmp_path, flow_file):
    missing = FlowWatcher(tmp_path / "gone.yaml").poll()
    assert missing.flow is None and "cannot read" in str(missing.problems[0])
    watcher = FlowWatcher(flow_file)
    good = watcher.poll()
    flow_file.unlink()
    gone = watcher.poll()
    assert gone.flow is good.flow and not gone.current
    assert str(gone.problems[0]).startswith(f"{flow_file}:1: cannot read")


@pytest.fixture
def preview_app(make_app, flow_file):
    app = make_app(FLOWS_PATH=[])
    install(app, FlowWatcher(flow_file))
    return app


def start_walk(client, flow_id: str) -> str:
    """Start a session of ``flow_id`` (no connections: the probe takes the manual path) and
    return its first page's heading."""
    page = client.get(f"/flows/{flow_id}")  # the start page: pressing Start starts it
    form = start_form(page.get_data(as_text=True), flow_id)
    response = past_checks(client, client.post(form["action"], data=form["fields"],
                                                follow_redirects=True))  # Continue: done
    assert response.status_code == 200
    return heading(response.get_data(as_text=True))


def test_the_app_serves_each_good_edit_without_a_restart(preview_app, flow_file):
    client = preview_app.test_client()
    assert client.get("/preview/walk").headers["Location"] == "/flows/salesforce"
    assert start_walk(client, "salesforce") == "Disconnect Salesforce"

    edit(flow_file, "title: Disconnect Salesforce", "title: Log out of Salesforce in Autofy")
    assert start_walk(client, "salesforce") == "Log out of Salesforce in Autofy"
    assert TITLE in client.get("/preview").get_data(as_text=True)  # in the diagram

    edit(flow_file, "id: salesforce", "id: salesforce-draft")
    assert client.get("/flows/salesforce").status_code == 404
    assert start_walk(client, "salesforce-draft") == "Log out of Salesforce in Autofy"
    assert client.get("/preview/walk").headers["Location"] == "/flows/salesforce-draft"

    edit(flow_file, "kind: end", "kind: ending")  # broken: the last good version is served
    assert start_walk(client, "salesforce-draft") == "Log out of Salesforce in Autofy"
    page = client.get("/preview").get_data(as_text=True)
    assert f"{flow_file}:{line_of(flow_file, 'kind: ending')}: steps." in page


def test_the_poll_answers_204_until_a_file_changes(preview_app, flow_file):
    client = preview_app.test_client()
    page = client.get("/preview")
    assert page.status_code == 200
    fingerprint = FlowWatcher(flow_file).poll().fingerprint
    assert f"/preview/live?v={fingerprint}" in page.get_data(as_text=True)
    assert client.get(f"/preview/live?v={fingerprint}").status_code == 204

    flow_file.with_name("salesforce.tests.yaml").unlink()
    changed = client.get(f"/preview/live?v={fingerprint}")
    html = changed.get_data(as_text=True)
    assert changed.status_code == 200
    assert "No tests yet" in html and 'id="announcer" hx-swap-oob' in html
    assert "/preview/live?v=" + fingerprint not in html


def test_only_the_preview_app_lets_its_own_pages_frame_the_wizard(preview_app, make_app):
    policy = preview_app.test_client().get("/flows/salesforce").headers[
        "Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in make_app().test_client().get("/").headers[
        "Content-Security-Policy"]


def test_until_the_flow_first_passes_its_checks_there_is_nothing_to_walk(make_app, flow_file):
    edit(flow_file, "start: detect", "start: nowhere")
    app = make_app(FLOWS_PATH=[])
    install(app, FlowWatcher(flow_file))
    client = app.test_client()
    walk = client.get("/preview/walk")
    assert walk.status_code == 200 and "Nothing to walk yet" in walk.get_data(as_text=True)
    assert "start step &#39;nowhere&#39; does not exist" in client.get(
        "/preview").get_data(as_text=True)
    edit(flow_file, "start: nowhere", "start: detect")
    assert client.get("/preview/walk").headers["Location"] == "/flows/salesforce"


def test_the_command_refuses_what_is_not_a_flow_file(flow_file):
    runner = CliRunner()
    tests = runner.invoke(main, ["preview", str(flow_file.with_name("salesforce.tests.yaml"))])
    assert tests.exit_code == 2 and "is not a flow file" in tests.output
    missing = runner.invoke(main, ["preview", str(flow_file.with_name("none.yaml"))])
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_the_previews_simulator_takes_a_free_port_so_two_previews_can_run():
    # port 0 was read as "no port" and became 80: a second preview then failed to start
    import httpx

    from assistant.cli.servers import start_simulator
    first, second = start_simulator("http://127.0.0.1:0"), start_simulator("http://127.0.0.1:0")
    ports = {int(url.rsplit(":", 1)[1]) for url in (first, second)}
    assert len(ports) == 2 and 80 not in ports
    for url in (first, second):
        assert httpx.get(url + "/", timeout=5).status_code == 200
