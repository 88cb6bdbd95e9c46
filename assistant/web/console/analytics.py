"""Analytics for admins: per flow, where sessions go, where they stop, how they end.

URLs (every one takes the same GET filters; all admin only):

| URL | what |
|---|---|
| ``/console/analytics`` | the figures, the charts and the shaded flow diagram |
| ``/console/analytics/funnel.svg`` | the funnel: sessions reaching each step of the main path |
| ``/console/analytics/dropoff.svg`` | the drop-off chart: where abandoned sessions stopped |
| ``/console/analytics/sessions.csv`` | the sessions in scope, one row each |
| ``/console/analytics/steps.csv`` | the per-step table |

Filters: ``flow`` (a flow id; default the first flow), ``version`` (a flow version; empty: all),
``from`` and ``to`` (UTC dates ``YYYY-MM-DD``, both included, on the session's start; default
the last 30 days up to today; an empty one is no bound), ``language`` (a language the
sessions are read in, e.g. ``es``; empty: all). A flow that does not exist, a version
that cannot be one, a language the wizard does not speak, a date that is not a date, or
``from`` after ``to`` answer 400 with the reason. The figures are defined in
:mod:`assistant.store.analytics`.

The charts are drawn by :mod:`.analytics_charts`, the CSV exports by
:mod:`.analytics_exports`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import Response, current_app, render_template, request
from markupsafe import Markup

from ...flow import Flow
from ...flow.model import OTHERWISE
from ...probes.diagnosis import cause_title
from ...store.analytics import Analytics
from ...store.analytics_figures import REACTIONS, FlowReport, Scope
from .. import services
from ..i18n import languages
from . import admin_only, bp
from .diagram import Shade, flow_svg

DEFAULT_DAYS = 30
VERSION = re.compile(r"^[0-9A-Za-z]{1,12}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
KIND_LABELS = {"question": "Question", "instruction": "Instruction", "probe": "Live check",
               "end": "End"}


FILTERS = ("flow", "version", "from", "to", "language")


class BadFilter(ValueError):
    """A filter cannot be used; the message says which and why, for the person who typed it."""


@dataclass(frozen=True)
class Filters:
    """The page's filters as given (``values``, for the form and links) and as a scope."""

    flow: Flow
    scope: Scope
    values: dict[str, str]

    def query(self) -> dict[str, str]:
        """The filters as URL query arguments (for the charts' and exports' links)."""
        return {key: self.values[key] for key in FILTERS}


def today() -> date:
    """Today's UTC date."""
    return datetime.now(UTC).date()


def analysable_flows() -> dict[str, Flow]:
    """The flows analytics shows: those being served, then each flow with stored versions
    that is not (its file broken or removed), as its newest stored version that loads, so
    that its sessions stay countable."""
    flows = dict(services().flows)
    library = services().library
    for flow_id in library.versions.flow_ids():
        if flow_id not in flows:
            for info in library.versions.of(flow_id):
                if (stored := library.get(flow_id, info.version)) is not None:
                    flows[flow_id] = stored.flow
                    break
    return flows


def parse_filters(args, flows: dict[str, Flow] | None = None) -> Filters:
    """The filters from query ``args`` (see the module docstring), defaults filled in;
    ``flows``: :func:`analysable_flows`, if read already.

    Raises:
        BadFilter: a filter cannot be used.
    """
    flows = analysable_flows() if flows is None else flows
    if not flows:
        raise BadFilter("No flow is loaded, so there is nothing to show.")
    flow_id = args.get("flow") or next(iter(flows))
    if flow_id not in flows:
        raise BadFilter(f"There is no flow {flow_id[:64]!r}. Choose one from the list.")
    version = args.get("version", "").strip()
    if version and not VERSION.match(version):
        raise BadFilter(f"{version[:32]!r} is not a flow version: versions are up to 12 "
                        "letters and digits, such as the ones in the list.")
    if version and version != flows[flow_id].version and version not in {
            v.version for v in analytics_queries().versions(flow_id)}:
        # e.g. the version list of another flow, kept when the flow was changed
        raise BadFilter(f"No session of {flows[flow_id].title!r} has version {version!r}. "
                        "Choose a version from the list, or all versions.")
    language = args.get("language", "").strip()
    if language and language not in languages():
        raise BadFilter(f"{language[:16]!r} is not a language sessions are read in. Choose "
                        "one from the list, or all languages.")
    end = today()
    first = _date(args, "from", "From", end - timedelta(days=DEFAULT_DAYS - 1))
    last = _date(args, "to", "To", end)
    if first and last and first > last:
        raise BadFilter(f"The From date ({first}) is after the To date ({last}).")
    values = {"flow": flow_id, "version": version, "language": language,
              "from": first.isoformat() if first else "", "to": last.isoformat() if last else ""}
    # One version: its own steps, titles and main path (an earlier version's, if stored).
    shown = services().library.get(flow_id, version) if version else None
    return Filters(shown.flow if shown else flows[flow_id],
                   Scope(flow_id, version or None, first, last, language or None), values)


def _date(args, key: str, label: str, default: date) -> date | None:
    if key not in args:
        return default
    text = args.get(key, "").strip()
    if not text:
        return None
    try:
        if not ISO_DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"The {label} date {text[:32]!r} is not a date: use the form "
                        "YYYY-MM-DD, for example 2026-03-31.") from None


def main_path(flow: Flow) -> list[str]:
    """The flow's main path: from the start, a probe step's ``otherwise`` (the article's own
    steps, when no check decides) and any other step's first answer (its last, unconditional
    branch), until an end or a step already on the path. The funnel's order."""
    path: list[str] = []
    step_id = flow.start
    while step_id in flow.steps and step_id not in path:
        path.append(step_id)
        step = flow.steps[step_id]
        if step.is_end or not step.answers:
            break
        answer = (step.answer(OTHERWISE) if step.is_probe else None) or step.answers[0]
        step_id = answer.branches[-1].to
    return path


def step_order(flow: Flow, report: FlowReport) -> list[str]:
    """Steps for tables: the main path, then the flow's other steps in file order, then step
    ids found in the sessions that the flow no longer has (from an older version)."""
    order = main_path(flow)
    order += [s for s in flow.steps if s not in order]
    order += sorted(s for s in report.steps if s not in flow.steps)
    return order


def analytics_queries() -> Analytics:
    """The analytics queries over the app's store."""
    return Analytics(services().store.engine)


def flow_report(filters: Filters, traffic_only: bool = False) -> FlowReport:
    """The figures of the filters' scope (sessions abandoned after the app's
    ``ABANDONED_AFTER_MINUTES``)."""
    minutes = current_app.config["ABANDONED_AFTER_MINUTES"]
    return analytics_queries().report(filters.scope, now=datetime.now(UTC),
                                      abandoned_after=timedelta(minutes=minutes),
                                      traffic_only=traffic_only)


def step_title(flow: Flow, step_id: str) -> str:
    """The step's title in ``flow``, else in the latest stored earlier version that has it
    (said so), else its id (said so)."""
    step = flow.steps.get(step_id)
    if step is not None:
        return step.title
    for version in services().library.versions.of(flow.id):  # a step of an earlier version
        earlier = services().library.get(flow.id, version.version)
        if earlier is not None and step_id in earlier.flow.steps:
            return (f"{earlier.flow.steps[step_id].title} (version {version.version}; not in "
                    "this version of the flow)")
    return f"{step_id} (not in this version of the flow)"


def _cause(cause_id: str) -> str:
    try:
        return cause_title(cause_id)
    except KeyError:
        return cause_id


@bp.errorhandler(BadFilter)
def _bad(error: BadFilter):
    """A 400 answer for the charts and exports, whose filters raise :class:`BadFilter` (the
    page catches it and shows its form instead)."""
    return Response(f"{error}\n", 400, mimetype="text/plain")


def not_cached(response: Response) -> Response:
    """``response`` marked ``Cache-Control: no-store`` (the figures are private)."""
    response.headers["Cache-Control"] = "no-store"
    return response


def shade_for(flow: Flow, report: FlowReport) -> dict[str, Shade]:
    """Per step of ``flow``, the diagram's shading: share of the sessions started that reached
    it, share of those that stopped there, and a short label."""
    shades = {}
    for step_id in flow.steps:
        fig = report.step(step_id)
        reached = fig.reached / report.started if report.started else 0.0
        label = f"{fig.reached:,} reached"
        if fig.dropped:
            label += f" · {fig.dropped_share:.0%} stopped"
        shades[step_id] = Shade(reached=reached, dropped=fig.dropped_share or 0.0, label=label)
    return shades


@bp.get("/analytics")
@admin_only
def analytics():
    """The analytics page for the filters in the query string (400 with the form and the
    reason for filters that cannot be used)."""
    flows = analysable_flows()
    try:
        filters = parse_filters(request.args, flows)
    except BadFilter as e:
        values = {k: request.args.get(k, "") for k in FILTERS}
        return not_cached(Response(render_template(
            "console/analytics.html", error=str(e), values=values, flows=flows,
            served=services().flows, versions=[], languages=languages()), 400))
    report = flow_report(filters)
    flow = filters.flow
    order = step_order(flow, report)
    on_main = {step_id: i + 1 for i, step_id in enumerate(main_path(flow))}
    diagram = _diagram(flow, report)
    html = render_template(
        "console/analytics.html", error=None, values=filters.values, flows=flows,
        served=services().flows, versions=analytics_queries().versions(flow.id), flow=flow,
        report=report, order=order,
        languages=languages(), by_language=analytics_queries().languages(filters.scope),
        on_main=on_main, title=lambda s: step_title(flow, s), kinds=KIND_LABELS,
        cause=_cause, reactions=REACTIONS, query=filters.query(), diagram=diagram,
        abandoned_minutes=current_app.config["ABANDONED_AFTER_MINUTES"],
        reaction_total=sum(report.reactions.values()),
        articles=current_app.extensions["article_feedback"].figures(
            flow.id, filters.scope.first_day, filters.scope.last_day),
        dropped_total=sum(f.dropped for f in report.steps.values()),
        session_endpoint="console.session" if "console.session" in current_app.view_functions
        else None)
    return not_cached(Response(html))


def _diagram(flow: Flow, report: FlowReport) -> Markup:
    return flow_svg(flow, shade=shade_for(flow, report),
                    title=f"{flow.title}: sessions reaching each step and stopping there",
                    description="Each step is shaded darker the more sessions reached it; a "
                                "red bar shows the share of those that stopped there. The "
                                "steps table has the same figures.")
