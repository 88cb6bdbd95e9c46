"""The console's Flows pages: what an admin sees of each served flow (versions and the sessions
pinned to them, validation, flow tests, translations, traffic, diagram), cached test runs, and
who may see them."""

from __future__ import annotations

import html as htmllib
import re
import shutil

import pytest

from assistant.store import Store
from conftest import FLOWS, login

BROKEN_TEST = "- {answer: works, then: connected-resolved, ends: resolved}"
SOURCE_TITLE = "source:\n  title: Cómo restablecer tu conexión\n"


def flows_copy(tmp_path, name="flows"):
    folder = tmp_path / name
    shutil.copytree(FLOWS, folder)
    return folder


def broken_flows(tmp_path):
    """The shipped flows, with Salesforce's Spanish ``source.title`` misspelt (one text
    missing, one key extra) and its first test expecting the wrong step."""
    folder = flows_copy(tmp_path)
    es = folder / "salesforce.es.yaml"
    text = es.read_text()
    assert SOURCE_TITLE in text
    es.write_text(text.replace(SOURCE_TITLE, SOURCE_TITLE.replace("title:", "titel:")))
    tests = folder / "salesforce.tests.yaml"
    text = tests.read_text()
    assert text.count(BROKEN_TEST) == 1
    tests.write_text(text.replace(BROKEN_TEST, BROKEN_TEST.replace("then: connected-resolved",
                                                                   "then: verify")))
    return folder


def text_of(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def row(html: str, flow_id: str) -> str:
    found = re.search(rf'<tr data-flow="{flow_id}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {flow_id}"
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def cell(html: str, name: str) -> str:
    found = re.search(rf'<td[^>]*data-figure="{name}">(.*?)</td>', html, re.S)
    assert found, f"no cell {name}"
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    login(client, admin)
    return client


def test_a_broken_translation_and_a_failing_test_show_as_such(make_app, admin, tmp_path):
    folder = broken_flows(tmp_path)
    app = make_app(FLOWS_PATH=[str(folder)])
    client = app.test_client()
    login(client, admin)
    page = client.get("/console/flows").get_data(as_text=True)

    salesforce = row(page, "salesforce")
    cases = (folder / "salesforce.tests.yaml").read_text().count("\n  - name:")
    assert cell(salesforce_row(page), "tests") == \
        f"Failing {cases - 1} of {cases} tests passed; 1 problem"
    assert "Español: Refused 1 missing, 1 extra" in salesforce
    online = row(page, "quickbooks-online")
    assert "Español: Complete" in online and "Passed" in online and "Failing" not in online
    assert "Valid" in online

    detail = text_of(client.get("/console/flows/salesforce"))
    es = folder / "salesforce.es.yaml"
    assert f"{es}:7: source.title: missing the es text of source.title" in detail
    assert f"{es}:8: source.titel: 'source.titel' is not a text of the flow salesforce" in detail
    tests = folder / "salesforce.tests.yaml"
    assert re.search(rf"{re.escape(str(tests))}:\d+: tests\[0\]\.steps\[1\]\.then: expected "
                     r"step 'verify', but 'works' at 'already-working' led to "
                     r"'connected-resolved'", detail), detail[:3000]
    # The flow file itself still validates; the failing test does not make it invalid.
    assert "The file passes assistant validate" in " ".join(detail.split())


def salesforce_row(page: str) -> str:
    return row_html(page, "salesforce")


def test_the_shipped_flows_pass_everything(admin_client, app):
    page = admin_client.get("/console/flows").get_data(as_text=True)
    for flow_id in app.extensions["assistant"].flows:
        here = re.search(rf'<tr data-flow="{flow_id}">(.*?)</tr>', page, re.S).group(1)
        assert cell(here, "validation") == "Valid"
        assert cell(here, "tests").startswith("Passed")
        assert "(100 %)" in cell(here, "tests")
        assert cell(here, "translations").startswith("Español: Complete")
    assert 'href="/console/flows/salesforce"' in page
    assert "Other flow files have problems" not in page


def test_a_refused_flow_file_is_listed_with_file_and_line(make_app, admin, tmp_path):
    folder = flows_copy(tmp_path)
    (folder / "broken.yaml").write_text("id: broken\ntitle: Broken\nsteps: 3\n")
    app = make_app(FLOWS_PATH=[str(folder)])
    client = app.test_client()
    login(client, admin)
    page = text_of(client.get("/console/flows"))
    assert "Other flow files have problems" in page
    assert f"{folder / 'broken.yaml'}:" in page


def test_versions_show_the_sessions_pinned_to_each(make_app, admin, tmp_path):
    before = make_app()
    old = before.extensions["assistant"].flows["salesforce"].version
    store = Store(before.extensions["assistant"].store.engine)
    ended = store.create_session("salesforce", old, "already-working")
    store.record_answer(ended, old, ended.position, "already-working", "works",
                        "connected-resolved", {}, "resolved")
    store.create_session("salesforce", old, "detect")
    store.create_session("salesforce", old, "detect")

    folder = flows_copy(tmp_path, "edited")
    text = (folder / "salesforce.yaml").read_text()
    (folder / "salesforce.yaml").write_text(text.replace(
        "title: Your Salesforce connection is back", "title: Salesforce is connected again"))
    after = make_app(FLOWS_PATH=[str(folder)])
    new = after.extensions["assistant"].flows["salesforce"].version
    assert new != old
    store.create_session("salesforce", new, "detect")
    client = after.test_client()
    login(client, admin)

    page = client.get("/console/flows").get_data(as_text=True)
    assert cell(salesforce_row(page), "open-on-old") == "2 open"
    assert cell(row_html(page, "quickbooks-online"), "open-on-old") == "0 open"
    detail = client.get("/console/flows/salesforce").get_data(as_text=True)
    versions = {v: (cell(r, "sessions"), cell(r, "open")) for v, r in re.findall(
        r'<tr data-version="([0-9a-f]+)">(.*?)</tr>', detail, re.S)}
    assert versions == {old: ("3", "2"), new: ("1", "1")}
    assert f'/console/flows/salesforce/versions/{old}/{new}' in detail
    assert "Traffic" in detail and 'data-figure="started">4<' in detail
    assert 'data-figure="resolved">1<' in detail
    assert '<svg class="flow-diagram"' in detail


def row_html(page: str, flow_id: str) -> str:
    return re.search(rf'<tr data-flow="{flow_id}">(.*?)</tr>', page, re.S).group(1)


def test_flow_tests_run_once_per_version_and_again_when_the_tests_change(
        make_app, admin, tmp_path, monkeypatch):
    import assistant.flow_status as status
    folder = flows_copy(tmp_path)
    app = make_app(FLOWS_PATH=[str(folder)])
    client = app.test_client()
    login(client, admin)
    runs = []
    real = status.run_cases_on

    def counting(flow, *args, **kwargs):
        runs.append(flow.id)
        return real(flow, *args, **kwargs)

    monkeypatch.setattr(status, "run_cases_on", counting)
    for _ in range(2):
        assert client.get("/console/flows").status_code == 200
        assert client.get("/console/flows/salesforce").status_code == 200
    assert sorted(runs) == ["quickbooks-desktop", "quickbooks-online", "salesforce"]
    tests = folder / "salesforce.tests.yaml"
    tests.write_text(tests.read_text().replace(
        BROKEN_TEST, BROKEN_TEST.replace("then: connected-resolved", "then: verify")))
    page = client.get("/console/flows").get_data(as_text=True)
    assert runs.count("salesforce") == 2
    assert cell(salesforce_row(page), "tests").startswith("Failing")


def test_agents_get_403_and_anonymous_visitors_the_login(app, agent, admin):
    anonymous = app.test_client()
    for url in ("/console/flows", "/console/flows/salesforce"):
        response = anonymous.get(url)
        assert response.status_code == 303 and "/console/login" in response.headers["Location"]
    client = app.test_client()
    login(client, agent)
    assert client.get("/console/flows").status_code == 403
    assert client.get("/console/flows/salesforce").status_code == 403
    assert 'href="/console/flows"' not in client.get("/console/sessions").get_data(as_text=True)
    admin_client = app.test_client()
    login(admin_client, admin)
    assert 'href="/console/flows"' in admin_client.get("/console/sessions").get_data(
        as_text=True)
    assert admin_client.get("/console/flows/no-such-flow").status_code == 404
