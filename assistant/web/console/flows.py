"""The console's Flows pages, for admins: each flow being served with its versions and the
sessions pinned to them, validation, flow tests and coverage, translations and traffic
(gathered by :mod:`assistant.flow_status`).

| method | URL | what |
|---|---|---|
| GET | ``/console/flows`` | every served flow, one row each, and problems in other flow files |
| GET | ``/console/flows/<flow_id>`` | one flow in full, with its diagram (404: not served) |
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, current_app, render_template

from ...flow_status import FlowStatuses
from ...store.analytics import Analytics
from .. import services
from . import admin_only, bp
from .diagram import flow_svg


def _statuses() -> FlowStatuses:
    """The app's :class:`FlowStatuses` (made on first use; it holds the caches)."""
    found = current_app.extensions.get("flow_statuses")
    if found is None:
        s = services()
        found = current_app.extensions.setdefault("flow_statuses", FlowStatuses(
            s.flows, current_app.config["FLOWS_PATH"], current_app.config["FLOW_MAX_BYTES"],
            s.library.versions, Analytics(s.store.engine)))
    return found


@bp.get("/flows")
@admin_only
def flows():
    """Every served flow: versions, validation, tests, translations, last 30 days' traffic."""
    statuses = _statuses()
    validation = statuses.validation()
    now = datetime.now(UTC)
    rows = [statuses.status(flow_id, now, validation) for flow_id in services().flows]
    return render_template("console/flows.html", rows=rows, others=statuses.others(validation))


@bp.get("/flows/<flow_id>")
@admin_only
def flows_detail(flow_id: str):
    """One served flow in full, with its diagram."""
    status = _statuses().status(flow_id, datetime.now(UTC))
    if status is None:
        abort(404)
    diagram = flow_svg(status.flow, title=f"Diagram of {status.flow.title}, version "
                                          f"{status.flow.version}")
    return render_template("console/flow.html", s=status, diagram=diagram)
