"""The page an answer's POST rendered, kept for the GET its 303 leads to.

Without JavaScript an answer is a POST, a 303 and a GET of the next step. The POST has just
read everything that step shows (:meth:`assistant.conversation.Conversations.answer`), so it
renders the page and keeps it here; the GET reads the session (one primary-key read) and,
if nothing changed, sends the kept page instead of reading and rendering it again.

A kept page is taken once, within :data:`KEEP_SECONDS`, by a GET of the same address for the
session at the same revision in the same language, and only by a customer (staff see the
step's script). Steps whose page changes without a new revision are never kept: a probe
step (its check runs) and an end (feedback, handoffs). Each process keeps its own pages
(at most :data:`KEEP_PAGES`): a GET that another worker serves renders the step as usual.
"""

from __future__ import annotations

import threading

from cachetools import TTLCache
from flask import current_app, request

from ..conversation import StepView
from ..store import FlowSession
from .i18n import current_language

KEEP_SECONDS = 10
"""How long a kept page waits for its GET (a browser follows a 303 at once)."""
KEEP_PAGES = 256
"""Pages a process keeps at most (the oldest go first)."""


class _Kept:
    def __init__(self):
        self.pages: TTLCache = TTLCache(maxsize=KEEP_PAGES, ttl=KEEP_SECONDS)
        self.lock = threading.Lock()  # TTLCache is not thread-safe (threaded servers)


def _kept() -> _Kept:
    return current_app.extensions.setdefault("rendered_steps", _Kept())


def keeps(view: StepView) -> bool:
    """Whether the page of ``view`` may be kept: not a probe step, not an end."""
    return not (view.step.is_probe or view.step.is_end)


def keep(url: str, row: FlowSession, page: bytes) -> None:
    """Keep ``page`` (the HTML of a step of ``row``, answered 200) for a GET of ``url``."""
    kept = _kept()
    with kept.lock:
        kept.pages[(url, row.id, row.revision, current_language())] = page


def take(row: FlowSession) -> bytes | None:
    """The page kept for the current GET's address and ``row`` at its revision in the
    current language, removed (each is served once); else None."""
    kept = _kept()
    url = request.script_root + request.full_path.rstrip("?")
    with kept.lock:
        return kept.pages.pop((url, row.id, row.revision, current_language()), None)
