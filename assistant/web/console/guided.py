"""Guided mode: an agent starts a session for a customer on the phone and walks it with them.

| method | URL | what |
|---|---|---|
| GET | ``/console/guided`` | the guides; for a guide with live checks, the customer's connection |
|     |                     | (or "no live check") |
| POST | ``/console/guided`` | ``flow``, ``connection`` (a connection id, or ``none``): start a |
|      |                     | session guided by the logged-in staff member, 303 to its first step |

The session is an ordinary wizard session (``/s/<sid>/<n>``) whose ``guided_by`` is the staff
member. Any wizard page viewed by a logged-in staff member shows the step's script as "Say to
the customer", the share code and a link to the session in the console; customers never see
them (the wizard's pages are ``no-store`` and vary by ``Cookie``).
"""

from __future__ import annotations

from flask import make_response, redirect, render_template, request, url_for

from .. import services
from . import bp, staff_id

NO_LIVE_CHECK = "none"  # the ``connection`` value for "walk the manual steps"


def _choices() -> list[dict]:
    """The guides as the start page lists them: ``{"flow", "probes", "connections"}``, by
    title; ``connections`` are those of the flow's system (empty for a flow without probes)."""
    out = []
    for flow in sorted(services().flows.values(), key=lambda f: f.title):
        probes = any(step.is_probe for step in flow.steps.values())
        out.append({"flow": flow, "probes": probes,
                    "connections": services().connections.for_system(flow.system)
                    if probes else []})
    return out


def _page(errors: dict | None = None, chosen: dict | None = None, status: int = 200):
    """The guided start page; ``errors`` maps ``"flow"`` or ``"connection-<flow id>"`` to a
    message, ``chosen`` the flow id and connection that were posted."""
    response = make_response(render_template(
        "console/guided.html", guides=_choices(), errors=errors or {},
        chosen=chosen or {}, no_live_check=NO_LIVE_CHECK), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/guided")
def guided_start():
    """Choose the guide (and the customer's connection) for a call."""
    return _page()


@bp.post("/guided")
def guided_create():
    """Start a guided session and go to its first step (303).

    Form fields: ``flow`` (a flow id) and, for a flow with live checks, ``connection`` (one of
    its system's connection ids, or ``none``). An unknown flow, or a connection that is
    missing, unknown or of another system, answers 400 with the page and its error; nothing
    is created.
    """
    flow_id = request.form.get("flow", "")
    wanted = request.form.get("connection", "")
    chosen = {"flow": flow_id, "connection": wanted}
    compiled = services().compiled.get(flow_id)
    if compiled is None:
        return _page({"flow": "That guide does not exist (it may have been removed). "
                              "Choose one of the guides below."}, chosen, 400)
    flow = compiled.flow
    connection_id = None
    if any(step.is_probe for step in flow.steps.values()):
        choices = {c.id for c in services().connections.for_system(flow.system)}
        if wanted != NO_LIVE_CHECK and wanted not in choices:
            return _page({f"connection-{flow.id}": (
                "Choose the customer's connection, or “No live check”."
                if not wanted else "That connection is not one this guide can check. "
                "Choose the customer's connection, or “No live check”.")}, chosen, 400)
        connection_id = None if wanted == NO_LIVE_CHECK else wanted
    row = services().conversations.start(flow.id, connection_id=connection_id,
                                         guided_by=staff_id()).session
    return redirect(url_for("wizard.step", sid=row.id, n=0), 303)


@bp.app_template_global()
def console_session_url(sid: str) -> str:
    """The console's view of session ``sid``."""
    return url_for("console.session", sid=sid)
