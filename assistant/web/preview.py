"""``assistant preview FILE``: one flow served while its author edits it.

| method | URL | what |
|---|---|---|
| GET | ``/preview`` | the preview page: the file's checks (``FILE:LINE: KEY: message``), its |
|     |              | flow tests and coverage, the diagram, and the real wizard in an iframe |
| GET | ``/preview/live?v=<fingerprint>`` | the page's polled region: 204 while the files are |
|     |                                   | unchanged, else the new region and an announcement |
| GET | ``/preview/walk`` | 303 to a new session of the last good version (the iframe's start) |

Every request first polls the file (:class:`~assistant.flow.watch.FlowWatcher`): once an edit
passes every check, the app serves it (the wizard, the diagram, the tests) with no restart; a
broken edit leaves the last good version in place and shows its problems. The wizard is the
app's own, unchanged; only this app lets its pages be framed by its own pages (``frame-ancestors
'self'``) so the preview can show it beside the checks.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Flask,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from ..engine import CompiledFlow
from ..flow.watch import FlowWatcher, Preview
from . import services
from .console.diagram import flow_svg
from .headers import security_headers
from .wizard import private

bp = Blueprint("preview", __name__, url_prefix="/preview")
POLL_SECONDS = 1


def install(app: Flask, watcher: FlowWatcher) -> None:
    """Make ``app`` (from :func:`~assistant.web.create_app`, with no flows of its own) serve
    the flow ``watcher`` watches, reloaded as it is edited, with the preview pages."""
    app.extensions["preview"] = watcher
    app.register_blueprint(bp)
    app.before_request(_refresh)
    app.after_request(_frame_own_pages)  # runs before security_headers (registered earlier)


def _watcher() -> FlowWatcher:
    return current_app.extensions["preview"]


def _refresh() -> None:
    """Poll the file; serve its last good version if that is not the one served."""
    flow = _watcher().poll().flow
    svc = services()
    if flow is not None and (set(svc.flows) != {flow.id} or svc.flows[flow.id] is not flow):
        # New dicts, assigned whole: a request running meanwhile sees the old or the new one.
        svc.compiled = {flow.id: CompiledFlow(flow)}
        svc.flows = {flow.id: flow}
        # Sessions are pinned to the version they started on: store each version served, and
        # let the flow library see the one served now.
        svc.library.versions.record([flow])
        svc.library.compiled = svc.compiled
        svc.library.prefer_served = True  # the walk shows each save, not the pinned version
        svc.conversations.serve(svc.flows, svc.compiled)


def _frame_own_pages(response):
    """The app's security headers, except that its own pages may frame it (the walk)."""
    security_headers(response)
    policy = response.headers["Content-Security-Policy"]
    response.headers["Content-Security-Policy"] = policy.replace("frame-ancestors 'none'",
                                                                 "frame-ancestors 'self'")
    return response


def _utc(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def _summary(state: Preview) -> str:
    """One sentence for screen readers and the page's status line: what the last edit did."""
    if not state.current:
        count = len(state.problems)
        kept = ("The guide and the diagram keep the last good version." if state.flow
                else "There is nothing to walk until it passes its checks.")
        return f"The file has {count} problem{'' if count == 1 else 's'}. {kept}"
    report = state.report
    text = f"{state.flow.title}: valid, version {state.flow.version}."
    if report is not None and report.tests_file is not None:
        text += (f" {report.passed} of {report.cases} tests passed; {len(report.covered)} of "
                 f"{len(report.all)} transitions covered.")
    return text


def _region(state: Preview) -> str:
    diagram = None
    if state.flow is not None:
        diagram = flow_svg(state.flow, description=(
            "Each box is a step; arrows go from a step to the steps its answers or live-check "
            "outcomes lead to." + ("" if state.current else
                                   " This is the last good version, not the file as saved.")))
    return render_template("preview/_live.html", state=state, diagram=diagram,
                           summary=_summary(state), checked_at=_utc(state.checked_at),
                           good_at=_utc(state.good_at), every=POLL_SECONDS)


@bp.get("")
def page():
    """The preview page."""
    state = _watcher().poll()
    return private(make_response(render_template(
        "preview/page.html", state=state, region=Markup(_region(state)),
        simulator_url=services().connections.simulator_url)))


@bp.get("/live")
def live():
    """The polled region: 204 when the files are unchanged since ``?v=``, else the region
    and a sentence for the page's live region."""
    state = _watcher().poll()
    if request.args.get("v") == state.fingerprint:
        return private(make_response("", 204))
    html = _region(state) + render_template("console/_announce.html", text=_summary(state))
    return private(make_response(html))


@bp.get("/walk")
def walk():
    """The iframe's start: a new session of the last good version, or a page saying there is
    none yet."""
    flow = _watcher().poll().flow
    if flow is None:
        return private(make_response(render_template(
            "error.html", fragment=False, title="Nothing to walk yet",
            message="The flow has not passed its checks yet. Fix the problems shown beside "
                    "this, save, and the guide starts here."), 200))
    return redirect(url_for("wizard.begin", flow_id=flow.id), 303)
