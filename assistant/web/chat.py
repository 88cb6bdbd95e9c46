"""The chat presentation of a session: the same URLs, forms and application layer as the
wizard, shown as a conversation when the address carries ``view=chat``.

``/s/<sid>/<n>?view=chat`` shows the session up to the step at ``n`` as messages: the bot's
(each step's text, what a live check found, "Checking…" as a typing indicator while one runs)
and the customer's (the answers, or the words they typed), then the step's answers as quick
replies and a box for free text. Every wizard URL built while answering such a request keeps
``view=chat`` (:func:`keep_chat`, as ``embed=1`` is kept), so answers, Back, Change, polls,
restarts and redirects stay in the chat; the rules (revisions, changing an earlier answer,
a probe step decided by its check alone) are the application layer's, as in the wizard.
Without JavaScript every form still POSTs and redirects (303) to the chat's URL.
"""

from __future__ import annotations

from flask import has_request_context, request

VIEW = "chat"


def is_chat() -> bool:
    """True when the current wizard request asks for the chat presentation."""
    # Every URL a page builds asks this (keep_chat): a request without a query string, the
    # usual one, is answered before looking a key up (a missing one costs Werkzeug an
    # exception, ~2 us).
    return (has_request_context() and bool(request.args) and request.blueprint == "wizard"
            and request.args.get("view") == VIEW)


def keep_chat(endpoint: str, values: dict) -> None:
    """URL defaults: keep ``view=chat`` in every wizard URL built for a chat request."""
    if endpoint.startswith("wizard.") and is_chat():
        values.setdefault("view", VIEW)


def checks_of(transcript: list[dict], checks) -> dict:
    """The live checks the transcript's lines name (check id → record), for the chat's
    "what we found" messages; ``checks`` is the probe checks store."""
    found = {}
    for line in transcript:
        check_id = line.get("probe_check_id")
        if check_id and (check := checks.get(check_id)) is not None:
            found[check_id] = check
    return found
