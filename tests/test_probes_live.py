"""Probes end to end: the simulator over real loopback HTTP → checks → diagnosis → runner →
wizard. Every cause of the catalogue, quota safety under concurrency (upstream calls counted),
hung and broken upstreams, and secrets kept out of the database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from simserver import IDS, PROBE_OF, SECRETS, Simulator
from sqlalchemy import MetaData, select

from assistant.probes.checks import run_check
from assistant.probes.diagnosis import causes_for, diagnose
from assistant.probes.ruleset import load_rules
from assistant.probes.runner import ProbeRunner
from assistant.probes.tokens import TokenStore
from assistant.simulator.scenarios import available
from assistant.store import ProbeChecks, make_engine
from conftest import REPO, Walker, answer_form, forms, heading, poll_form, start_session


@pytest.fixture(scope="module")
def sim():
    with Simulator(delay=0.3, hang_seconds=8) as s:
        yield s


@pytest.fixture
def conns(sim, tmp_path):
    sim.reset()
    return sim.connections(tmp_path, read=1.0)


@pytest.fixture
def tokens(tmp_path):
    return TokenStore(tmp_path / "tokens")


CAUSES = [(system, cause) for system in IDS for cause in causes_for(system)]


@pytest.mark.parametrize(("system", "cause"), CAUSES)
def test_every_cause_of_the_catalogue_is_produced_and_diagnosed(sim, conns, tokens, system,
                                                                 cause):
    assert cause in available(system), f"the simulator cannot produce {cause}"
    sim.set(IDS[system], system, cause)
    observations = run_check(PROBE_OF[system], conns[IDS[system]], tokens=tokens)
    diagnosis = diagnose(system, observations)
    assert diagnosis.cause == cause, diagnosis.to_json()
    assert diagnosis.explanation and diagnosis.evidence


@pytest.mark.parametrize("system", IDS)
def test_a_healthy_connection_is_connected(sim, conns, tokens, system):
    observations = run_check(PROBE_OF[system], conns[IDS[system]], tokens=tokens)
    assert diagnose(system, observations).outcome == "connected"


@pytest.mark.parametrize("system", IDS)
@pytest.mark.parametrize(("scenario", "allowed"), [
    ("hung", {"timeout"}),
    ("garbage", {"unknown"}),
    # A 502 HTML page: the system's outage cause, or unknown — never a confident other cause.
    ("html_error", {"unknown", "quickbooks_online.service_unavailable",
                    "salesforce.service_incident"}),
])
def test_broken_upstreams_give_a_safe_outcome(sim, conns, tokens, system, scenario, allowed):
    sim.set(IDS[system], system, scenario)
    observations = run_check(PROBE_OF[system], conns[IDS[system]], tokens=tokens)
    assert diagnose(system, observations).outcome in allowed


def test_the_daily_limit_is_explained_with_the_numbers_seen(sim, conns, tokens):
    sim.set("acme-salesforce", "salesforce", "salesforce.daily_api_limit_exceeded")
    observations = run_check("salesforce.api", conns["acme-salesforce"], tokens=tokens)
    diagnosis = diagnose("salesforce", observations)
    assert "15,000 of 15,000 daily API requests used" in diagnosis.explanation
    assert (diagnosis.evidence["remaining"], diagnosis.evidence["max"]) == (0, 15000)


# --- the runner: off the request thread, once per TTL across workers and processes ----------

def runner_for(db_url, conns, tmp_path, ttl=60.0):
    return ProbeRunner(ProbeChecks(make_engine(db_url)), conns, TokenStore(tmp_path / "tokens"),
                       ttl=ttl, max_wait=10)


def wait_done(runner, connection_id, probe, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check = runner.result(connection_id, probe)
        if check.done:
            return check
        time.sleep(0.05)
    raise AssertionError("the check did not finish")


def test_concurrent_checks_call_the_upstream_once_per_ttl(sim, conns, db_url, tmp_path):
    # Four "workers" (runners with their own database engines and pools), 8 threads each,
    # all asking at once.
    runners = [runner_for(db_url, conns, tmp_path) for _ in range(4)]
    start = threading.Barrier(32)

    def ask(i):
        start.wait()
        return wait_done(runners[i % 4], "acme-salesforce", "salesforce.api").id

    with ThreadPoolExecutor(32) as pool:
        ids = set(pool.map(ask, range(32)))
    assert len(ids) == 1  # everyone got the same check
    calls = sim.calls()["acme-salesforce"]
    assert calls["token"] == 1 and calls["limits"] == 1, calls
    assert runners[0].checks.count("acme-salesforce", "salesforce.api") == 1


PROCESS_SCRIPT = """
import sys, time, json
sys.path.insert(0, {tests!r})
from simserver import Simulator  # noqa: F401  (same config writer)
from assistant.probes.connections import load_connections
from assistant.probes.ruleset import load_rules
from assistant.probes.runner import ProbeRunner
from assistant.probes.tokens import TokenStore
from assistant.store import ProbeChecks, make_engine
conns = load_connections({config!r}, environ={environ!r})
runner = ProbeRunner(ProbeChecks(make_engine({db!r})), conns, TokenStore({tokens!r}), ttl=60)
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    check = runner.result("acme-qbo", "quickbooks_online.api")
    if check.done:
        print(json.dumps({{"id": check.id, "outcome": check.outcome}}))
        break
    time.sleep(0.02)
"""


def test_separate_processes_share_one_check(sim, conns, db_url, tmp_path):
    environ = {"SIMULATOR_URL": sim.url, **SECRETS}
    script = PROCESS_SCRIPT.format(tests=str(REPO / "tests"), config=str(conns.path),
                                   environ=environ, db=db_url, tokens=str(tmp_path / "tokens"))
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert len({r["id"] for r in results}) == 1 and results[0]["outcome"] == "connected"
    assert sim.calls()["acme-qbo"]["company_info"] == 1


def test_after_the_ttl_a_new_check_calls_the_upstream_again(sim, conns, db_url, tmp_path):
    runner = runner_for(db_url, conns, tmp_path, ttl=0.5)
    first = wait_done(runner, "acme-qbd", "quickbooks_desktop.agent")
    assert wait_done(runner, "acme-qbd", "quickbooks_desktop.agent").id == first.id  # cached
    time.sleep(0.6)
    second = wait_done(runner, "acme-qbd", "quickbooks_desktop.agent")
    assert second.id != first.id and sim.calls()["acme-qbd"]["agent_status"] == 2


def test_a_hung_upstream_does_not_block_the_caller(sim, conns, db_url, tmp_path):
    sim.set("acme-qbd", "quickbooks_desktop", "hung")
    runner = runner_for(db_url, conns, tmp_path)
    check = runner.result("acme-qbd", "quickbooks_desktop.agent")
    assert check.state == "running"  # answered while the upstream hangs
    done = wait_done(runner, "acme-qbd", "quickbooks_desktop.agent")
    assert done.outcome == "timeout" and done.latency_ms >= 900  # the 1 s read timeout


def test_no_connection_is_unavailable_at_once(conns, db_url, tmp_path):
    runner = runner_for(db_url, conns, tmp_path)
    for connection_id in (None, "no-such-connection", "acme-qbd"):  # acme-qbd: wrong system
        check = runner.result(connection_id, "salesforce.api")
        assert check.done and check.outcome == "unavailable"


# --- the wizard with live checks -------------------------------------------------------------

@pytest.fixture
def live_app(sim, make_app, monkeypatch, tmp_path):
    sim.reset()
    monkeypatch.setenv("SIMULATOR_URL", sim.url)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    config = sim.connections(tmp_path, read=1.0).path

    def make(**settings):
        return make_app(CONNECTIONS_PATH=str(config), PROBE_TTL_SECONDS=1, **settings)
    return make


def settle(walker, timeout=10.0):
    """Reload a probe step's page until the check is done (as the meta refresh does)."""
    deadline = time.monotonic() + timeout
    while "Still checking" in walker.html or "check again in" in walker.html:
        assert time.monotonic() < deadline, walker.html[-3000:]
        time.sleep(0.2)
        walker.go(walker.url)


def test_salesforce_daily_limit_jumps_to_its_explanation_then_confirms(sim, live_app):
    sim.set("acme-salesforce", "salesforce", "salesforce.daily_api_limit_exceeded")
    client = live_app().test_client()
    w = Walker(client, "salesforce", connection="acme-salesforce")
    settle(w)
    assert heading(w.html) == "Your org has used up its daily Salesforce API requests"
    assert "15,000 of 15,000 daily API requests used" in w.html
    assert "Acme Inc. Salesforce" in w.html
    # The limit rolls over; "Check again" waits for the TTL, then checks and confirms.
    sim.set("acme-salesforce", "salesforce", "healthy")
    w.answer("check-again")
    settle(w)
    assert heading(w.html) == "Your Salesforce connection is back"
    assert "Connection is working" in w.html
    assert sim.calls()["acme-salesforce"]["token"] == 2  # one per check, none in between


def test_quickbooks_desktop_modal_dialog_goes_to_the_fix(sim, live_app, store):
    sim.set("acme-qbd", "quickbooks_desktop", "quickbooks_desktop.modal_dialog_open")
    client = live_app().test_client()
    w = Walker(client, "quickbooks-desktop", connection="acme-qbd")
    settle(w)
    assert heading(w.html) == "Close the open dialog box in QuickBooks"
    assert "0x80040414" in w.html
    [line] = store.transcript(w.sid)
    assert line.answer == "quickbooks_desktop.modal_dialog_open" and line.probe_check_id


def test_a_hung_upstream_shows_checking_then_the_manual_path(sim, live_app, store):
    sim.set("acme-qbo", "quickbooks_online", "hung")
    client = live_app().test_client()
    w = Walker(client, "quickbooks-online", connection="acme-qbo")
    assert "Still checking" in w.html and 'http-equiv="refresh"' in w.html
    form = poll_form(w.html)
    poll = client.post(form["action"], data=form["fields"], headers={"HX-Request": "true"})
    body = poll.get_data(as_text=True)
    assert poll.status_code == 200 and body.lstrip().startswith('<form id="probe-wait"')
    assert store.get_session(w.sid).position == 0  # still checking: nothing applied
    settle(w)
    assert heading(w.html) == "Disconnect QuickBooks Online"  # the article's steps
    assert "did not answer" in w.html or "timed out" in w.html.lower()


def test_htmx_poll_swaps_in_the_next_step_when_the_check_is_done(sim, live_app, store):
    client = live_app().test_client()
    w = Walker(client, "quickbooks-desktop", connection="acme-qbd")
    settle(w)
    url = start_session(client, "quickbooks-desktop", connection="acme-qbd")  # a second one
    first = poll_form(client.get(url).get_data(as_text=True))
    form, deadline = first, time.monotonic() + 10
    while True:  # poll as htmx does until the check is done (cached, or a new one)
        poll = client.post(form["action"], data=form["fields"], headers={"HX-Request": "true"})
        assert poll.status_code == 200
        if "HX-Retarget" in poll.headers or time.monotonic() > deadline:
            break
        assert poll.get_data(as_text=True).lstrip().startswith('<form id="probe-wait"')
        form = poll_form(poll.get_data(as_text=True))
        time.sleep(0.2)
    assert poll.headers["HX-Retarget"] == "#step" and poll.headers["HX-Push-Url"].endswith("/1")
    assert "Your Autofy Agent is connected right now" in poll.get_data(as_text=True)
    # The same poll again (a second tab, a retried request): applied once, never twice.
    sid = url.split("/")[2]
    again = client.post(form["action"], data=form["fields"], headers={"HX-Request": "true"})
    assert again.headers["HX-Push-Url"] == f"/s/{sid}/1"
    assert len(store.transcript(sid)) == 1 and store.get_session(sid).revision == 1


@pytest.mark.parametrize("scenario", ["html_error", "garbage", "hung", "slow"])
def test_no_upstream_answer_ever_gives_a_500(sim, live_app, scenario):
    client = live_app().test_client()
    for system, flow_id in (("salesforce", "salesforce"), ("quickbooks_online",
                                                           "quickbooks-online"),
                            ("quickbooks_desktop", "quickbooks-desktop")):
        sim.set(IDS[system], system, scenario)
        w = Walker(client, flow_id, connection=IDS[system])
        settle(w)
        assert w.page.status_code == 200 and heading(w.html)


def test_a_forged_probe_outcome_is_refused(sim, live_app, store):
    sim.set("acme-qbd", "quickbooks_desktop", "hung")
    client = live_app().test_client()
    w = Walker(client, "quickbooks-desktop", connection="acme-qbd")
    other = Walker(client, "salesforce", connection="acme-salesforce")  # healthy: has a form
    settle(other)
    form = answer_form(other.html)
    response = client.post(w.url, data={"csrf_token": form["fields"]["csrf_token"],
                                        "revision": "0", "answer": "connected"})
    assert response.status_code == 400 and store.get_session(w.sid).position == 0


def test_secrets_are_not_stored_shown_or_handed_off(sim, live_app, db_url, store, tmp_path):
    sim.set("acme-qbo", "quickbooks_online", "quickbooks_online.reconnect_required")
    client = live_app().test_client()
    w = Walker(client, "quickbooks-online", connection="acme-qbo")
    settle(w)
    pages = w.html
    sim.set("acme-qbo", "quickbooks_online", "healthy")  # the reset worked: tokens issued
    w.answer("reset")
    w.answer("disconnected")
    w.answer("connected")
    settle(w)
    pages += w.html
    client.post(f"/s/{w.sid}/support", data={**answer_form_or_feedback(w.html),
                                             "message": "help"})
    [handoff] = store.handoffs_for(w.sid)
    found = handoff.transcript[0]["check"]  # the handoff carries what the check found
    assert found["outcome"] == "quickbooks_online.reconnect_required"
    assert found["evidence"]["status"] == 400 and found["connection_id"] == "acme-qbo"
    engine = make_engine(db_url)
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        dump = json.dumps([[list(map(str, row)) for row in conn.execute(select(table))]
                           for table in meta.sorted_tables])
    assert "probe_checks" in {t.name for t in meta.sorted_tables} and "0x" not in SECRETS
    issued = [value for file in (tmp_path / "tokens").glob("*.json")
              for key, value in json.loads(file.read_text()).items()
              if key in ("access_token", "refresh_token") and value]
    assert issued  # the tokens the simulator issued: secrets too
    for value in (*SECRETS.values(), *issued):
        assert value not in dump and value not in pages


def answer_form_or_feedback(html):
    from conftest import forms
    return next(f for f in forms(html) if "revision" in f["fields"])["fields"]


def test_a_slow_poller_gets_the_check_it_waited_for(sim, conns, db_url, tmp_path):
    # The page polls less often than the TTL: it must still get its result, not a new check.
    from datetime import UTC, datetime
    runner = runner_for(db_url, conns, tmp_path, ttl=0.2)
    arrived = datetime.now(UTC)
    first = runner.result("acme-qbd", "quickbooks_desktop.agent")
    wait_done(runner, "acme-qbd", "quickbooks_desktop.agent")  # done (maybe a later one)
    time.sleep(0.5)
    again = runner.result("acme-qbd", "quickbooks_desktop.agent", waiting_for=first.id,
                          arrived_at=arrived, recheck=True)
    assert again.id == first.id and again.done
    # A forged or foreign id is ignored.
    other = runner.result("acme-qbo", "quickbooks_online.api", waiting_for=first.id)
    assert other.id != first.id


def test_a_reload_slower_than_the_ttl_still_ends_on_this_visits_check(sim, conns, db_url,
                                                                      tmp_path):
    from datetime import UTC, datetime
    runner = runner_for(db_url, conns, tmp_path, ttl=0.2)
    arrived = datetime.now(UTC)
    first = runner.result("acme-qbd", "quickbooks_desktop.agent", arrived_at=arrived)
    deadline = time.monotonic() + 10
    while not runner.checks.get(first.id).done:  # however long a loaded machine takes
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # now older than the TTL
    again = runner.result("acme-qbd", "quickbooks_desktop.agent", arrived_at=arrived)
    assert again.id == first.id and again.done
    assert sim.calls()["acme-qbd"]["agent_status"] == 1


def test_an_old_check_id_in_the_url_cannot_replay_an_old_result(sim, live_app, store):
    client = live_app().test_client()
    w = Walker(client, "salesforce", connection="acme-salesforce")
    settle(w)
    old = store.transcript(w.sid)[0].probe_check_id  # a "connected" result
    time.sleep(1.2)  # older than the TTL now
    sim.set("acme-salesforce", "salesforce", "salesforce.daily_api_limit_exceeded")
    fresh = start_session(client, "salesforce", connection="acme-salesforce")
    for check in (old, 2**63, -1, "x"):
        page = client.get(f"{fresh}?check={check}")
        assert page.status_code in (200, 303)
    later = Walker.__new__(Walker)
    later.client, later.sid = client, fresh.split("/")[2]
    later.go(fresh)
    settle(later)
    assert heading(later.html) == "Your org has used up its daily Salesforce API requests"


def test_a_check_that_waited_too_long_in_the_queue_calls_nothing(sim, conns, db_url, tmp_path):
    from datetime import timedelta

    from assistant.store.models import utcnow
    runner = runner_for(db_url, conns, tmp_path)
    connection = conns["acme-salesforce"]
    late = runner.checks.claim("acme-salesforce", "salesforce.api", 60,
                               now=utcnow() - timedelta(seconds=runner.wait_for(connection)))
    runner._queued = 1
    runner._run(late, connection, "salesforce.api")
    done = runner.checks.get(late.id)
    assert done.outcome == "timeout" and "could not start in time" in done.explanation
    assert "acme-salesforce" not in sim.calls()  # nothing was called for it


def test_a_full_queue_answers_timeout_without_claiming(sim, conns, db_url, tmp_path):
    runner = runner_for(db_url, conns, tmp_path)
    runner._queued = runner.workers * 4
    check = runner.result("acme-qbd", "quickbooks_desktop.agent")
    assert check.done and check.outcome == "timeout"
    assert runner.checks.latest("acme-qbd", "quickbooks_desktop.agent") is None  # no claim


def test_a_refused_form_at_a_probe_step_keeps_the_page_checking(sim, live_app):
    sim.set("acme-qbd", "quickbooks_desktop", "hung")
    client = live_app().test_client()
    w = Walker(client, "quickbooks-desktop", connection="acme-qbd")
    other = Walker(client, "salesforce", connection="acme-salesforce")  # a page with a CSRF token
    settle(other)
    token = answer_form(other.html)["fields"]["csrf_token"]
    for revision in ("7", "0"):  # stale, then current (a forged outcome)
        page = client.post(w.url, data={"csrf_token": token, "revision": revision,
                                        "answer": "connected"})
        html = page.get_data(as_text=True)
        assert page.status_code in (400, 409)
        assert 'id="probe-wait"' in html and 'http-equiv="refresh"' in html


def test_a_poll_from_a_page_the_session_left_shows_where_it_is(sim, live_app):
    client = live_app().test_client()
    w = Walker(client, "quickbooks-desktop", connection="acme-qbd")
    settle(w)  # moved on to "Your Autofy Agent is connected right now"
    token = next(f for f in forms(w.html) if "csrf_token" in f["fields"])["fields"]["csrf_token"]
    poll = client.post(f"/s/{w.sid}/0/check", data={"csrf_token": token, "revision": "0",
                                                    "check": "1"},
                       headers={"HX-Request": "true"})
    assert poll.headers["HX-Retarget"] == "#step"
    assert poll.headers["HX-Push-Url"] == f"/s/{w.sid}/1"
    assert heading(poll.get_data(as_text=True)) == "Your Autofy Agent is connected right now"


FLOW_OF = {"salesforce": "salesforce", "quickbooks_online": "quickbooks-online",
           "quickbooks_desktop": "quickbooks-desktop"}


@pytest.mark.parametrize(("system", "cause"), CAUSES)
def test_every_cause_takes_the_wizard_to_its_own_step(sim, live_app, store, system, cause):
    """Simulator → real HTTP → check → diagnosis → the step the flow names for the cause."""
    sim.set(IDS[system], system, cause)
    app = live_app()
    flow = app.extensions["assistant"].flows[FLOW_OF[system]]
    w = Walker(app.test_client(), flow.id, connection=IDS[system])
    settle(w)
    expected = flow.steps["detect"].answer(cause).destination({})
    assert heading(w.html) == flow.steps[expected].title
    [line] = store.transcript(w.sid)
    assert (line.answer, line.to_step) == (cause, expected)
    assert 'class="finding' in w.html
    assert_speaks_to_the_customer(w.html)


# What a customer page must not say outside its "Details for support": staff words, the
# connector's name, raw ISO times, HRESULTs and HTTP statuses.
STAFF_WORDS = re.compile(r"customer's|\bthe app\b|Web Connector|\d{4}-\d\d-\d\dT\d\d:\d\d"
                         r"|0x[0-9A-Fa-f]{8}|HTTP \d{3}|Seen: ", re.I)


def assert_speaks_to_the_customer(html: str) -> None:
    """The finding's words for the customer are free of staff words; codes and evidence sit in
    a "Details for support" disclosure; no link leaves for another company's site."""
    finding = re.search(r'<section class="finding.*?</section>', html, re.S).group(0)
    assert "<summary>Details for support</summary>" in finding
    outside = re.sub(r"<details.*?</details>", "", finding, flags=re.S)
    words = re.sub(r"<[^>]+>", " ", outside)
    assert not STAFF_WORDS.search(words), STAFF_WORDS.search(words).group(0)
    assert "<time " in outside  # "Checked 2 seconds ago", the full time as its tooltip
    # Links to vendors' documentation (the rules' sources) stay in the console; a link the
    # flow's author wrote (Salesforce's status site) is theirs to choose.
    links = set(re.findall(r'href="(https?://[^"]*)"', html))
    sources = {rule.source for sections in load_rules().rules.values()
               for rules in sections.values() for rule in rules}
    assert sources and not links & sources, links & sources
    assert all("intuit.com" not in url and "developer." not in url for url in links), links


def test_a_check_whose_process_died_is_replaced_at_once(sim, conns, db_url, tmp_path):
    from datetime import timedelta
    # A process claims a check and dies before finishing it (a restart mid-check).
    code = ("import sys, socket, os; sys.path.insert(0, {src!r})\n"
            "from assistant.store import ProbeChecks, make_engine\n"
            "ProbeChecks(make_engine({db!r})).claim('acme-qbd', 'quickbooks_desktop.agent', 60,"
            " owner=f'{{socket.gethostname()}}:{{os.getpid()}}')\n")
    subprocess.run([sys.executable, "-c", code.format(src=str(REPO), db=db_url)], check=True)
    runner = runner_for(db_url, conns, tmp_path)
    orphan = runner.checks.latest("acme-qbd", "quickbooks_desktop.agent")
    assert orphan.state == "running"
    # Also for a page that arrived before the orphan started and waits for it by id.
    arrived = orphan.started_at - timedelta(seconds=1)
    first = runner.result("acme-qbd", "quickbooks_desktop.agent", arrived_at=arrived,
                          waiting_for=orphan.id)
    assert first.id != orphan.id
    done = wait_done(runner, "acme-qbd", "quickbooks_desktop.agent")  # not after 40 s
    assert done.id == first.id and done.outcome == "connected"
    assert runner.checks.get(orphan.id).outcome == "timeout"


# --- issue 12: /limits refused, My Domain instance, Salesforce refresh-token rotation ----------

def test_limits_refused_falls_back_to_the_query_header_and_says_so(sim, conns, tokens):
    sim.set("acme-salesforce", "salesforce", "limits_forbidden")
    observations = run_check("salesforce.api", conns["acme-salesforce"], tokens=tokens)
    assert [o.get("status") for o in observations if o.get("endpoint") == "limits"] == [403]
    diagnosis = diagnose("salesforce", observations)
    assert diagnosis.cause == "connected", diagnosis.explanation
    assert diagnosis.evidence["quota_source"] == "sforce_limit_info"
    assert diagnosis.evidence["max"] == 15000 and diagnosis.evidence["remaining"] > 0
    assert "Sforce-Limit-Info" in diagnosis.explanation
    assert "View Setup and Configuration" in diagnosis.explanation
    # with /limits readable the quota comes from it
    sim.set("acme-salesforce", "salesforce", "healthy")
    observations = run_check("salesforce.api", conns["acme-salesforce"], tokens=tokens)
    assert diagnose("salesforce", observations).evidence["quota_source"] == "limits"


def test_trust_instance_of_a_my_domain_host_comes_from_the_query(sim, conns, tokens):
    import dataclasses

    from assistant.probes.checks import salesforce_instance_key
    conn = dataclasses.replace(conns["acme-salesforce"], instance_key=None)
    # the simulator's instance URL (a loopback host) names no instance, like acme.my.salesforce.com
    assert salesforce_instance_key(conn, "https://acme.my.salesforce.com") is None
    assert salesforce_instance_key(conn, "https://na135.salesforce.com") == "NA135"
    observations = run_check("salesforce.api", conn, tokens=tokens)
    trust = [o for o in observations if o.get("endpoint") == "status_page"]
    assert len(trust) == 1 and json.loads(trust[0]["body"])["key"] == "NA123"


def test_salesforce_refresh_token_rotation_is_followed(sim, conns, tokens):
    import httpx
    r = httpx.put(f"{sim.url}/_sim/options/acme-salesforce", json={"rotate_refresh_tokens": True})
    assert r.status_code == 200
    try:
        first = run_check("salesforce.api", conns["acme-salesforce"], tokens=tokens)
        assert diagnose("salesforce", first).outcome == "connected"
        stored = tokens.load("acme-salesforce").refresh_token
        assert stored and stored != SECRETS["SF_REFRESH_TOKEN"]  # the rotated one was kept
        # the seed refresh token is now invalid at the simulator, as at Salesforce
        old = httpx.post(f"{sim.url}/salesforce/acme-salesforce/services/oauth2/token",
                         data={"grant_type": "refresh_token", "client_id": "x",
                               "refresh_token": SECRETS["SF_REFRESH_TOKEN"]})
        assert old.status_code == 400 and old.json()["error"] == "invalid_grant"
        again = run_check("salesforce.api", conns["acme-salesforce"], tokens=tokens)
        assert diagnose("salesforce", again).outcome == "connected"
    finally:
        httpx.put(f"{sim.url}/_sim/options/acme-salesforce", json={"rotate_refresh_tokens": False})


def test_no_get_changes_a_session_a_done_check_waits_for_the_poll(sim, live_app, store):
    client = live_app().test_client()
    url = start_session(client, "quickbooks-desktop", connection="acme-qbd")
    sid = url.split("/")[2]
    deadline = time.monotonic() + 10
    while "Checked: the next step follows." not in (html := client.get(url).get_data(
            as_text=True)):
        assert time.monotonic() < deadline, html[-2000:]
        time.sleep(0.2)
    for _ in range(3):  # reloads, previewers, prefetchers: the session stays where it was
        assert heading(client.get(url).get_data(as_text=True)) == \
            "Checking your Autofy Agent"
    assert store.get_session(sid).revision == 0 and store.transcript(sid) == []
    assert 'http-equiv="refresh"' not in html  # done: no more reloading; Continue instead
    assert "appears by itself" not in html  # nor a lead that says it is still checking
    form = poll_form(html)
    done = client.post(form["action"], data=form["fields"])
    assert done.status_code == 303 and done.headers["Location"] == f"/s/{sid}/1"
    again = client.post(form["action"], data=form["fields"])  # a double click
    assert again.status_code == 303 and again.headers["Location"] == f"/s/{sid}/1"
    assert len(store.transcript(sid)) == 1 and store.get_session(sid).revision == 1


def _calls(sim, connection: str) -> int:
    return sum(sim.calls().get(connection, {}).values())


def test_the_start_post_checks_and_no_get_of_the_step_calls_the_upstream(sim, live_app):
    # A link previewer or prefetcher GETting a session's address must not call the
    # customer's account (a token refresh, API requests): the POST that led there checks.
    client = live_app().test_client()
    url = start_session(client, "quickbooks-online", connection="acme-qbo")  # not followed
    deadline = time.monotonic() + 10
    while _calls(sim, "acme-qbo") < 3:  # token, company info, status page
        assert time.monotonic() < deadline, sim.calls()
        time.sleep(0.1)
    time.sleep(1.2)  # past the TTL (1 s here): a GET could have started another
    called = _calls(sim, "acme-qbo")
    for _ in range(3):
        assert client.get(url).status_code == 200
    assert _calls(sim, "acme-qbo") == called


def test_a_recheck_after_the_ttl_waits_for_a_post_not_for_a_reload(sim, live_app):
    sim.set("acme-salesforce", "salesforce", "salesforce.daily_api_limit_exceeded")
    client = live_app().test_client()
    w = Walker(client, "salesforce", connection="acme-salesforce")
    settle(w)
    assert sim.calls()["acme-salesforce"]["token"] == 1
    form = answer_form(w.html)
    moved = client.post(form["action"], data={**form["fields"], "answer": "check-again"})
    time.sleep(1.2)  # the TTL (1 s here) has passed: only a POST may check again
    for _ in range(3):  # the no-JS page's reloads, a prefetcher
        page = client.get(moved.headers["Location"]).get_data(as_text=True)
    assert sim.calls()["acme-salesforce"]["token"] == 1
    wait = poll_form(page)
    assert wait["state"] == "none" and "Check now" in page and 'http-equiv="refresh"' not in page
    pressed = client.post(wait["action"], data=wait["fields"])  # "Check now"
    assert pressed.status_code == 303
    w.go(pressed.headers["Location"])
    settle(w)
    assert sim.calls()["acme-salesforce"]["token"] == 2
    assert heading(w.html) == "Your org has used up its daily Salesforce API requests"

