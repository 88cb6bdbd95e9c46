"""What an admin needs to know about each flow being served: does its file still validate, do
its tests pass and what they cover, is each translation complete, which versions sessions are
pinned to, and its traffic. No Flask here: the console's Flows pages render a
:class:`FlowStatus`.

Validation is the one ``assistant validate`` runs (:func:`validate_flows`: the server's loading
rules, the translation files beside each flow, the routing data); the tests are the ones
``assistant test`` runs (:func:`~assistant.flow.testcases.run_cases_on`), on the version being
served. Both are cached in the process: validation until a file under the flows folders
changes (by size and modification time), test results per flow version and tests-file
content, so a page view re-runs neither.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from .flow import Flow, FlowError, FlowProblem, load_flows
from .flow.load import flow_files
from .flow.testcases import FlowReport, run_cases_on, tests_file_for
from .flow.translate import (
    FlowTranslation,
    load_translations,
    parse_translation,
    translation_files,
    translation_language,
)
from .store.analytics import Analytics
from .store.analytics_figures import Scope
from .store.flow_versions import FlowVersions, VersionInfo

TRAFFIC_DAYS = 30


@dataclass
class Validation:
    """What ``assistant validate`` finds in ``files``: the flows that load, their
    translations that pass, every refused file (:class:`~assistant.flow.FlowError`), and
    whether the routing data was checked (not when no flow loaded or something else was
    refused first): in which existing folders, and for each language how many flows it
    names (``routing_flows``: ``{"en": 3, "es": 3}``)."""

    files: list[Path]
    flows: dict[str, Flow]
    translations: dict[tuple[str, str], FlowTranslation]
    errors: list[FlowError]
    routing_checked: bool = False
    routing_folders: list[Path] = field(default_factory=list)
    routing_flows: dict[str, int] = field(default_factory=dict)

    def problems_of(self, file: str | Path) -> list[FlowProblem]:
        """The problems found in ``file``."""
        file = str(file)
        return [p for e in self.errors for p in e.problems if p.file == file]


def validate_flows(files: list[Path], max_bytes: int) -> Validation:
    """Check flow files as the server loads them (duplicate ids, ``max_bytes``), the
    translation files beside each flow and, when all of that passes, the routing data beside
    the flows (which names them, and the other flows of their folders)."""
    flows, errors = load_flows(files, max_bytes)
    translations, refused = load_translations(flows)
    errors.extend(refused)
    result = Validation(files, flows, translations, errors)
    if flows and not errors:
        from .routing import load_routing, routing_folders, routing_languages
        folders = routing_folders(flows)
        # The routing data names every flow of its folder: checking one file of it (an
        # author's edit) reads the others beside it too, as the server serving the folder
        # would; their own problems are not this check's.
        given = {Path(f.file).resolve() for f in flows.values()}
        others = [p for p in flow_files([f.parent for f in folders])
                  if p.resolve() not in given]  # not parsed twice
        beside, _ = load_flows(others, max_bytes)
        beside.update(flows)
        for language in routing_languages(folders):
            try:
                result.routing_flows[language] = len(load_routing(beside, folders,
                                                                  language).flows)
            except FlowError as e:
                # another language's check reads the base files again: each problem once
                seen = {p for error in errors for p in error.problems}
                if new := [p for p in e.problems if p not in seen]:
                    errors.append(FlowError(new))
        result.routing_checked = not errors
        result.routing_folders = [f for f in folders if f.is_dir()]
    return result


@dataclass(frozen=True)
class TranslationState:
    """One translation file of a served flow, checked against it: ``texts`` translated when
    complete, else the ``problems`` (FILE:LINE: KEY) with those of kind ``missing`` (a text
    not translated) and ``extra`` (a key the flow does not have) counted apart."""

    language: str
    file: str
    texts: int
    problems: tuple[FlowProblem, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.problems

    @property
    def missing(self) -> int:
        return sum(p.kind == "missing" for p in self.problems)

    @property
    def extra(self) -> int:
        return sum(p.kind == "extra" for p in self.problems)


@dataclass(frozen=True)
class Traffic:
    """The sessions of a flow started from ``first_day`` to ``last_day`` (UTC dates, both
    included): started, resolved, and "Did this answer your question?" replies by reaction."""

    first_day: date
    last_day: date
    started: int
    resolved: int
    reactions: dict[str, int]

    @property
    def feedback(self) -> int:
        return sum(self.reactions.values())


@dataclass(frozen=True)
class FlowStatus:
    """One served flow: ``on_disk`` is the version its file validates to now (None: it does
    not validate, ``problems`` says why); ``tests`` the served version's test report;
    ``versions`` the stored versions, newest first, with sessions pinned to each."""

    flow: Flow
    on_disk: str | None
    problems: tuple[FlowProblem, ...]
    tests: FlowReport
    translations: tuple[TranslationState, ...]
    versions: tuple[VersionInfo, ...]
    traffic: Traffic | None = None

    @property
    def valid(self) -> bool:
        return not self.problems and all(t.complete for t in self.translations)

    @property
    def changed_on_disk(self) -> bool:
        """The file now holds another version than the one served (a restart serves it)."""
        return self.on_disk is not None and self.on_disk != self.flow.version

    @property
    def open_on_old(self) -> int:
        """Sessions not ended yet on a version other than the one served."""
        return sum(v.open for v in self.versions if v.version != self.flow.version)


class FlowStatuses:
    """The status of the flows a server serves (``flows``, loaded from ``paths`` with files of
    at most ``max_bytes``), with the caches described in the module docstring. Safe to share
    between threads."""

    def __init__(self, flows: dict[str, Flow], paths: list[str | Path], max_bytes: int,
                 versions: FlowVersions, analytics: Analytics):
        self.flows = flows
        self.paths = [Path(p) for p in paths]
        self.max_bytes = max_bytes
        self.versions = versions
        self.analytics = analytics
        self._lock = threading.Lock()
        self._validation: tuple[tuple, Validation] | None = None
        self._tests: dict[tuple[str, str, str], FlowReport] = {}

    def _fingerprint(self) -> tuple:
        found = []
        for path in self.paths:
            for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
                try:
                    st = f.stat()
                except OSError:
                    continue
                found.append((str(f), st.st_size, st.st_mtime_ns))
        return tuple(found)

    def validation(self) -> Validation:
        """What ``assistant validate`` says of the flows folders now (cached until a file
        under them changes)."""
        key = self._fingerprint()
        with self._lock:
            if self._validation and self._validation[0] == key:
                return self._validation[1]
        result = validate_flows(flow_files(self.paths), self.max_bytes)
        with self._lock:
            self._validation = (key, result)
        return result

    def tests(self, flow: Flow) -> FlowReport:
        """The served version's flow tests (``NAME.tests.yaml`` beside its file), run once per
        flow version and tests-file content."""
        tests_file = tests_file_for(Path(flow.file))
        raw = None
        if tests_file is not None:
            try:
                raw = tests_file.read_bytes()
            except OSError:  # run_cases_on reports it
                pass
        key = (flow.id, flow.version, hashlib.sha256(raw).hexdigest() if raw else "")
        with self._lock:
            if key in self._tests:
                return self._tests[key]
        report = run_cases_on(flow, Path(flow.file), tests_file, raw)
        with self._lock:
            self._tests[key] = report
        return report

    def translations(self, flow: Flow) -> tuple[TranslationState, ...]:
        """Each translation file beside ``flow``'s file, checked against the served flow."""
        out = []
        for path in translation_files(flow):
            language = translation_language(path)
            try:
                t = parse_translation(path.read_bytes(), str(path), flow, language)
                out.append(TranslationState(language, str(path), len(t.texts)))
            except FlowError as e:
                out.append(TranslationState(language, str(path), 0, tuple(e.problems)))
            except OSError as e:
                out.append(TranslationState(language, str(path), 0, (FlowProblem(
                    str(path), 1, "", f"cannot read: {e.strerror}"),)))
        return tuple(out)

    def traffic(self, flow_id: str, now: datetime) -> Traffic:
        """The flow's sessions of the last :data:`TRAFFIC_DAYS` UTC days up to ``now``'s
        (aware)."""
        today = now.astimezone(UTC).date()
        first = today - timedelta(days=TRAFFIC_DAYS - 1)
        scope = Scope(flow_id, None, first, today)
        # Only started and resolved are read: the abandoned threshold changes neither.
        report = self.analytics.report(scope, now=now, abandoned_after=timedelta(minutes=30),
                                       traffic_only=True)
        return Traffic(first, today, report.started, report.resolved,
                       self.analytics.reactions(scope))

    def status(self, flow_id: str, now: datetime | None = None,
               validation: Validation | None = None) -> FlowStatus | None:
        """The status of served flow ``flow_id`` (None: not served); with ``now`` (aware),
        its traffic too."""
        flow = self.flows.get(flow_id)
        if flow is None:
            return None
        validation = validation or self.validation()
        on_disk = validation.flows.get(flow_id)
        problems = validation.problems_of(flow.file)
        if on_disk is None and not problems:
            problems = [FlowProblem(flow.file, 1, "", "the file no longer exists or no "
                                    "longer holds this flow")]
        return FlowStatus(
            flow, on_disk.version if on_disk and on_disk.file == flow.file else None,
            tuple(problems), self.tests(flow), self.translations(flow),
            tuple(self.versions.of(flow_id)),
            self.traffic(flow_id, now) if now else None)

    def others(self, validation: Validation) -> list[FlowProblem]:
        """Problems ``assistant validate`` finds outside the served flows' own files and
        translations: flow files refused (never served), the routing data."""
        own = {f.file for f in self.flows.values()}
        own |= {str(p) for f in self.flows.values() for p in translation_files(f)}
        return [p for e in validation.errors for p in e.problems if p.file not in own]
