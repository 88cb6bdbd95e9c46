"""Watching one flow file while its author edits it (``assistant preview``).

:class:`FlowWatcher` re-reads the flow file and its tests file (``NAME.tests.yaml``) each time it
is polled and, when either's bytes changed, checks the flow again and runs its cases. Polling
the bytes rather than the modification time needs no extra dependency and misses no edit (an
editor that saves twice within a file system's timestamp resolution, or that restores the old
mtime, still counts); the files are a few kB, read in microseconds.

A broken edit never takes the last good version away: :attr:`Preview.flow` stays the last flow
that passed every check, so the guide stays walkable while :attr:`Preview.problems` names what
is wrong (file, line, key).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .load import FlowError, FlowProblem, parse_flow
from .model import Flow
from .testcases import FlowReport, run_cases_on, tests_file_for


@dataclass(frozen=True)
class Preview:
    """What a preview shows after one poll.

    ``fingerprint``: 12 hex digits of the two files' bytes (changes with every edit of either);
    ``flow``: the last version that passed every check (None until one did); ``current``: True
    when that version is the file as it is now; ``problems``: what is wrong with the file now
    (empty when ``current``); ``report``: the cases run on the file as it is now (None when it
    has problems); ``tests_file``: the tests file beside the flow, if any; ``checked_at``: when
    the current bytes were first seen (Unix seconds); ``good_at``: when ``flow`` was.
    """

    file: Path
    fingerprint: str
    flow: Flow | None
    current: bool
    problems: tuple[FlowProblem, ...] = ()
    report: FlowReport | None = None
    tests_file: Path | None = None
    checked_at: float = 0.0
    good_at: float | None = None


class FlowWatcher:
    """Polls one flow file (and its tests file) for edits. Thread-safe: a web server's request
    threads may poll at once; one of them reloads, the others see its result."""

    def __init__(self, file: str | Path):
        self.file = Path(file)
        self._lock = threading.Lock()
        self._state: Preview | None = None

    def _read(self) -> tuple[bytes | None, Path | None, bytes | None, str]:
        """``(flow bytes or None, tests file or None, its bytes or None, why the flow file
        cannot be read)``."""
        try:
            raw = self.file.read_bytes()
            reason = ""
        except OSError as e:
            raw, reason = None, e.strerror or str(e)
        tests = tests_file_for(self.file)
        tests_raw = None
        if tests is not None:
            try:
                tests_raw = tests.read_bytes()
            except OSError:  # removed between the two calls: as if it were not there
                tests = None
        return raw, tests, tests_raw, reason

    def poll(self) -> Preview:
        """The preview of the files as they are now; re-checked only when their bytes changed
        since the last poll."""
        raw, tests, tests_raw, reason = self._read()
        digest = hashlib.sha256()
        for part in (raw, str(tests).encode() if tests else None, tests_raw):
            digest.update(b"-" if part is None else hashlib.sha256(part).digest())
        fingerprint = digest.hexdigest()[:12]
        with self._lock:
            last = self._state
            if last is not None and last.fingerprint == fingerprint:
                return last
            self._state = self._check(raw, tests, tests_raw, reason, fingerprint, last)
            return self._state

    def _check(self, raw: bytes | None, tests: Path | None, tests_raw: bytes | None,
               reason: str, fingerprint: str, last: Preview | None) -> Preview:
        now = time.time()
        try:
            if raw is None:
                raise FlowError([FlowProblem(str(self.file), 1, "", f"cannot read: {reason}")])
            flow = parse_flow(raw, str(self.file))
        except FlowError as e:
            kept = last.flow if last is not None else None
            return Preview(self.file, fingerprint, kept, False, tuple(e.problems), None,
                           tests, now, last.good_at if last is not None else None)
        report = run_cases_on(flow, self.file, tests, tests_raw)
        return Preview(self.file, fingerprint, flow, True, (), report, tests, now, now)
