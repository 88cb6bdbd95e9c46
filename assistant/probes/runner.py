"""Running probes for the wizard: off the request thread, at most once per TTL, stored.

A request at a probe step calls :meth:`ProbeRunner.result`, which never waits for the network:

1. the last check of this connection and probe (by any worker or process, see
   :class:`~assistant.store.ProbeChecks`) is *the* result while it runs (the page polls) and
   for the TTL after it finished (shown with its age);
2. otherwise this process claims a new check — the database refuses the claim if one started
   less than the TTL ago, whoever started it — and hands it to its bounded thread pool, which
   calls the upstream (:func:`~assistant.probes.checks.run_check`, with connect/read timeouts),
   diagnoses what it saw (:func:`~assistant.probes.diagnosis.diagnose`) and stores the result.

A hung upstream ties up one pool thread until its read timeout, never a request thread.
Nothing here raises for upstream trouble: it becomes the outcome ``timeout`` or
``unavailable``, and the flow's manual path takes over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from ..store import CheckRecord, ProbeChecks
from ..store.health import is_unavailable
from ..store.models import utcnow
from .checks import PROBES, run_check
from .diagnosis import cause_title, diagnose
from .recording import ProbeUnavailable, check_budget, secret_forms
from .redact import Secrets, redact
from .ruleset import NOT_CHECKED_CAUSE

log = logging.getLogger(__name__)

QUEUE_PER_WORKER = 4
"""Checks that may wait per pool thread; beyond that, a page gets ``timeout`` at once."""

NOT_CHECKED = "Not checked automatically"
"""The title of an ``unavailable`` result when nothing could be called at all."""

#: How long a running check may take before the wizard stops waiting (seconds). A check makes
#: at most four calls with connect + read timeouts of 3 s + 5 s by default.
DEFAULT_WAIT = 40.0


class ProbeRunner:
    """Starts and reads probe checks for the wizard. Safe to share between threads.

    ``connections`` is the loaded connections config, ``tokens`` the token store, ``ttl`` the
    seconds during which a check's result is reused instead of calling the upstream again,
    ``workers`` the size of this process's pool, ``max_wait`` seconds after which a check that
    has not finished counts as ``timeout``.
    """

    def __init__(self, checks: ProbeChecks, connections, tokens, *, ttl: float = 60.0,
                 workers: int = 4, max_wait: float = DEFAULT_WAIT):
        self.checks = checks
        self.connections = connections
        self.tokens = tokens
        self.ttl = ttl
        self.workers = workers
        self.max_wait = max_wait
        self._queued = 0  # checks submitted to this process's pool and not started yet
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid: int | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        # One pool per process: a pool inherited through fork (gunicorn) has no threads.
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="probe")
                self._pool_pid = os.getpid()
            return self._pool

    def shutdown(self) -> None:
        """Stop accepting checks (running ones finish in their threads)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def result(self, connection_id: str | None, probe: str, *, waiting_for: int | None = None,
               arrived_at: datetime | None = None, recheck: bool = False,
               start: bool = True) -> CheckRecord | None:
        """The check the wizard should show for this connection and probe now: ``done`` (use
        its outcome) or ``running`` (poll again). Never blocks on the network.

        ``start=False`` (a GET: it may neither call the upstream nor write a row) only reads:
        the check that would be shown, or None where one would have to start now; for a
        missing connection an unsaved ``unavailable`` record (``id`` None).

        ``arrived_at`` is when the session reached the probe step: a check started since then
        is this visit's check, and its result is the answer however old it is by the time the
        page asks again (a page polling less often than the TTL still gets it). ``recheck``
        (a check again after a fix) accepts only such a check as the page's own.
        ``waiting_for`` is the id of a check the page is already waiting for (from its poll
        URL), ignored unless it is a check of this connection and probe (and, with
        ``recheck``, started since ``arrived_at``).

        A missing or unknown connection, or one of another system than the probe's, gives a
        ``done`` check with outcome ``unavailable`` at once.
        """
        spec = PROBES.get(probe)
        connection = self.connections.get(connection_id) if connection_id else None
        if spec is None or connection is None or connection.system != spec.system:
            what = spec.title if spec else probe
            unavailable = {
                "outcome": "unavailable", "cause": NOT_CHECKED_CAUSE, "title": NOT_CHECKED,
                "explanation": f"There is no connection set up for us to check ({what}), so "
                               "we'll go through the steps by hand."}
            if not start:
                now = utcnow()
                return CheckRecord(None, connection_id if connection else None, probe, "done",
                                   now, now, 0, evidence={}, **unavailable)
            return self.checks.record(connection_id if connection else None, probe,
                                      **unavailable)
        def since_arrival(check: CheckRecord | None) -> bool:
            return (check is not None and arrived_at is not None
                    and check.started_at >= arrived_at)

        wait = self.wait_for(connection)
        if waiting_for is not None:
            waited = self.checks.get(waiting_for)
            # Only this visit's check, or one any page could be shown now (running, or done
            # within the TTL): an old id in the URL cannot replay an old result.
            if (waited is not None and waited.connection_id == connection.id
                    and waited.probe == probe
                    and (since_arrival(waited) or (not recheck and self._usable(waited, wait)))
                    and (waited.done or (waited.age_seconds() <= wait
                                         and not _owner_is_dead(waited)))):
                return waited
        current = self.checks.latest(connection.id, probe)
        if since_arrival(current) and (current.done or (current.age_seconds() <= wait
                                                        and not _owner_is_dead(current))):
            return current
        if not self._usable(current, wait):
            if not start:
                return None
            if self._queued >= self.workers * QUEUE_PER_WORKER:
                # Every thread busy and a queue behind them: do not claim a check that would
                # only start after the page gave up on it.
                return self.checks.record(
                    connection.id, probe, outcome="timeout", title=cause_title("timeout"),
                    explanation="Too many checks are running right now to check "
                                f"{connection.label}.")
            dead = current.id if current is not None and _owner_is_dead(current) else None
            claimed = self.checks.claim(connection.id, probe, self.ttl, owner=_owner(),
                                        supersede=dead)
            if claimed is not None:
                with self._lock:
                    self._queued += 1
                future = self._executor().submit(self._run, claimed, connection, probe)
                future.add_done_callback(_log_failure)
                current = claimed
            else:  # claimed elsewhere a moment ago: read theirs
                current = self.checks.latest(connection.id, probe)
        if current is None:  # pragma: no cover - the claim row vanished under us
            raise RuntimeError("probe claim disappeared")
        if not current.done and current.age_seconds() > wait:
            return self.checks.record(
                connection.id, probe, outcome="timeout", title=cause_title("timeout"),
                explanation=f"{connection.label} did not answer within {wait:.0f} seconds.")
        return current

    def wait_for(self, connection) -> float:
        """Seconds a page waits for a check of ``connection`` before calling it a timeout:
        ``max_wait``, or the check's own time budget plus a margin if that is longer."""
        return max(self.max_wait, check_budget(connection) + 5)

    def _usable(self, check: CheckRecord | None, wait: float) -> bool:
        """A check to show instead of starting one: running (and not ``wait`` seconds old,
        and its process alive as far as we can tell), or done less than the TTL ago.
        (Whether a new one *may* start is the database claim's call.)"""
        if check is None:
            return False
        if not check.done:
            return check.age_seconds() <= wait and not _owner_is_dead(check)
        return check.age_seconds() < self.ttl

    def _run(self, claimed: CheckRecord, connection, probe: str) -> None:
        check_id = claimed.id
        with self._lock:
            self._queued -= 1
        started = time.monotonic()
        if claimed.age_seconds() > self.wait_for(connection) - check_budget(connection):
            # It waited in the queue until pages could no longer wait for it: calling the
            # upstream now would only spend a call nobody sees (and could double one).
            self._finish(check_id, connection, outcome="timeout", cause="timeout",
                         title=cause_title("timeout"), evidence={}, latency_ms=0,
                         explanation="The check could not start in time: too many checks "
                                     "were running.")
            return
        try:
            observations = run_check(probe, connection, tokens=self.tokens)
            diagnosis = diagnose(connection.system, observations)
            outcome, cause = diagnosis.outcome, diagnosis.cause
            title, explanation = cause_title(outcome), diagnosis.explanation
            evidence = diagnosis.evidence
        except ProbeUnavailable as e:  # e.g. a secret not set: the operator's to fix
            log.warning("probe %s on connection %s cannot run: %s", probe, connection.id,
                        e.reason)
            outcome, cause = "unavailable", NOT_CHECKED_CAUSE
            title, evidence = NOT_CHECKED, {}
            explanation = ("This connection isn't fully set up for live checks yet, so we'll "
                           "go through the steps by hand.")
        except Exception:  # a bug must not leave the check running forever
            log.exception("probe %s on connection %s failed", probe, connection.id)
            outcome = cause = "unavailable"
            title = cause_title(outcome)
            explanation = "The automatic check failed unexpectedly."
            evidence = {}
        self._finish(check_id, connection, outcome=outcome, cause=cause, title=title,
                     explanation=explanation, evidence=evidence,
                     latency_ms=round((time.monotonic() - started) * 1000))

    def _finish(self, check_id: int, connection, **result) -> None:
        """Store a result, without secrets; retried once (a locked database), then logged."""
        values = connection.secret_values()
        secrets = Secrets(values, secret_forms(values))
        for key in ("title", "explanation", "evidence"):
            result[key] = redact(result[key], secrets)
        for attempt in (1, 2):
            try:
                self.checks.finish(check_id, **result)
                return
            except Exception:
                if attempt == 2:
                    raise
                time.sleep(0.5)


def _owner() -> str:
    """This process, as a check's ``owner``: ``host:pid`` (read each time: workers fork)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_is_dead(check: CheckRecord) -> bool:
    """True if ``check`` is running in a process of this host that no longer exists (a
    restart or crash mid-check). Another host's processes cannot be seen: False."""
    host, _, pid = (check.owner or "").rpartition(":")
    if check.done or host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def _log_failure(future) -> None:
    """A check that failed outside its own error handling (e.g. the result could not be
    stored) is logged, not lost in a Future nobody reads."""
    error = future.exception()
    if error is not None and not is_unavailable(error):  # an outage is logged once elsewhere
        log.error("probe check failed", exc_info=error)
