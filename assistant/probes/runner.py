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

import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from ..store import CheckRecord, ProbeChecks
from .checks import PROBES, ProbeUnavailable, run_check, secret_forms
from .diagnosis import cause_title, diagnose

log = logging.getLogger(__name__)

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
               arrived_at: datetime | None = None, recheck: bool = False) -> CheckRecord:
        """The check the wizard should show for this connection and probe now: ``done`` (use
        its outcome) or ``running`` (poll again). Never blocks on the network.

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
            return self.checks.record(
                connection_id if connection else None, probe, outcome="unavailable",
                title=NOT_CHECKED,
                explanation=f"There is no connection set up for us to check ({what}), so "
                            "we'll go through the steps by hand.")
        def since_arrival(check: CheckRecord | None) -> bool:
            return (check is not None and arrived_at is not None
                    and check.started_at >= arrived_at)

        if waiting_for is not None:
            waited = self.checks.get(waiting_for)
            # Only this visit's check, or one any page could be shown now (running, or done
            # within the TTL): an old id in the URL cannot replay an old result.
            if (waited is not None and waited.connection_id == connection.id
                    and waited.probe == probe
                    and (since_arrival(waited) or (not recheck and self._usable(waited)))
                    and (waited.done or waited.age_seconds() <= self.max_wait)):
                return waited
        current = self.checks.latest(connection.id, probe)
        if since_arrival(current) and (current.done or current.age_seconds() <= self.max_wait):
            return current
        if not self._usable(current):
            claimed = self.checks.claim(connection.id, probe, self.ttl)
            if claimed is not None:
                self._executor().submit(self._run, claimed.id, connection, probe)
                current = claimed
            else:  # claimed elsewhere a moment ago: read theirs
                current = self.checks.latest(connection.id, probe)
        if current is None:  # pragma: no cover - the claim row vanished under us
            raise RuntimeError("probe claim disappeared")
        if not current.done and current.age_seconds() > self.max_wait:
            return self.checks.record(
                connection.id, probe, outcome="timeout", title=cause_title("timeout"),
                explanation=f"{connection.label} did not answer within "
                            f"{self.max_wait:.0f} seconds.")
        return current

    def _usable(self, check: CheckRecord | None) -> bool:
        """A check to show instead of starting one: running (and not given up on), or done
        less than the TTL ago. (Whether a new one *may* start is the database claim's call.)"""
        if check is None:
            return False
        if not check.done:
            return check.age_seconds() <= self.max_wait
        return check.age_seconds() < self.ttl

    def _run(self, check_id: int, connection, probe: str) -> None:
        started = time.monotonic()
        try:
            observations = run_check(probe, connection, tokens=self.tokens)
            diagnosis = diagnose(connection.system, observations)
            outcome, cause = diagnosis.outcome, diagnosis.cause
            title, explanation = cause_title(outcome), diagnosis.explanation
            evidence = diagnosis.evidence
        except ProbeUnavailable as e:  # e.g. a secret not set: the operator's to fix
            log.warning("probe %s on connection %s cannot run: %s", probe, connection.id,
                        e.reason)
            outcome = cause = "unavailable"
            title, evidence = NOT_CHECKED, {}
            explanation = ("This connection isn't fully set up for live checks yet, so we'll "
                           "go through the steps by hand.")
        except Exception:  # a bug must not leave the check running forever
            log.exception("probe %s on connection %s failed", probe, connection.id)
            outcome = cause = "unavailable"
            title = cause_title(outcome)
            explanation = "The automatic check failed unexpectedly."
            evidence = {}
        latency_ms = round((time.monotonic() - started) * 1000)
        explanation, evidence = _without_secrets(connection, explanation, evidence)
        self.checks.finish(check_id, outcome=outcome, cause=cause, title=title,
                           explanation=explanation, evidence=evidence, latency_ms=latency_ms)


def _without_secrets(connection, explanation: str, evidence: dict) -> tuple[str, dict]:
    """Belt and braces: no secret value of the connection leaves the probe, in any encoded
    form, whatever an upstream echoed back."""
    text = json.dumps(evidence)
    for form in secret_forms(connection.secret_values()):
        text = text.replace(json.dumps(form)[1:-1], "[redacted]")
        explanation = explanation.replace(form, "[redacted]")
    return explanation, json.loads(text)
