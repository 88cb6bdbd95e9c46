"""A small, fixed set of sessions for the analytics tests, written through the store's own
write path (``Store.create_session``, ``record_answer``, ``save_feedback``,
``create_handoff``) at chosen moments (time-machine moves the clock), so every copied column
and every time spent is what the app itself would store.

The figures these sessions should give are worked out by hand in ``test_analytics.py``; this
module only writes them. All on the shipped ``salesforce`` flow unless said otherwise; ``NOW``
is when the tests look at them.

Sessions (start UTC, version; answers with the time spent before each; then):

- A 2026-03-02 10:00:00, current: detect -timeout-> disconnect (4 s), -disconnected-> connect
  (60 s), -connected-> verify (30 s), -connected-> connected-resolved (5 s). Resolved;
  feedback yes "Thanks, fixed it".
- B 2026-03-03 11:00:00, current: detect -daily limit-> daily-limit (2 s), -check-again->
  verify (40 s), -daily limit-> daily-limit (3 s), -wait-> limit-wait (20 s). Unresolved;
  feedback no "=SUM(A1:A2) still broken"; a handoff.
- C 2026-03-05 09:00:00, current: detect -unknown-> disconnect (6 s), -disconnected-> connect
  (100 s); back one step: disconnect answered again (30 s; the 100 s answer is superseded);
  -connected-> verify (45 s), -session expired-> still-failing (4 s). Unresolved; feedback
  partly, comment tab + "=1+2".
- D 2026-03-20 08:00:00, current: detect -invalid client id-> our-side (3 s). Escalated; a
  handoff.
- E 2026-03-25 14:00:00, current: detect -timeout-> disconnect (5 s); nothing more (abandoned).
- F 2026-03-31 11:50:00, current: detect -timeout-> disconnect (10 s); still active at NOW.
- G 2026-03-31 11:00:00, current: no answer (abandoned at the start).
- H 2026-02-28 23:59:59, older version: detect -connected-> already-working (2 s), -works->
  connected-resolved (15 s). Resolved; feedback yes "@cmd hello".
- K 2026-03-01 00:00:00, current: detect -daily limit-> daily-limit (2 s), -reset-anyway->
  disconnect (30 s), asks for a person there (a handoff); nothing more (abandoned).
- Q 2026-03-15 10:00:00, quickbooks-online: detect -connected-> already-working (2 s),
  -works-> connected-resolved (9 s). Resolved; feedback yes (another flow).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
FLOW = "salesforce"
OLD_VERSION = "a1b2c3d4e5f6"
OUTCOMES = {"connected-resolved": "resolved", "limit-wait": "unresolved",
            "still-failing": "unresolved", "our-side": "escalated"}
DAILY = "salesforce.daily_api_limit_exceeded"
CAUSES = {DAILY, "salesforce.session_expired", "salesforce.invalid_client_id"}


def _walk(store, flow_id: str, version: str, start: datetime, moves: list[tuple],
          feedback: tuple[str, str | None] | None = None, handoff: str | None = None,
          handoff_after: int | None = None):
    """One session: ``moves`` are ``(seconds spent, at position or None for the next one,
    from step, answer, to step)``; a cause is the answer itself when it is a cause id."""
    with time_machine.travel(start, tick=False) as clock:
        row = store.create_session(flow_id, version, "detect")
        for i, (seconds, at, from_step, answer, to_step) in enumerate(moves):
            clock.shift(timedelta(seconds=seconds))
            row = store.get_session(row.id)
            path = store.transcript(row.id)
            counters = path[at - 1].counters if at else (path[-1].counters if path else {})
            row = store.record_answer(
                row, version, row.position if at is None else at, from_step, answer, to_step,
                dict(counters), OUTCOMES.get(to_step),
                cause=answer if answer in CAUSES else None)
            if handoff_after == i:
                store.create_handoff(row, version, handoff, [], "k@example.com", "Call me")
        if feedback:
            clock.shift(timedelta(seconds=10))
            store.save_feedback(row, version, *feedback)
        if handoff and handoff_after is None:
            clock.shift(timedelta(seconds=20))
            store.create_handoff(row, version, handoff, [], None, None)
    return store.get_session(row.id)


def seed(store, current_versions: dict[str, str]) -> dict[str, object]:
    """Write the sessions of the table above; returns them by letter (as stored at the end).
    ``current_versions``: flow id → the loaded flow's version."""
    v = current_versions[FLOW]
    at = datetime
    s = {}
    s["A"] = _walk(store, FLOW, v, at(2026, 3, 2, 10, 0, tzinfo=UTC), [
        (4, None, "detect", "timeout", "disconnect"),
        (60, None, "disconnect", "disconnected", "connect"),
        (30, None, "connect", "connected", "verify"),
        (5, None, "verify", "connected", "connected-resolved")],
        feedback=("yes", "Thanks, fixed it"))
    s["B"] = _walk(store, FLOW, v, at(2026, 3, 3, 11, 0, tzinfo=UTC), [
        (2, None, "detect", DAILY, "daily-limit"),
        (40, None, "daily-limit", "check-again", "verify"),
        (3, None, "verify", DAILY, "daily-limit"),
        (20, None, "daily-limit", "wait", "limit-wait")],
        feedback=("no", "=SUM(A1:A2) still broken"), handoff="unresolved_end")
    s["C"] = _walk(store, FLOW, v, at(2026, 3, 5, 9, 0, tzinfo=UTC), [
        (6, None, "detect", "unknown", "disconnect"),
        (100, None, "disconnect", "disconnected", "connect"),
        (30, 1, "disconnect", "disconnected", "connect"),  # back one step: answered again
        (45, None, "connect", "connected", "verify"),
        (4, None, "verify", "salesforce.session_expired", "still-failing")],
        feedback=("partly", "\t=1+2"))
    s["D"] = _walk(store, FLOW, v, at(2026, 3, 20, 8, 0, tzinfo=UTC), [
        (3, None, "detect", "salesforce.invalid_client_id", "our-side")],
        handoff="unresolved_end")
    s["E"] = _walk(store, FLOW, v, at(2026, 3, 25, 14, 0, tzinfo=UTC), [
        (5, None, "detect", "timeout", "disconnect")])
    s["F"] = _walk(store, FLOW, v, at(2026, 3, 31, 11, 50, tzinfo=UTC), [
        (10, None, "detect", "timeout", "disconnect")])
    s["G"] = _walk(store, FLOW, v, at(2026, 3, 31, 11, 0, tzinfo=UTC), [])
    s["H"] = _walk(store, FLOW, OLD_VERSION, at(2026, 2, 28, 23, 59, 59, tzinfo=UTC), [
        (2, None, "detect", "connected", "already-working"),
        (15, None, "already-working", "works", "connected-resolved")],
        feedback=("yes", "@cmd hello"))
    s["K"] = _walk(store, FLOW, v, at(2026, 3, 1, 0, 0, tzinfo=UTC), [
        (2, None, "detect", DAILY, "daily-limit"),
        (30, None, "daily-limit", "reset-anyway", "disconnect")],
        handoff="customer_request", handoff_after=1)
    s["Q"] = _walk(store, "quickbooks-online", current_versions["quickbooks-online"],
                   at(2026, 3, 15, 10, 0, tzinfo=UTC), [
        (2, None, "detect", "connected", "already-working"),
        (9, None, "already-working", "works", "connected-resolved")],
        feedback=("yes", "Other flow's comment"))
    return s
