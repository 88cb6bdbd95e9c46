"""The customer wizard: start page, one step per URL, answers, feedback, contact support.

URLs (``sid`` is the session's unguessable id, ``n`` a position in its path, 0 = first step):

| method | URL | what |
|---|---|---|
| GET | ``/`` | the flows, as "What are you trying to connect?" (see :mod:`.starting`) |
| GET | ``/flows/<flow_id>`` | the guide's start page; changes nothing (``?launch=TOKEN``) |
| POST | ``/flows/<flow_id>`` | start a session, 303 to its first step (``launch``: the   |
|      |                      | launch token that binds it to a connection)              |
| GET | ``/s/<sid>`` | 303 to the session's current step |
| GET | ``/s/<sid>/<n>`` | the step at position ``n``, as last seen (``n`` ≤ current); at a  |
|     |                  | probe step, "Checking…" until its check is done, then the step   |
|     |                  | it leads to (``?check=<id>``: the check the page is waiting for) |
| POST | ``/s/<sid>/<n>`` | answer it (``answer``, ``revision``); below the current   |
|      |                  | position this changes an earlier answer                  |
| POST | ``/s/<sid>/feedback`` | "Did this answer your question?" (``reaction``,     |
|      |                       | ``comment``, ``revision``)                          |
| GET/POST | ``/s/<sid>/support`` | contact support: records a handoff with the transcript |

Without JavaScript every POST answers 303 and the browser GETs the step's URL. With htmx
(``HX-Request: true``) the same URLs answer the ``#step`` fragment and ``HX-Push-Url``.
A form whose ``revision`` is not the session's current one is stale: 409, nothing applied, the
current step shown with an explanation. A probe step is never answered by a form (400): only its
check decides, through :class:`~assistant.probes.runner.ProbeRunner`; the htmx poller asks
again every second (``HX-Target: probe-wait`` gets just the poller back) and, without
JavaScript, a meta refresh does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, lazy_gettext, ngettext
from flask_babel import gettext as _
from markupsafe import Markup, escape

from ..engine import CompiledFlow, InvalidAnswer, Position
from ..flow import Flow, Step
from ..probes.diagnosis import cause_explanation, cause_title
from ..store import CheckRecord, Feedback, FlowSession, StaleRevision, TranscriptLine
from ..store.repository import as_utc
from . import form_token, services
from .handoff import (
    after_answer,
    after_feedback,
    customer_has_written,
    mark_sent,
    record_handoff,
)
from .i18n import current_language, localized, normalize, use_session_language

bp = Blueprint("wizard", __name__)
form_token.install(bp)  # forms checked without a cookie: the wizard works in a help center's frame

REACTIONS = {"yes": lazy_gettext("Yes, it did"), "partly": lazy_gettext("Partly"),
             "no": lazy_gettext("No, it didn't")}
STALE = lazy_gettext(
    "This page was out of date: the session had already moved on (another tab, a double "
    "click or the browser's Back button). Nothing was applied twice. This is where you "
    "are now.")
CLOSED = lazy_gettext(
    "This guide has ended; start again to go through it once more. Nothing was changed: "
    "your answers, feedback and message to support stay as they were.")
TRANSCRIPT_TAIL = 10  # answers shown under a step; "?answers=all" shows every one
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


EVIDENCE_LABELS = {
    "endpoint": lazy_gettext("Endpoint"), "status": lazy_gettext("HTTP status"),
    "error_code": lazy_gettext("Error code"), "error": lazy_gettext("Error"),
    "error_description": lazy_gettext("Error description"), "hresult": "HRESULT",
    "message": lazy_gettext("Message"), "remaining": lazy_gettext("Requests remaining"),
    "max": lazy_gettext("Daily limit"), "used": lazy_gettext("Requests used"),
    "request_id": lazy_gettext("Request id"), "intuit_tid": "intuit_tid",
    "retry_after": lazy_gettext("Retry after (s)"), "transport": lazy_gettext("Network error"),
}


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
    for key in (check.outcome, check.cause, "unknown"):
        try:
            return cause_explanation(key, check.evidence, _catalogue_language()) if key else ""
        except KeyError:
            continue
    return ""  # pragma: no cover - "unknown" is always in the catalogue


def _catalogue_language() -> str | None:
    """The page's language for the cause catalogue's texts (None: its own English)."""
    language = current_language()
    return None if language == "en" else language


@bp.app_template_filter("customer_title")
def customer_title(check: CheckRecord) -> str:
    """The title of what a check found, in the page's language (the stored title is the
    English one, as staff and the webhook see it)."""
    for key in (check.outcome, check.cause):
        try:
            return cause_title(key, _catalogue_language()) if key else check.title
        except KeyError:
            continue
    return check.title


def _is_htmx() -> bool:
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def _load(sid: str) -> tuple[FlowSession, CompiledFlow]:
    """The session and the version of its flow it is pinned to; 404 if unknown, 410 if no
    version of its flow that has its step can be found (a session older than stored
    versions, whose flow has changed since)."""
    row = services().store.get_session(sid)
    if row is None:
        abort(404)
    use_session_language(row.language)
    compiled = services().compiled_for(row)
    if compiled is None:
        abort(private(make_response(render_template(
            "error.html", fragment=_is_htmx(), title=_("This guide has changed"),
            message=_("The guide you were following has been changed or removed since you "
                      "started. Please start again from the list of guides.")), 410)))
    return row, compiled


def _closed(row: FlowSession) -> bool:
    """True for a finished session: ended, and feedback given or handed to a person (the
    customer wrote to support, or staff handed it on). Its answers can no longer change."""
    if row.status != "ended":
        return False
    store = services().store
    if store.feedback_for(row) is not None:
        return True
    handoff = store.handoff_at(row)
    return handoff is not None and (handoff.reason == "agent" or customer_has_written(handoff))


def _step_url(row: FlowSession, n: int) -> str:
    return url_for("wizard.step", sid=row.id, n=n)


def _position_at(row: FlowSession, n: int) -> tuple[int, Position, str | None]:
    """``(n, position, answer given there)`` for path index ``n`` (≤ current).

    An index whose step is no longer in the flow (the flow changed since) gives the current
    position instead.
    """
    current = (row.position, Position(row.step, dict(row.counters or {})), None)
    if n >= row.position:
        return current
    # The answer given at n, and the one before it (whose counters held at n): one query.
    lines = {line.position: line
             for line in services().store.transcript(row.id, upto=n + 1, last=2)}
    given, before = lines.get(n + 1), lines.get(n)
    compiled = services().compiled_for(row)
    if given is None or compiled is None or given.from_step not in compiled.flow.steps:
        return current
    return n, Position(given.from_step, dict(before.counters) if before else {}), given.answer


def _transcript(compiled: CompiledFlow, path: list[TranscriptLine]) -> list[dict]:
    """The path as plain dicts (for templates and handoffs): step and answer ids and texts."""
    steps = compiled.flow.steps
    out = []
    for line in path:
        step = steps.get(line.from_step)
        answer = step.answer(line.answer) if step else None
        if step is not None and step.is_probe:
            try:
                label = f"Checked automatically: {cause_title(line.answer)}"
            except KeyError:  # an outcome the rules no longer know
                label = f"Checked automatically: {line.answer}"
        else:
            label = answer.label if answer else line.answer
        out.append({"position": line.position, "step": line.from_step,
                    "step_title": step.title if step else line.from_step,
                    "answer": line.answer, "answer_label": label,
                    "probe_check_id": line.probe_check_id,
                    "at": line.at.isoformat() if hasattr(line.at, "isoformat") else str(line.at)})
    return out


def render_step(flow: Flow, step: Step, session: FlowSession, n: int, transcript: list[dict],
                *, chosen: str | None = None, feedback: Feedback | None = None,
                notice: str | None = None, errors: dict | None = None,
                values: dict | None = None, status: int = 200, fragment: bool = False,
                finding: CheckRecord | None = None, checking: CheckRecord | None = None,
                previous: CheckRecord | None = None, closed: bool = False):
    """The response for ``step`` shown at path index ``n`` of ``session``.

    ``transcript`` is the tail of the path before ``n`` (dicts as from :func:`_transcript`, at
    most :data:`TRANSCRIPT_TAIL`); ``chosen`` the answer once given at ``n`` if ``n`` is in
    the past. ``finding`` is the probe check that led to this step (shown as "What we
    found"); ``checking`` the check this probe step waits for (the page polls), ``previous``
    the last result while a re-check waits for the TTL to pass; ``closed`` a finished session
    (no Change links, no answer forms). A full
    page, or with ``fragment`` the ``#step`` fragment for htmx. The benchmark renders its
    baseline through this same function.
    """
    flow = localized(flow)  # the page's language (texts only: ids and branches are the same)
    step = flow.steps.get(step.id, step)
    transcript = _in_language(transcript, flow)
    html = render_template(
        "step.html", fragment=fragment, flow=flow, step=step, session=session, n=n,
        current=n == session.position, chosen=chosen, transcript=transcript,
        earlier=n - len(transcript), progress=(n, n + flow.remaining.get(step.id, 0)),
        back_url=_step_url(session, n - 1) if n > 0 else url_for("wizard.start"),
        notice=notice, errors=errors or {}, values=values or {}, feedback=feedback,
        reactions=REACTIONS, comment_max=current_app.config["COMMENT_MAX_CHARS"],
        finding=previous or finding, checking=checking, previous=previous,
        ttl=current_app.config["PROBE_TTL_SECONDS"], closed=closed,
        connection=services().connections.get(session.connection_id)
        if session.connection_id else None)
    return private(make_response(html, status))


def _in_language(transcript: list[dict], flow: Flow) -> list[dict]:
    """Transcript lines (see :func:`_transcript`) with their step titles and answer labels
    from ``flow`` in the page's language; English lines come back as they are."""
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


def private(response):
    """Mark a session page: it differs for htmx and for logged-in staff, who see the step's
    script (``Vary: HX-Request, Cookie``), is never cached (``no-store``: Back refetches the
    real state, the capability URL's page stays off disk, and no cache can hand the staff
    variant to a customer) and never indexed by a search engine."""
    response.headers["Vary"] = "HX-Request, Cookie"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _render(row: FlowSession, compiled: CompiledFlow, n: int, status: int = 200,
            notice: str | None = None, errors: dict | None = None, values: dict | None = None):
    """The step at path index ``n`` of the session (at most its current position)."""
    store = services().store
    n, position, chosen = _position_at(row, min(n, row.position))
    step = compiled.flow.steps[position.step]
    checking = previous = None
    if step.is_probe and n == row.position:
        # A re-check after a fix wants a check started after the step was reached: until the
        # TTL lets one start, the last result is shown with its age.
        arrived = as_utc(row.updated_at)
        check = services().probes.result(row.connection_id, step.probe,
                                         waiting_for=_check_id(),
                                         arrived_at=arrived, recheck=step.recheck)
        if step.recheck and check.started_at < arrived:
            previous = check if check.done else None
        elif check.done and status == 200:
            return _after_probe(row, compiled, position, check)
        # (A refused form shown at a probe step keeps its 4xx and notice: the poller on it
        # goes on as soon as it asks again.)
        checking = check
        if request.headers.get("HX-Target") == "probe-wait" and _is_htmx():
            # The poller asks again: answer only the poller, so focus and reading stay put.
            return private(make_response(render_template(
                "_probe_wait.html", session=row, n=n, check=checking, previous=previous,
                ttl=current_app.config["PROBE_TTL_SECONDS"])))
    everything = request.args.get("answers") == "all"
    tail = store.transcript(row.id, upto=n, last=None if everything else TRANSCRIPT_TAIL)
    feedback = store.feedback_for(row) if step.is_end and n == row.position else None
    finding = None
    if tail and tail[-1].position == n and tail[-1].probe_check_id is not None:
        finding = services().probes.checks.get(tail[-1].probe_check_id)
    if step.is_probe and n < row.position:  # a past check: show what it found
        nxt = store.transcript(row.id, upto=n + 1, last=1)
        if nxt and nxt[0].probe_check_id is not None:
            finding = services().probes.checks.get(nxt[0].probe_check_id)
    response = render_step(compiled.flow, step, row, n, _transcript(compiled, tail),
                           chosen=chosen, feedback=feedback, notice=notice, errors=errors,
                           values=values, status=status, fragment=_is_htmx(),
                           finding=finding, checking=checking, previous=previous,
                           closed=_closed(row))
    if status != 200 and _is_htmx():
        # A refused POST shows the step where the session is: make the address bar agree.
        response.headers["HX-Replace-Url"] = _step_url(row, n)
    return response


def _after_probe(row: FlowSession, compiled: CompiledFlow, position: Position,
                 check: CheckRecord):
    """The check at the session's probe step has a result: go on by its outcome and show the
    next step (its "What we found" panel explains the result)."""
    move = compiled.probe_outcome(position, check.outcome or "unavailable")
    outcome = compiled.flow.steps[move.to.step].outcome
    try:
        row = services().store.record_answer(row, compiled.flow.version, row.position,
                                             move.from_step, move.answer, move.to.step,
                                             move.to.counters, outcome,
                                             probe_check_id=check.id,
                                             cause=check.cause if check.cause and "." in
                                             check.cause else None)
    except StaleRevision:  # another request applied it first: show where the session is
        row = services().store.get_session(row.id)
    else:
        after_answer(row, compiled)
    if _is_htmx():
        response = _render(row, compiled, row.position)
        response.headers["HX-Push-Url"] = _step_url(row, row.position)
        response.headers["HX-Retarget"] = "#step"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return redirect(_step_url(row, row.position), 303)


def _show(row: FlowSession, compiled: CompiledFlow, n: int):
    """After a successful POST: 303 to the step's URL, or for htmx the fragment and its URL."""
    if _is_htmx():
        response = _render(row, compiled, n)
        # Unless a probe step moved the session on while rendering (it set the URL itself).
        response.headers.setdefault("HX-Push-Url", _step_url(row, n))
        return response
    return redirect(_step_url(row, n), 303)


def _check_id() -> int | None:
    """The ``?check=`` id a polling page waits for, if it is a plausible row id."""
    value = request.args.get("check", type=int)
    return value if value is not None and 0 < value < 2**31 else None


def _revision() -> int | None:
    try:
        return int(request.form.get("revision", ""))
    except ValueError:
        return None


@bp.get("/help/agent-setup-guide")
def agent_setup_guide():
    """The Agent Setup Guide the flows link to: a redirect to ``AGENT_SETUP_GUIDE_URL``, so
    flow text links one address whatever help center a deployment uses."""
    return redirect(current_app.config["AGENT_SETUP_GUIDE_URL"], 302)


@bp.get("/s/<sid>")
def current(sid: str):
    """The session's current step."""
    row, _ = _load(sid)
    return redirect(_step_url(row, row.position), 303)


@bp.get("/s/<sid>/<int:n>")
def step(sid: str, n: int):
    """The step at position ``n`` as last seen; past the current position, the current step."""
    row, compiled = _load(sid)
    if request.headers.get("HX-Target") == "probe-wait" and _is_htmx() and (
            n != row.position or not compiled.flow.steps[row.step].is_probe):
        # A poll from a page the session has left (another tab moved it on): show where it
        # is now, in the whole step area rather than inside the poller.
        response = _render(row, compiled, row.position)
        response.headers.update({"HX-Retarget": "#step", "HX-Reswap": "innerHTML",
                                 "HX-Push-Url": _step_url(row, row.position)})
        return response
    if n > row.position:
        return redirect(_step_url(row, row.position), 303)
    return _render(row, compiled, n)


@bp.post("/s/<sid>/<int:n>")
def answer(sid: str, n: int):
    """Apply the posted answer to the step at position ``n``."""
    row, compiled = _load(sid)
    revision = _revision()
    answer_id = request.form.get("answer", "")
    if revision is None:
        return _render(row, compiled, row.position, 400,
                       _("The form was incomplete, so nothing was changed. Please choose "
                         "again."))
    if _closed(row):
        return _render(row, compiled, row.position, 409, CLOSED)
    if revision != row.revision or n > row.position:
        return _render(row, compiled, row.position, 409, STALE)
    at, position, given = _position_at(row, n)
    if at != n:  # that earlier step is no longer in the flow
        return _render(row, compiled, row.position, 409, STALE)
    if given == answer_id:
        return _show(row, compiled, n + 1)  # the same answer again: nothing to change
    if compiled.flow.steps[position.step].is_probe:
        # Only the check itself decides a probe step: a posted "connected" is not believed.
        return _render(row, compiled, row.position, 400,
                       _("This step is checked automatically, so there is nothing to answer. "
                         "Nothing was changed."))
    try:
        move = compiled.answer(position, answer_id)
    except InvalidAnswer:
        return _render(row, compiled, n, 400,
                       _("That answer isn't one of the choices for this step, so nothing was "
                         "changed.") + ("" if compiled.flow.steps[position.step].is_end
                                        else " " + _("Please choose one of the answers "
                                                     "below.")))
    outcome = compiled.flow.steps[move.to.step].outcome
    try:
        row = services().store.record_answer(row, compiled.flow.version, n, move.from_step,
                                             answer_id, move.to.step, move.to.counters, outcome)
    except StaleRevision:
        row = services().store.get_session(sid)
        return _render(row, compiled, row.position, 409, STALE)
    after_answer(row, compiled)
    return _show(row, compiled, row.position)


def _form_text(name: str) -> str:
    """A text field as typed: trimmed, with the browser's CRLF line breaks counted as one."""
    return request.form.get(name, "").replace("\r\n", "\n").strip()


def _feedback_values() -> dict:
    return {"reaction": request.form.get("reaction", ""), "comment": _form_text("comment")}


@bp.post("/s/<sid>/feedback")
def feedback(sid: str):
    """Store the answer to "Did this answer your question?" for the session's end step.

    The form names its end step; feedback is taken while the session is ended at that step,
    even if the session was changed in between (another tab walked back to the same end).
    """
    row, compiled = _load(sid)
    values = _feedback_values()
    if _revision() is None:
        return _render(row, compiled, row.position, 400,
                       _("The form was incomplete, so nothing was saved. Please send it "
                         "again."), values=values)
    if row.status != "ended" or request.form.get("end_step") != row.step:
        return _render(row, compiled, row.position, 409,
                       _("Your feedback was not saved: the guide had moved on in another "
                         "tab or window. This is where you are now."), values=values)
    errors = {}
    if values["reaction"] not in REACTIONS:
        errors["reaction"] = _("Choose Yes, Partly or No.")
    limit = current_app.config["COMMENT_MAX_CHARS"]
    if len(values["comment"]) > limit:
        errors["comment"] = _("Your comment has %(count)s characters; the limit is "
                              "%(limit)s. Please shorten it.",
                              count=format_decimal(len(values["comment"])),
                              limit=format_decimal(limit))
    if errors:
        return _render(row, compiled, row.position, 400, errors=errors, values=values)
    changed = services().store.save_feedback(row, compiled.flow.version, values["reaction"],
                                             values["comment"] or None)
    after_feedback(row, compiled, values["reaction"], changed=changed)
    return _show(row, compiled, row.position)


def _with_checks(lines: list[dict]) -> list[dict]:
    """Transcript lines for a handoff: a live check's line also carries what it found (outcome,
    diagnosis, evidence, latency, time, connection) — never a secret (none is stored)."""
    for line in lines:
        check = (services().probes.checks.get(line["probe_check_id"])
                 if line.get("probe_check_id") else None)
        if check is not None:
            line["check"] = {
                "connection_id": check.connection_id, "probe": check.probe,
                "outcome": check.outcome, "cause": check.cause, "title": check.title,
                "explanation": check.explanation, "evidence": check.evidence,
                "latency_ms": check.latency_ms,
                "at": (check.finished_at or check.started_at).isoformat()}
    return lines


def _support_values() -> dict:
    return {"contact": _form_text("contact"), "message": _form_text("message")}


def _support_page(row: FlowSession, compiled: CompiledFlow, values: dict | None = None,
                  errors: dict | None = None, notice: str | None = None, status: int = 200):
    """The contact-support page: the form, or the handoff made at the session's revision. A
    handoff made automatically (an unresolved end, negative feedback) is shown with the form
    until the customer has sent it, so they can still add an address and a message."""
    handoff = services().store.handoff_at(row)
    html = render_template("support.html", fragment=_is_htmx(), flow=localized(compiled.flow),
                           session=row, handoff=handoff,
                           offer_form=handoff is None or status != 200
                           or not customer_has_written(handoff),
                           values=values or {"contact": "", "message": ""},
                           errors=errors or {}, notice=notice,
                           message_max=current_app.config["HANDOFF_MESSAGE_MAX_CHARS"],
                           back_url=_step_url(row, row.position))
    return private(make_response(html, status))


@bp.get("/s/<sid>/feedback")
def feedback_page(sid: str):
    """The feedback form lives on the end step's page (this address shows after a refused
    feedback without JavaScript)."""
    row, _ = _load(sid)
    return redirect(_step_url(row, row.position), 303)


@bp.route("/s/<sid>/support", methods=["GET", "POST"])
def support(sid: str):
    """Contact support: a form, then a handoff carrying the session's transcript.

    The form carries the session revision it was shown at: if the answers changed since
    (another tab), nothing is sent and the page says so, keeping what was typed. One handoff
    per revision: a handoff made already at this revision (automatically, by a double submit,
    or by a second tab with more to say) gets the address and message added, up to three times
    ``HANDOFF_MESSAGE_MAX_CHARS`` of messages in all (past that: 400, the text kept).
    """
    row, compiled = _load(sid)
    store = services().store
    if request.method == "GET":
        return _support_page(row, compiled)
    values = _support_values()
    if _revision() != row.revision:
        return _support_page(row, compiled, values, status=409, notice=_(
            "Nothing was sent yet: your answers changed in another tab or window since this "
            "page was shown. Check what you wrote below and send it again."))
    errors: dict[str, str] = {}
    limit = current_app.config["HANDOFF_MESSAGE_MAX_CHARS"]
    if values["contact"] and (len(values["contact"]) > 254
                              or not EMAIL.match(values["contact"])):
        errors["contact"] = _("Enter an email address like name@example.com, or leave it "
                              "empty.")
    if len(values["message"]) > limit:
        errors["message"] = _("Your message has %(count)s characters; the limit is "
                              "%(limit)s. Please shorten it.",
                              count=format_decimal(len(values["message"])),
                              limit=format_decimal(limit))
    # Messages sent at one point are added to its handoff (another tab, the agent's comment),
    # each addition announced with the whole text: keep the sum bounded.
    existing = store.handoff_at(row)
    held = (existing.message or "") if existing is not None else ""
    if "message" not in errors and values["message"] and values["message"] not in held \
            and len(held) + len(values["message"]) > 3 * limit:
        errors["message"] = _("Support has %(count)s characters from this point already; "
                              "at most %(limit)s are kept, so this was not added. Please "
                              "shorten it, or quote your reference when you talk to us.",
                              count=format_decimal(len(held)),
                              limit=format_decimal(3 * limit))
    if errors:
        return _support_page(row, compiled, values, errors, status=400)
    feedback = store.feedback_for(row)
    reason = ("unresolved_end" if row.outcome in ("unresolved", "escalated")
              else "negative_feedback" if feedback and feedback.reaction != "yes"
              else "customer_request")
    handoff, _new = record_handoff(row, compiled, reason, contact=values["contact"] or None,
                                message=values["message"] or None)
    mark_sent(handoff.id)
    if _is_htmx():
        return _support_page(row, compiled)
    return redirect(url_for("wizard.support", sid=sid), 303)


@bp.post("/s/<sid>/language")
def language(sid: str):
    """The language switcher: read this session in ``lang`` from now on (stored on the
    session: a help center's frame has no cookie), and see the step it is at."""
    row = services().store.get_session(sid)
    if row is None:
        abort(404)
    chosen = normalize(request.form.get("lang"))
    if chosen is None:
        abort(400)
    services().store.set_language(row.id, chosen)
    return redirect(_step_url(row, row.position), 303)


def render_csrf_error(error):
    """A missing or forged CSRF token: 400, nothing changed, and the page shown again with
    what was typed into it."""
    message = _("Your form could not be checked (it may have expired or come from another "
                "site), so nothing was changed. Please try again.")
    # A view may show its own page for this (``view.on_csrf_error(message)``, None: the
    # general one); the session pages below are the wizard's only.
    on_csrf_error = getattr(current_app.view_functions.get(request.endpoint), "on_csrf_error",
                            None)
    if on_csrf_error is not None and (response := on_csrf_error(message)) is not None:
        return response
    sid = (request.view_args or {}).get("sid") if request.blueprint == "wizard" else None
    row = services().store.get_session(sid) if sid else None
    compiled = services().compiled_for(row) if row is not None else None
    if compiled is not None:
        if request.endpoint == "wizard.support":
            return _support_page(row, compiled, _support_values(), notice=message, status=400)
        values = _feedback_values() if request.endpoint == "wizard.feedback" else None
        return _render(row, compiled, row.position, 400, message, values=values)
    return render_template("error.html", fragment=_is_htmx(), title=_("Form expired"),
                           message=message), 400
