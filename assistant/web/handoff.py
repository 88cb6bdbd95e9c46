"""The web side of handoffs: the console address a webhook body names, and the customer's
cookie that remembers which handoffs they sent the contact form for. Making handoffs is the
application layer's (:mod:`assistant.conversation.handoffs`)."""

from __future__ import annotations

from flask import current_app, url_for
from flask import session as cookie

from ..store.handoffs import HandoffQueue
from . import services

SENT_KEY = "handoffs_sent"  # in the customer's cookie: handoffs they sent the form for
SENT_KEPT = 20


def queue() -> HandoffQueue:
    """The handoff queue of the current app's database."""
    return services().conversations.handoffs.queue


def console_link(handoff_id: int) -> str:
    """The handoff's console page for a webhook body: ``PUBLIC_URL`` + its path, or the path
    alone without ``PUBLIC_URL``. Never built from the request's Host header, which whoever
    makes the request (any customer) chooses."""
    path = url_for("console.handoff", handoff_id=handoff_id)
    base = current_app.config.get("PUBLIC_URL")
    return base.rstrip("/") + path if base else path


def mark_sent(handoff_id: int) -> None:
    """Remember in the customer's cookie that they sent the contact form for this handoff."""
    sent = [h for h in cookie.get(SENT_KEY, []) if h != handoff_id][-(SENT_KEPT - 1):]
    cookie[SENT_KEY] = [*sent, handoff_id]


def sent_handoffs() -> list[int]:
    """The handoffs this visitor sent the contact form for (from their cookie)."""
    return list(cookie.get(SENT_KEY, []))
