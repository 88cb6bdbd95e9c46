"""Measurement (d) of bench.py: the analytics page on a database of 1,000,000 events.

Run alone: ``.venv/bin/python bench/analytics_bench.py [--events N] [--runs K] [--keep PATH]``
or through ``bench/bench.py --only d``. It always exits 0; a figure over its target is printed
with ``MISSED``.

Seeding
-------
A SQLite file (migrated by the app's own migrations, so it has exactly the app's indexes) gets
sessions of the three shipped flows (``flows/*.yaml``; 45 % QuickBooks Desktop, 30 % QuickBooks
Online, 25 % Salesforce) until their answers (``events`` rows) reach ``--events``
(1,000,000). Each session starts at a random moment of the last 90 days (more on weekdays and
in working hours) and walks its flow's real graph: at a probe step a random check outcome
(connected, one of the step's causes, or unknown/timeout/unavailable, which take the
step's ``otherwise``), elsewhere a random answer (the first offered more often), counters and
conditional branches as the engine applies them. Along the way a session may go back one or two
answers and answer differently (the replaced answers are kept, ``superseded``, as the store
keeps them), may stop (abandoned; more often at the long manual steps), or, if it started in
the last minutes, still be under way. Time spent per answer is log-normal (seconds at a probe
step, tens of seconds at a question, about a minute at an instruction). Sessions that end
leave feedback about half of the time (reactions skewed by the outcome, some with comments),
unresolved and escalated ends and negative feedback make handoffs with a transcript snapshot,
and sessions older than 60 days carry an older flow version. Rows go in with SQLAlchemy Core
``executemany`` in batches of 20,000 inside one transaction (about a minute for 1,000,000
events on this 2-core machine).

Timing
------
The real app (``create_app`` on that file, the shipped flows), through Flask's test client
logged in as an admin (the request goes through the whole app: login guard, query, template;
no network). ``--runs`` (5) timed runs after one untimed warm-up, per view:

- default view: ``GET /console/analytics`` (the first flow, all versions, the last 30 days);
- heaviest view: the flow with the most events, all versions, all time (both dates empty),
  and the same for the flow's current version only;
- its two charts (``funnel.svg``, ``dropoff.svg``) and both CSV exports (``sessions.csv`` and
  ``steps.csv``), bodies read to the end.

Printed per view: median and worst wall time, and median ÷ the 0.5 s target.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import math
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from assistant.flow import load_flows  # noqa: E402
from assistant.flow.model import OTHERWISE, Flow  # noqa: E402
from assistant.store import upgrade  # noqa: E402
from assistant.store.models import Event, Feedback, FlowSession, Handoff  # noqa: E402
from assistant.store.share_codes import CODE_ALPHABET  # noqa: E402

TARGET_S = 0.5  # the analytics page, at most
EVENTS = 1_000_000
DAYS = 90
OLD_VERSION_DAYS = 60  # sessions started longer ago carry an older flow version
FLOW_SHARES = {"quickbooks-desktop": 0.45, "quickbooks-online": 0.30, "salesforce": 0.25}
BATCH = 20_000
ADMIN = ("bench-admin@example.com", "bench admin password, not a secret")
NON_CAUSE_OUTCOMES = ("unknown", "timeout", "unavailable")
HARD_STEPS = {"step-7-agent-key", "step-5-remove-user-token", "connect", "agent-setup-guide"}
COMMENTS = [
    "The reconnect worked after the second try.",
    "I could not find the Channels page.",
    "Too many steps, I gave up and called.",
    "Thanks, that fixed it!",
    "The agent key was not where the guide said.",
    "=HYPERLINK(\"http://example.invalid\",\"click\")",  # a customer pasting a formula
    "Still says disconnected.",
    "Worked, but the check took a while.",
]


@dataclass
class Seeded:
    """What was seeded, for the report."""

    sessions: int = 0
    events: int = 0
    superseded: int = 0
    feedback: int = 0
    handoffs: int = 0
    per_flow_events: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class _Rows:
    """Rows waiting to be inserted, flushed in batches into one open connection."""

    def __init__(self, conn):
        self.conn = conn
        self.tables = {FlowSession.__table__: [], Event.__table__: [], Feedback.__table__: [],
                       Handoff.__table__: []}

    def add(self, table, row: dict) -> None:
        rows = self.tables[table]
        rows.append(row)
        if len(rows) >= BATCH:
            self.flush(table)

    def flush(self, table=None) -> None:
        # sessions first: events, feedback and handoffs refer to them
        for t in ([table] if table is not None else list(self.tables)):
            if t is not FlowSession.__table__ and self.tables[FlowSession.__table__]:
                self.flush(FlowSession.__table__)
            rows = self.tables[t]
            if rows:
                self.conn.execute(insert(t), rows)
                rows.clear()


def _start_time(rng: random.Random, now: datetime) -> datetime:
    """A session start in the last DAYS days: fewer at weekends and at night (UTC)."""
    while True:
        moment = now - timedelta(seconds=rng.random() * DAYS * 86_400)
        weight = (0.35 if moment.weekday() >= 5 else 1.0) * (1.0 if 7 <= moment.hour < 20
                                                              else 0.3)
        if rng.random() < weight:
            return moment


def _spent_ms(rng: random.Random, kind: str) -> int:
    median_s = {"probe": 2.5, "question": 20.0, "instruction": 60.0}.get(kind, 30.0)
    return max(200, int(rng.lognormvariate(math.log(median_s * 1000), 0.8)))


def _session_id(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode()[:22]


def _code(number: int) -> str:
    chars = []
    for _ in range(5):
        number, digit = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[digit])
    return f"{chars[0]}{chars[1]}-{''.join(chars[2:])}"


def _choose_answer(rng: random.Random, flow: Flow, step_id: str) -> tuple[str, str | None]:
    """(answer id as stored, cause it diagnosed) at a step."""
    step = flow.steps[step_id]
    if step.is_probe:
        listed = [a.id for a in step.answers if a.id != OTHERWISE]
        roll = rng.random()
        if roll < 0.2 and "connected" in listed:
            return "connected", None
        if roll < 0.8:
            outcome = rng.choice([a for a in listed if a != "connected"] or listed)
            return outcome, outcome if "." in outcome else None
        return rng.choice(NON_CAUSE_OUTCOMES), None
    answers = [a.id for a in step.answers]
    weights = [3.0] + [1.0] * (len(answers) - 1)
    return rng.choices(answers, weights)[0], None


def _destination(flow: Flow, step_id: str, answer_id: str, counters: dict) -> tuple[str, dict]:
    step = flow.steps[step_id]
    answer = step.answer(answer_id) or step.answer(OTHERWISE)
    to = answer.destination(counters)
    if answer.count:
        counters = {**counters, answer.count: counters.get(answer.count, 0) + 1}
    return to, counters


def _walk(rng: random.Random, flow: Flow, version: str, started: datetime, now: datetime,
          rows: _Rows, seeded: Seeded, code: str, admin_id: int, budget: int) -> int:
    """Seed one session of ``flow`` with at most ``budget`` events; returns the events it
    made."""
    sid = _session_id(rng)
    path: list[dict] = []  # the current path's events (dicts also queued for insert)
    step, counters, clock, revision, cause = flow.start, {}, started, 0, None
    made: list[dict] = []  # every event, superseded ones too: inserted once the walk is done
    abandoned = False
    feedback_rows, handoff_rows = [], []
    while not flow.steps[step].is_end:
        kind = flow.steps[step].kind
        stop = 0.08 if step in HARD_STEPS else 0.025
        if rng.random() < stop or len(made) >= budget:
            abandoned = True
            break
        if path and rng.random() < 0.06:  # back one or two answers, then answer again
            back = min(len(path), rng.choice((1, 1, 2)))
            for ev in path[-back:]:
                ev["superseded"] = True
                seeded.superseded += 1
            del path[-back:]
            step = flow.steps[path[-1]["to_step"]].id if path else flow.start
            counters = dict(path[-1]["counters"]) if path else {}
            continue
        spent = _spent_ms(rng, kind)
        if clock + timedelta(milliseconds=spent) > now:
            break  # still on this step now: an active session
        clock += timedelta(milliseconds=spent)
        answer, found = _choose_answer(rng, flow, step)
        cause = found or cause
        to, counters = _destination(flow, step, answer, counters)
        revision += 1
        ev = {"session_id": sid, "position": len(path) + 1, "from_step": step,
              "answer": answer, "to_step": to, "counters": counters, "superseded": False,
              "at": clock, "probe_check_id": None, "spent_ms": spent, "flow_id": flow.id,
              "session_started_at": started, "session_version": version}
        path.append(ev)
        made.append(ev)
        step = to
        if rng.random() < 0.004 and not flow.steps[step].is_end:
            handoff_rows.append(("customer_request", step, revision, clock))
    end = flow.steps[step]
    ended = end.is_end and not abandoned
    outcome = end.outcome if ended else None
    if ended:
        reaction = None
        if rng.random() < 0.5:
            weights = {"resolved": (75, 15, 10), "unresolved": (10, 30, 60),
                       "escalated": (15, 35, 50)}[outcome]
            reaction = rng.choices(("yes", "partly", "no"), weights)[0]
            comment = rng.choice(COMMENTS) if rng.random() < 0.25 else None
            feedback_rows.append((reaction, comment))
        if outcome != "resolved" and rng.random() < 0.5:
            handoff_rows.append(("unresolved_end", step, revision, clock))
        elif reaction == "no" and rng.random() < 0.5:
            handoff_rows.append(("negative_feedback", step, revision, clock))
    rows.add(FlowSession.__table__, {
        "id": sid, "flow_id": flow.id, "flow_version": version, "step": step, "code": code,
        "cause": cause, "guided_by": admin_id if rng.random() < 0.03 else None,
        "counters": counters, "position": len(path), "revision": revision,
        "status": "ended" if ended else "active", "outcome": outcome, "connection_id": None,
        "created_at": started, "updated_at": path[-1]["at"] if path else started,
        "ended_at": clock if ended else None})
    for ev in made:
        rows.add(Event.__table__, ev)
    for reaction, comment in feedback_rows:
        rows.add(Feedback.__table__, {
            "session_id": sid, "revision": revision, "flow_id": flow.id,
            "flow_version": version, "created_at": clock + timedelta(seconds=20),
            "session_started_at": started, "session_version": version, "end_step": step,
            "reaction": reaction,
            "comment": comment})
        seeded.feedback += 1
    seen_revisions = set()
    for reason, at_step, at_revision, at in handoff_rows:
        if at_revision in seen_revisions:
            continue
        seen_revisions.add(at_revision)
        rows.add(Handoff.__table__, {
            "session_id": sid, "revision": at_revision, "flow_id": flow.id,
            "flow_version": version, "created_at": at, "session_started_at": started,
            "session_version": version,
            "step": at_step, "reason": reason,
            "contact": "customer@example.com", "message": None, "status": "open",
            "transcript": [{"step": e["from_step"], "answer": e["answer"]} for e in path[:20]],
            "created_by": None, "taken_by": None, "taken_at": None, "closed_at": None})
        seeded.handoffs += 1
    return len(made)


def seed(url: str, flows: dict[str, Flow], events: int = EVENTS, *, now: datetime,
         random_seed: int = 4) -> Seeded:
    """Seed a migrated database at ``url`` with sessions of ``flows`` until ``events`` answers
    exist (see the module docstring); adds the admin :data:`ADMIN` (password hashed as the
    app does). Returns what was seeded."""
    from assistant.store.staff import StaffAccounts

    rng = random.Random(random_seed)
    began = time.perf_counter()
    engine = create_engine(url)
    admin = StaffAccounts(engine).add(*ADMIN, "admin")
    seeded = Seeded(per_flow_events=dict.fromkeys(flows, 0))
    ids = [fid for fid in FLOW_SHARES if fid in flows]
    shares = [FLOW_SHARES[fid] for fid in ids]
    codes = iter(rng.sample(range(len(CODE_ALPHABET) ** 5), 1_000_000))
    old_version = {fid: hashlib.sha256(f"older {fid}".encode()).hexdigest()[:12] for fid in ids}
    with engine.begin() as conn:
        rows = _Rows(conn)
        while seeded.events < events:
            flow = flows[rng.choices(ids, shares)[0]]
            started = _start_time(rng, now)
            if rng.random() < 0.002:  # a few started just now: still under way
                started = now - timedelta(seconds=rng.random() * 600)
            version = (old_version[flow.id] if started < now - timedelta(days=OLD_VERSION_DAYS)
                       else flow.version)
            made = _walk(rng, flow, version, started, now, rows, seeded, _code(next(codes)),
                         admin.id, events - seeded.events)
            seeded.events += made
            seeded.per_flow_events[flow.id] += made
            seeded.sessions += 1
        rows.flush()
    engine.dispose()
    seeded.seconds = time.perf_counter() - began
    return seeded


# --- timing -----------------------------------------------------------------------------------

@dataclass
class Timing:
    """Wall times of one view, in seconds."""

    label: str
    url: str
    seconds: list[float] = field(default_factory=list)
    status: int = 0
    size: int = 0

    def line(self, target: float | None) -> str:
        median, worst = statistics.median(self.seconds), max(self.seconds)
        text = (f"  {self.label:<44} median {median * 1000:7.1f} ms, worst "
                f"{worst * 1000:7.1f} ms  ({self.size:,} bytes)")
        if target is not None:
            verdict = "" if median <= target else "  MISSED"
            text += f"  ratio to {target:g} s: {median / target:.2f}{verdict}"
        if self.status != 200:
            text += f"  (INVALID: HTTP {self.status})"
        return text


def _login(client) -> None:
    import re
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/console/login", data={"csrf_token": token, "email": ADMIN[0],
                                                     "password": ADMIN[1]})
    if response.status_code != 303:
        raise RuntimeError(f"bench admin login failed: {response.status_code}")


def time_views(url: str, flows_path: Path, views: list[tuple[str, str]], runs: int,
               tmp: Path) -> list[Timing]:
    """Time each (label, URL) through the app's test client, logged in as the bench admin:
    one untimed warm-up, then ``runs`` timed runs (whole body read)."""
    from assistant.web import create_app
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "FLOWS_PATH": [str(flows_path)],
                      "TOKENS_DIR": str(tmp / "tokens")})
    client = app.test_client()
    _login(client)
    timings = [Timing(label, view_url) for label, view_url in views]
    for timing in timings:
        client.get(timing.url).get_data()  # warm-up: templates compiled, pages cached
    for _ in range(runs):
        for timing in timings:
            began = time.perf_counter()
            response = client.get(timing.url)
            body = response.get_data()
            timing.seconds.append(time.perf_counter() - began)
            timing.status, timing.size = response.status_code, len(body)
    return timings


def run(events: int = EVENTS, runs: int = 5, keep: Path | None = None) -> list[str]:
    """Seed, time, and return the report's lines (see the module docstring)."""
    flows_path = REPO / "flows"
    flows, errors = load_flows([str(flows_path)])
    if errors:
        raise RuntimeError(f"the shipped flows do not load: {errors[0]}")
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="assistant-analytics-bench-") as folder:
        tmp = Path(folder)
        db = keep or tmp / "analytics.db"
        url = f"sqlite:///{db}"
        fresh = not db.exists()
        if fresh:
            upgrade(url)
            seeded = seed(url, flows, events, now=now)
        else:
            upgrade(url)  # a kept file from an earlier run: bring it to the newest schema
            seeded = None
        size_mb = db.stat().st_size / 1e6
        first_flow = next(iter(flows))
        biggest = (max(seeded.per_flow_events, key=seeded.per_flow_events.get) if seeded
                   else max(FLOW_SHARES, key=FLOW_SHARES.get))
        heavy = f"?flow={biggest}&version=&from=&to="  # empty dates: no bound
        one_version = f"?flow={biggest}&version={flows[biggest].version}&from=&to="
        views = [
            ("default view (first flow, last 30 days)", "/console/analytics"),
            (f"heaviest view ({biggest}, all time)", f"/console/analytics{heavy}"),
            ("  the same, its current version only", f"/console/analytics{one_version}"),
            ("  its funnel chart", f"/console/analytics/funnel.svg{heavy}"),
            ("  its drop-off chart", f"/console/analytics/dropoff.svg{heavy}"),
            ("  its sessions CSV", f"/console/analytics/sessions.csv{heavy}"),
            ("  its steps CSV", f"/console/analytics/steps.csv{heavy}"),
        ]
        timings = time_views(url, flows_path, views, runs, tmp)
    lines = []
    if seeded is not None:
        per_flow = ", ".join(f"{fid} {n:,}" for fid, n in seeded.per_flow_events.items())
        lines.append(
            f"(d) seeded {seeded.events:,} events ({seeded.superseded:,} superseded) in "
            f"{seeded.sessions:,} sessions over {DAYS} days, {seeded.feedback:,} feedback, "
            f"{seeded.handoffs:,} handoffs in {seeded.seconds:.0f} s; SQLite file "
            f"{size_mb:.0f} MB; events per flow: {per_flow}; first flow {first_flow}")
    else:
        lines.append(f"(d) kept database {db} ({size_mb:.0f} MB)")
    lines.append(f"    {runs} timed runs per view after a warm-up, Flask test client logged in "
                 f"as an admin (no network):")
    for i, timing in enumerate(timings):
        lines.append(timing.line(TARGET_S if i < 3 else None))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=EVENTS,
                        help=f"events to seed (default {EVENTS:,})")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per view (default 5)")
    parser.add_argument("--keep", type=Path,
                        help="SQLite file to seed (if missing) and keep, to time it again later")
    args = parser.parse_args(argv)
    if args.events < 1 or args.runs < 1:
        parser.error("--events and --runs must be ≥ 1")
    for line in run(args.events, args.runs, args.keep):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
