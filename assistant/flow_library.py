"""The flows a session may be walking: the versions being served now, and every earlier
version a session is pinned to, compiled from its stored text on first use.

A session keeps the version it started on to its end (answers, feedback, Contact support);
new sessions get the version being served. No Flask here: the web layer asks
:meth:`FlowLibrary.for_session`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from .engine import CompiledFlow
from .flow import FlowError, parse_flow
from .store.flow_versions import FlowVersions

log = logging.getLogger(__name__)

CACHE_SIZE = 64
"""Earlier versions kept compiled per process (each holds a ``transitions.Machine``)."""


class FlowLibrary:
    """``compiled``: the flows being served, by id; ``versions``: the stored versions.
    Safe to share between threads.

    ``prefer_served``: a session walks the version being served whenever it has the
    session's step (the author's preview, where each save should show at once) instead of its
    pinned one."""

    prefer_served = False

    def __init__(self, compiled: dict[str, CompiledFlow], versions: FlowVersions,
                 cache_size: int = CACHE_SIZE):
        self.compiled = compiled
        self.versions = versions
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], CompiledFlow | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, flow_id: str, version: str | None = None) -> CompiledFlow | None:
        """That version of the flow (``None``: the one being served), or None if it is
        neither served nor stored (or its stored text no longer loads)."""
        current = self.compiled.get(flow_id)
        if current is not None and (version is None or current.flow.version == version):
            return current
        if version is None:
            return None
        key = (flow_id, version)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        found = self._load(flow_id, version)
        with self._lock:
            self._cache[key] = found
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return found

    def _load(self, flow_id: str, version: str) -> CompiledFlow | None:
        text = self.versions.content(flow_id, version)
        if text is None:
            return None
        try:
            flow = parse_flow(text.encode(), f"{flow_id} version {version} (stored)")
        except FlowError as e:  # e.g. it names a cause the diagnosis rules no longer have
            log.warning("stored flow %s version %s no longer loads:\n%s", flow_id, version, e)
            return None
        if flow.id != flow_id or flow.version != version:  # pragma: no cover - a damaged row
            log.warning("stored flow %s version %s holds another flow", flow_id, version)
            return None
        return CompiledFlow(flow)

    def for_session(self, flow_id: str, version: str, step: str) -> CompiledFlow | None:
        """The flow a session at ``step`` walks: the version it is pinned to; for a session
        whose version was never stored (started before versions were kept), the version
        being served if it still has the session's step. None: nothing can show it."""
        current = self.compiled.get(flow_id)
        if self.prefer_served and current is not None and step in current.flow.steps:
            return current
        pinned = self.get(flow_id, version)
        if pinned is not None and step in pinned.flow.steps:
            return pinned
        current = self.compiled.get(flow_id)
        if current is not None and step in current.flow.steps:
            return current
        return None
