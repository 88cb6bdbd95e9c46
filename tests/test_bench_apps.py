"""The benchmark's baseline stays comparable: bench/bare_app.py renders the same step fragment
the wizard answers an htmx POST with (a baseline that errors or renders less would make every
ratio bench.py prints meaningless)."""

from __future__ import annotations

import re
import sys

from conftest import REPO, Walker, answer_form, start_session

sys.path.insert(0, str(REPO / "bench"))

from bench import ANSWER_ID, BARE_SID, FLOWS, SMALL, flow_yaml  # noqa: E402


def test_the_bare_app_renders_the_fragment_the_wizard_answers_with(tmp_path, monkeypatch,
                                                                   make_app):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / f"{SMALL}.yaml").write_text(flow_yaml(SMALL, FLOWS[SMALL]))
    monkeypatch.setenv("FLOWS_PATH", str(flows))
    monkeypatch.setenv("BENCH_BARE_FLOW", SMALL)
    monkeypatch.setenv("SECRET_KEY", "k" * 64)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "bare"))
    from bare_app import create_app
    bare = create_app().test_client().post(f"/s/{BARE_SID}/0", data={"answer": ANSWER_ID},
                                           headers={"HX-Request": "true"})
    assert bare.status_code == 200 and bare.headers["HX-Push-Url"] == f"/s/{BARE_SID}/1"

    client = make_app(FLOWS_PATH=[str(flows)]).test_client()
    walker = Walker(client, SMALL)
    form = answer_form(walker.html)
    real = client.post(form["action"], data={**form["fields"], "answer": ANSWER_ID},
                       headers={"HX-Request": "true"})
    assert real.status_code == 200
    # the same markup, links and words (the share code and restart link included) but for
    # what differs per session: its id, share code, form token and times
    def same(html):
        html = re.sub(r'(value|content|datetime|title)="[^"]*"', "", html)
        html = re.sub(r"/s/[A-Za-z0-9_-]{22}/", "/s/SID/", html)
        html = re.sub(r'(<span class="share-code">)[^<]*', r"\1CODE", html)
        return re.sub(r'(<span class="visually-hidden">Tell support:)[^<]*', r"\1 CODE", html)
    bare_html, real_html = same(bare.get_data(as_text=True)), same(real.get_data(as_text=True))
    assert "Tell support:" in real_html and 'href="/flows/bench-10?lang=en"' in real_html
    assert bare_html == real_html


def test_the_probe_clients_poll_is_the_pages_own_and_ends_the_session(tmp_path, make_app):
    # (c)'s probe clients once polled with a GET, which never applies a check: no probe
    # session of the benchmark ever ended. They now post the page's #probe-wait form.
    from probe_bench import MANUAL_MARK, PROBE_FLOW, poll_form, probe_flow_yaml
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / f"{PROBE_FLOW}.yaml").write_text(probe_flow_yaml())
    client = make_app(FLOWS_PATH=[str(flows)]).test_client()
    url = start_session(client, PROBE_FLOW)  # no connection: "not checked" at once
    page = client.get(url).get_data(as_text=True)
    action, fields = poll_form(page)
    assert {"csrf_token", "revision"} <= set(fields)
    polled = client.post(action, data=fields, headers={"HX-Request": "true"})
    assert polled.status_code == 200 and polled.headers["HX-Retarget"] == "#step"
    assert MANUAL_MARK in polled.get_data(as_text=True)  # the session went on to its end
