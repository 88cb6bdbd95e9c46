"""How the customer's pages say things: evidence labels and values, durations and moments
("2 minutes ago"), what a check found in the customer's words and language, and transcript
lines in the page's language, a share code spelled out. Registered as the app's template
filters (``evidence_label``, ``evidence_value``, ``ago``, ``with_times``,
``customer_explanation``, ``customer_title``, ``spelled_out``);
the wizard, the chat, the console and the JSON API use these, never their own.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from markupsafe import Markup, escape

from ..flow import Flow
from ..probes.diagnosis import cause_explanation, cause_title
from ..probes.ruleset import NOT_CHECKED_CAUSE
from ..store import CheckRecord
from ..store.repository import as_utc
from .i18n import current_language

bp = Blueprint("presenting", __name__)  # no routes: it carries the app's template filters


EVIDENCE_LABELS = {
    "endpoint": lazy_gettext("Endpoint"), "status": lazy_gettext("HTTP status"),
    "error_code": lazy_gettext("Error code"), "error": lazy_gettext("Error"),
    "error_description": lazy_gettext("Error description"), "hresult": "HRESULT",
    "message": lazy_gettext("Message"), "remaining": lazy_gettext("Requests remaining"),
    "max": lazy_gettext("Daily limit"), "used": lazy_gettext("Requests used"),
    "request_id": lazy_gettext("Request id"), "intuit_tid": "intuit_tid",
    "retry_after": lazy_gettext("Retry after (s)"), "transport": lazy_gettext("Network error"),
}


@bp.app_template_filter("spelled_out")
def spelled_out(code: str, dash: str) -> str:
    """A share code as a screen reader should say it, character by character, ``-`` read as
    ``dash`` (the page's word for it): ``"AT-QNJ"`` → ``"A T dash Q N J"``. (A Jinja loop
    over the characters cost ~20 us on every session page.)"""
    return " ".join(dash if c == "-" else c for c in code)


@bp.app_template_filter("evidence_label")
def evidence_label(key: str) -> str:
    """A readable label for an evidence key (``error_code`` → "Error code")."""
    return EVIDENCE_LABELS.get(key, key.replace("_", " ").capitalize())


@bp.app_template_filter("evidence_value")
def evidence_value(value) -> str:
    """An evidence value as text: numbers with thousands separators, lists joined."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "none"}[value]
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return ", ".join(evidence_value(v) for v in value)
    if isinstance(value, dict):
        if "seen" in value:  # another observation's finding ("also seen")
            return f"{value['title']}: {value['seen']}" if value.get("title") else str(
                value["seen"])
        return "; ".join(f"{k}: {evidence_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple) and value and all(isinstance(v, dict) for v in value):
        return " · ".join(evidence_value(v) for v in value)
    return str(value)


@bp.app_template_filter("noun_for")
def noun_for(n: int, noun: str, plural: str | None = None) -> str:
    """``noun`` as ``n`` of them are called in the console's English ("session",
    "sessions"); ``plural`` when it is not ``noun`` + "s"."""
    return noun if n == 1 else plural or noun + "s"


@bp.app_template_filter("counted")
def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and its noun: "1 session", "1,204 sessions"."""
    return f"{n:,} {noun_for(n, noun, plural)}"


@bp.app_template_filter("ago")
def ago(value, now: datetime | None = None):
    """How long ago, in words. Seconds (a number) give the duration: "1 second", "42
    seconds", "3 minutes", "2 hours". A moment (an aware datetime, or ISO 8601 text such as
    ``2026-12-04T13:36:12Z``) gives ``<time>`` markup reading "2 minutes ago" ("in 2 minutes"
    for a future one) with the full UTC time as its tooltip; text that is no moment is
    returned escaped as it is."""
    if not isinstance(value, datetime | str):
        s = max(0, round(value))
        if s >= 3600:
            return ngettext("%(num)d hour", "%(num)d hours", s // 3600)
        if s >= 60:
            return ngettext("%(num)d minute", "%(num)d minutes", s // 60)
        return ngettext("%(num)d second", "%(num)d seconds", s)
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return escape(value)
    moment = as_utc(moment)
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    words = (_("%(duration)s ago", duration=ago(seconds)) if seconds > -1
             else _("in %(duration)s", duration=ago(-seconds)))
    full = moment.strftime("%A %-d %B %Y, %H:%M:%S UTC")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"), full, words)


# An ISO 8601 moment with a time and a zone, as vendors and agents send them.
_MOMENT = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                     r"(?:Z|[+-]\d{2}:?\d{2})")


@bp.app_template_filter("with_times")
def with_times(text) -> Markup:
    """Plain text for a customer page, escaped, each ISO 8601 moment in it shown by
    :func:`ago` ("2 minutes ago", the full time as tooltip)."""
    text = "" if text is None else str(text)
    out, last = [], 0
    for m in _MOMENT.finditer(text):
        out += [escape(text[last:m.start()]), ago(m.group(0))]
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


@bp.app_template_filter("customer_explanation")
def customer_explanation(check: CheckRecord) -> str:
    """What a check found, in plain words for the customer: the explanation of its outcome
    from the cause catalogue, without the codes and raw signals (those are the "Details for
    support")."""
    for key in (_shown_outcome(check), check.cause, "unknown"):
        try:
            return cause_explanation(key, check.evidence, _catalogue_language()) if key else ""
        except KeyError:
            continue
    return ""  # pragma: no cover - "unknown" is always in the catalogue


def _shown_outcome(check: CheckRecord) -> str | None:
    """The catalogue entry a customer reads for ``check``: its outcome, except that a check
    that called nothing (no connection to check; rows from before its own cause: no
    connection at all) is "not checked", not "could not be reached"."""
    if check.outcome == "unavailable" and (check.cause == NOT_CHECKED_CAUSE
                                           or check.connection_id is None):
        return NOT_CHECKED_CAUSE
    return check.outcome


def _catalogue_language() -> str | None:
    """The page's language for the cause catalogue's texts (None: its own English)."""
    language = current_language()
    return None if language == "en" else language


@bp.app_template_filter("customer_title")
def customer_title(check: CheckRecord) -> str:
    """The title of what a check found, in the page's language (the stored title is the
    English one, as staff and the webhook see it)."""
    for key in (_shown_outcome(check), check.cause):
        try:
            return cause_title(key, _catalogue_language()) if key else check.title
        except KeyError:
            continue
    return check.title



def in_language(transcript: list[dict], flow: Flow) -> list[dict]:
    """Transcript lines (see :func:`assistant.conversation.labelled`) with their step titles
    and answer labels from ``flow`` in the page's language; English lines come back as they
    are."""
    if current_language() == "en":
        return transcript
    out = []
    for line in transcript:
        step = flow.steps.get(line["step"])
        if step is None:
            out.append(line)
            continue
        answer = step.answer(line["answer"])
        if step.is_probe:
            try:
                title = cause_title(line["answer"], _catalogue_language())
            except KeyError:
                title = line["answer"]
            label = _("Checked automatically: %(title)s", title=title)
        else:
            label = answer.label if answer else line["answer_label"]
        out.append({**line, "step_title": step.title, "answer_label": label})
    return out
