"""Starting a guide: the start pages, which change nothing, and the POST that starts a session
and binds it to a connection.

| method | URL | what |
|---|---|---|
| GET | ``/`` | the guides (``?launch=TOKEN``: their links carry the token on) |
| GET | ``/flows/<flow_id>`` | the guide's start page with its Start button (``?launch=TOKEN``; |
|     |                      | demo mode: ``?connection=<id>`` preselects a demo connection)  |
| POST | ``/flows/<flow_id>`` | start a session, 303 to its first step: ``launch`` (hidden),    |
|      |                      | ``connection`` (demo mode only; empty: without a live check)   |

Only a POST creates a session, so link previewers, crawlers and prefetchers (which GET) start
nothing and run no check, and every session counted in analytics was started by a person.

A session is bound to a connection only by a valid launch token (:mod:`assistant.launch`):
the token's connection, if the guide's system is its system; it keeps it. Outside demo mode no
page lists the configured connections and ``?connection=`` is ignored; without a token the
probe steps take their manual path. In demo mode the start page also offers the demo
connections (labelled as demo) and shows a real signed demo link. A token that is expired,
tampered with, signed with an unknown secret, for another guide, or whose session has ended
gets a 4xx start page that says so in plain words and offers the guide without a live check.
One token starts one session: posting it again while that session is active goes back to it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from flask import (
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from ..conversation import TEXT_MAX
from ..conversation.errors import LaunchRefused, SessionNotFound
from ..engine import CompiledFlow
from ..flow import Flow
from ..launch import Launch, sign
from . import services
from .embed import link_reaction
from .i18n import current_language, localized, translated
from .wizard import bp, private

log = logging.getLogger(__name__)

DEMO_CUSTOMER = "demo-customer-42"
"""The customer reference of the demo's sample signed link."""

@dataclass
class Refusal:
    """Why a launch token was not used: the customer's words (in the page's language) and
    the HTTP status."""

    message: str
    status: int


def _has_probes(flow: Flow) -> bool:
    return any(step.is_probe for step in flow.steps.values())


def _verified(token: str | None, flow: Flow | None) -> tuple[Launch | None, Refusal | None]:
    """The launch token of this request checked: ``(launch, None)``, ``(None, refusal)``, or
    ``(None, None)`` without a token. ``flow`` is the guide being started (None on the list
    of guides). Never raises for a bad token (see
    :meth:`~assistant.conversation.Conversations.verify_launch`)."""
    try:
        return services().conversations.verify_launch(token, flow), None
    except LaunchRefused as e:
        return None, Refusal(translated(e.message), e.status)


def _launch_connection(launch: Launch | None, flow: Flow):
    """``(connection, note)``: see
    :meth:`~assistant.conversation.Conversations.launch_connection`."""
    connection, note = services().conversations.launch_connection(launch, flow)
    return connection, translated(note)


def _demo_link(flow: Flow, choices: list) -> str | None:
    """A real signed launch link for this guide and the first demo connection, as a host app
    would make one (see the README), or None without a demo connection."""
    if not choices:
        return None
    token = sign(current_app.config["LAUNCH_SECRET"], connection=choices[0].id,
                 customer=DEMO_CUSTOMER, flow=flow.id)
    return url_for("wizard.begin", flow_id=flow.id, launch=token, _external=True)


def _flow_page(compiled: CompiledFlow, *, launch: Launch | None, token: str | None,
               wanted: str | None = None, notice: str | None = None, status: int = 200):
    """The guide's start page: what the guide does, whether it will check a connection live,
    and the Start form (with the token as the hidden field ``launch``)."""
    flow = compiled.flow
    connections = services().connections
    connection, note = _launch_connection(launch, flow)
    demo = connections.demo and launch is None
    choices = connections.for_system(flow.system) if demo and _has_probes(flow) else []
    html = render_template(
        "flow_start.html", flow=localized(flow), probes=_has_probes(flow), connection=connection,
        note=note, token=token if launch is not None else None, demo=demo, choices=choices,
        wanted=wanted, notice=notice, demo_link=_demo_link(flow, choices) if demo else None,
        demo_customer=DEMO_CUSTOMER, simulator_url=connections.simulator_url)
    return private(make_response(html, status))


def _flow_or_404(flow_id: str) -> CompiledFlow:
    compiled = services().compiled.get(flow_id)
    if compiled is None:
        abort(404)
    return compiled


def _printable(value: str) -> str:
    """A value from the address, safe to repeat on a page: no control characters, short."""
    return re.sub(r"[\x00-\x1f\x7f]", "", value)[:64]


@bp.get("/")
def start():
    """The list of guides: what is the customer trying to connect? With ``?launch=TOKEN`` the
    guides of the token's system carry it on; a bad token is refused (4xx) with the list."""
    flows = sorted(services().flows.values(), key=lambda f: f.title)
    connections = services().connections
    token = request.args.get("launch") or None
    launch, refusal = _verified(token, None)
    system = connections[launch.connection_id].system if (
        launch is not None and launch.connection_id in connections) else None
    carry = {f.id: token for f in flows if system == f.system
             and (launch.flow_id in (None, f.id))} if launch else {}
    html = render_template("start.html", flows=[localized(f) for f in flows],
                           demo=connections.demo, carry=carry,
                           token=token if launch else None, text_max=TEXT_MAX,
                           notice=refusal.message if refusal else None,
                           simulator_url=connections.simulator_url)
    return private(make_response(html, refusal.status if refusal else 200))


@bp.get("/flows/<flow_id>")
def begin(flow_id: str):
    """The guide's start page. Changes nothing: the Start button POSTs (:func:`start_session`).

    ``?launch=TOKEN`` is a launch token; refused (expired, tampered, …) the page answers 4xx
    and offers the guide without a live check. In demo mode ``?connection=<id>`` preselects a
    demo connection (an unknown one: 400 and the choice); elsewhere it is ignored.
    """
    compiled = _flow_or_404(flow_id)
    token = request.args.get("launch") or None
    launch, refusal = _verified(token, compiled.flow)
    wanted = request.args.get("connection")
    if refusal is not None:
        return _flow_page(compiled, launch=None, token=None, notice=refusal.message,
                          status=refusal.status)
    if launch is None and services().connections.demo and wanted:
        choices = services().connections.for_system(compiled.flow.system)
        if wanted not in {c.id for c in choices}:
            return _unknown_demo_connection(compiled, wanted)
    return _flow_page(compiled, launch=launch, token=token, wanted=wanted)


def _unknown_demo_connection(compiled: CompiledFlow, wanted: str):
    other = services().connections.get(wanted)
    shown = _printable(wanted)
    notice = (_("The link named a connection (“%(name)s”) of another system, which this "
                "guide cannot check.", name=shown) if other else
              _("The link named a connection (“%(name)s”) that we don't know.", name=shown))
    return _flow_page(compiled, launch=None, token=None, notice=notice + " " + _(
        "Choose one below, or continue without a live check."), status=400)


@bp.post("/flows/<flow_id>")
def start_session(flow_id: str):
    """Start a session of ``flow_id`` (a person pressed Start) and 303 to its first step.

    Form fields: ``launch``, a launch token: the session is bound to its connection (if the
    guide is of its system) and keeps its customer reference; a token whose session is still
    active goes back to that session. In demo mode without a token, ``connection``: a demo
    connection id, or empty for none. Refused token: 4xx start page, nothing created.
    """
    compiled = _flow_or_404(flow_id)
    flow = compiled.flow
    token = request.form.get("launch") or None
    launch, refusal = _verified(token, flow)
    if refusal is not None:
        return _flow_page(compiled, launch=None, token=None, notice=refusal.message,
                          status=refusal.status)
    conversations = services().conversations
    connection = None
    if launch is None and services().connections.demo and _has_probes(flow):
        choices = services().connections.for_system(flow.system)
        wanted = request.form.get("connection")
        if wanted is None and len(choices) == 1:
            wanted = choices[0].id
        if wanted:
            connection = next((c for c in choices if c.id == wanted), None)
            if connection is None:
                return _unknown_demo_connection(compiled, wanted)
        elif wanted is None and choices:
            return _flow_page(compiled, launch=None, token=None, status=400,
                              notice=_("Choose a connection to check, or continue "
                                       "without a live check."))
    started = conversations.start(flow.id, launch=launch,
                                  connection_id=connection.id if connection else None,
                                  language=current_language())
    if started.resumed:  # the same token again (a double click, Back and Start)
        return redirect(url_for("wizard.current", sid=started.session.id), 303)
    link_reaction(started.session)  # opened from an article's "No"/"Partly": analytics follows it
    return redirect(url_for("wizard.step", sid=started.session.id, n=0), 303)


def _start_csrf_error(message: str):
    """A Start form that failed its CSRF check: the start page again (400) with the reason,
    keeping the launch token if it is still good."""
    compiled = services().compiled.get((request.view_args or {}).get("flow_id", ""))
    if compiled is None:
        return None
    token = request.form.get("launch") or None
    launch, refusal = _verified(token, compiled.flow)
    return _flow_page(compiled, launch=launch, token=token if launch else None,
                      notice=refusal.message if refusal else message, status=400)


start_session.on_csrf_error = _start_csrf_error


@bp.post("/s/<sid>/again")
def check_again(sid: str):
    """"Check again" at an unresolved end: a new session of the same guide, bound to the same
    connection and customer reference as ``sid`` (whose unguessable id is the proof that the
    visitor was given them), 303 to its first step — which checks the connection anew."""
    try:
        row = services().conversations.check_again(sid)
    except SessionNotFound:
        abort(404)
    return redirect(url_for("wizard.step", sid=row.id, n=0), 303)
