"""The console's flow versions: every version of a flow the server has served, and what
changed between two of them (steps and answers added, removed or changed).

| method | URL | what |
|---|---|---|
| GET | ``/console/flows/<flow_id>/versions`` | the stored versions, newest first, with the   |
|     |                                       | sessions started on each                      |
| GET | ``/console/flows/<flow_id>/versions/<old>/<new>`` | what changed from ``old`` to ``new`` |
"""

from __future__ import annotations

from flask import abort, render_template

from ...flow.diff import diff_flows
from .. import services
from . import bp


@bp.get("/flows/<flow_id>/versions")
def flow_versions(flow_id: str):
    """The flow's stored versions (404 for a flow with none)."""
    versions = services().library.versions.of(flow_id)
    if not versions:
        abort(404)
    served = services().flows.get(flow_id)
    title = served.title if served else flow_id
    return render_template("console/flow_versions.html", flow_id=flow_id, title=title,
                           versions=versions, served=served)


@bp.get("/flows/<flow_id>/versions/<old>/<new>")
def flow_diff(flow_id: str, old: str, new: str):
    """What changed from version ``old`` to version ``new`` of the flow (404 if either is
    not stored or no longer loads)."""
    library = services().library
    before, after = library.get(flow_id, old), library.get(flow_id, new)
    if before is None or after is None:
        abort(404)
    return render_template("console/flow_diff.html", diff=diff_flows(before.flow, after.flow),
                           flow_id=flow_id, served=services().flows.get(flow_id))
