"""The wizard's end of a session: the answer to "Did this answer your question?" and the
contact-support page (views of the wizard's blueprint; the logic is
:class:`assistant.conversation.Conversations`')."""

from __future__ import annotations

from flask import current_app, make_response, redirect, render_template, request, url_for

from ..conversation import customer_has_written
from ..conversation import errors as refused
from ..engine import CompiledFlow
from ..store import FlowSession
from . import services
from .handoff import mark_sent, sent_handoffs
from .i18n import localized, translated, translated_errors
from .wizard import (
    _form_text,
    _is_htmx,
    _load,
    _refused,
    _render,
    _revision,
    _show,
    _step_url,
    bp,
    conversations,
    private,
)


def _feedback_values() -> dict:
    return {"reaction": request.form.get("reaction", ""), "comment": _form_text("comment")}


@bp.post("/s/<sid>/feedback")
def feedback(sid: str):
    """Store the answer to "Did this answer your question?" for the session's end step.

    The form names its end step; feedback is taken while the session is ended at that step,
    even if the session was changed in between (another tab walked back to the same end).
    """
    values = _feedback_values()
    try:
        row = conversations().give_feedback(sid, request.form.get("end_step"),
                                            values["reaction"], values["comment"], _revision())
    except refused.ConversationError as e:
        return _refused(sid, e, values=values)
    return _show(row, row.position)


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
                           or not customer_has_written(handoff, sent_handoffs()),
                           values=values or {"contact": "", "message": ""},
                           errors=translated_errors(errors), notice=translated(notice),
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
    per revision (see :meth:`assistant.conversation.Conversations.hand_off`).
    """
    row, compiled = _load(sid)
    if request.method == "GET":
        return _support_page(row, compiled)
    values = _support_values()
    try:
        handoff = conversations().hand_off(sid, _revision(), values["contact"],
                                           values["message"])
    except refused.Stale as e:
        return _support_page(row, compiled, values, status=409, notice=e.message)
    except refused.Invalid as e:
        return _support_page(row, compiled, values, e.errors, status=400)
    mark_sent(handoff.id)
    if _is_htmx():
        return _support_page(row, compiled)
    return redirect(url_for("wizard.support", sid=sid), 303)


def _session_of_request() -> tuple[FlowSession, CompiledFlow] | tuple[None, None]:
    """The session of the current request's address and its flow, or Nones."""
    try:
        return conversations().load(request.view_args["sid"])
    except refused.ConversationError:
        return None, None


def _feedback_csrf_error(message: str):
    """A refused feedback form: the end step again, with what was chosen and written."""
    row, _ = _session_of_request()
    if row is None:
        return None
    return _render(row, row.position, 400, message, values=_feedback_values())


def _support_csrf_error(message: str):
    """A refused contact form: the form again, with what was typed."""
    row, compiled = _session_of_request()
    if row is None:
        return None
    return _support_page(row, compiled, _support_values(), notice=message, status=400)


feedback.on_csrf_error = _feedback_csrf_error
support.on_csrf_error = _support_csrf_error
