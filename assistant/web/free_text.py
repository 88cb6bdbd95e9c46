"""Free text: "Describe what's wrong, or paste the error message you see" on the list of
guides, and "Or type your answer" at a step. The routing and matching are the application
layer's (:meth:`~assistant.conversation.Conversations.start_from_text`,
:meth:`~assistant.conversation.Conversations.say`); these views parse, call and render.

| method | URL | what |
|---|---|---|
| POST | ``/describe`` | route ``text`` (``launch``: a launch token; ``flow``: the guide chosen |
|      |               | after a clarifying question): a confident route starts a session    |
|      |               | at the routed step, 303 to it; otherwise the question with its     |
|      |               | choices, or "no guide fits" with the list of guides and a person   |
| POST | ``/s/<sid>/<n>/say`` | ``text`` typed at the step at ``n`` (``revision``): the answer |
|      |                      | it clearly means is applied (303 as an answer); otherwise the  |
|      |                      | step again, asking which answer was meant                      |

The text box's forms share the list of guides' form token scope (``form_scope``), so the list
works in a help center's frame without cookies, as every customer form does.
"""

from __future__ import annotations

from flask import current_app, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..conversation import TEXT_MAX
from ..conversation import errors as refused
from . import services
from .embed import link_reaction
from .handoff import sent_handoffs
from .i18n import current_language, localized, translated, use_session_language
from .starting import _verified, start
from .wizard import (
    _everything,
    _form_text,
    _is_htmx,
    _refused,
    _render,
    _revision,
    _show,
    bp,
    private,
)


def _guides_page(text: str, route=None, *, token: str | None = None, notice: str | None = None,
                 status: int = 200):
    """What the text led to when it started no session: the clarifying question with its
    choices, or that no guide fits, with the list of guides and a way to a person."""
    flows = {flow_id: localized(flow) for flow_id, flow in services().flows.items()}
    html = render_template(
        "describe.html", fragment=_is_htmx(), text=text, route=route, notice=notice,
        choices=[flows[a.flow] for a in route.alternatives if a.flow in flows]
        if route is not None and route.question else [],
        flows=sorted(flows.values(), key=lambda f: f.title), token=token,
        support_url=current_app.config["SUPPORT_URL"], text_max=TEXT_MAX)
    return private(make_response(html, status))


@bp.post("/describe")
def describe():
    """Route the customer's words to a guide (see the module docstring)."""
    text = _form_text("text")
    token = request.form.get("launch") or None
    launch, refusal = _verified(token, None)
    if refusal is not None:
        return _guides_page(text, notice=refusal.message, status=refusal.status)
    if not text and not request.form.get("flow"):
        return _guides_page(text, token=token, status=400,
                            notice=_("Describe what's wrong, or paste the error message "
                                     "you see, then press Find a guide."))
    try:
        route, started = services().conversations.start_from_text(
            text, launch=launch, chosen=request.form.get("flow") or None,
            language=current_language())
    except refused.LaunchRefused as e:
        return _guides_page(text, notice=translated(e.message), status=e.status)
    except refused.FlowNotFound:
        return _guides_page(text, token=token, status=400,
                            notice=_("That guide isn't available. Choose one below."))
    if started is None:
        return _guides_page(text, route, token=token)
    if started.resumed:  # the launch token's session already exists: go back to it
        return redirect(url_for("wizard.current", sid=started.session.id), 303)
    link_reaction(started.session)
    return redirect(url_for("wizard.step", sid=started.session.id, n=0), 303)


describe.form_scope = start.form_scope = "guides"


@bp.post("/s/<sid>/<int:n>/say")
def say(sid: str, n: int):
    """Free text typed at the step at position ``n`` (form: ``text``, ``revision``)."""
    text = _form_text("text")
    try:
        # without htmx the browser follows a 303 and asks for the next step: not read here
        said = services().conversations.say(sid, n, text, _revision(), sent=sent_handoffs(),
                                           everything=_everything(), read_next=_is_htmx())
    except refused.Invalid as e:
        return _refused(sid, e, n, values={"text": text})
    except refused.ConversationError as e:
        return _refused(sid, e)
    if said.applied:
        return _show(said.session, said.show, said.view)
    use_session_language(said.session.language)
    return _render(said.session, n, values={"text": text}, ask=said.candidates)
