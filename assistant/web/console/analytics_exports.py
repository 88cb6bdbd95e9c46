"""The analytics exports (the URLs are in :mod:`.analytics`): the sessions in scope and the
per-step table, as CSV downloads."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from defusedcsv import csv
from flask import Response, current_app, request, stream_with_context

from ...store.analytics_figures import StepFigures
from . import admin_only, bp
from .analytics import (
    Filters,
    analytics_queries,
    flow_report,
    main_path,
    not_cached,
    parse_filters,
    step_order,
    step_title,
    today,
)


def _filename(filters: Filters, what: str) -> str:
    v = filters.values
    parts = [filters.flow.id] + [v[k] for k in ("version", "language") if v[k]]
    parts += [v["from"] or "start", v["to"] or today().isoformat(), what]
    return "-".join(parts) + ".csv"


def _csv_response(rows, filters: Filters, what: str) -> Response:
    """Stream ``rows`` (the header first) as a UTF-8 CSV download. Every text cell is stripped
    of surrounding whitespace, and defusedcsv prefixes a cell that a spreadsheet would take for
    a formula (``=``, ``+``, ``-``, ``@``, ``|``, ``%``) with ``'``."""

    def chunks():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        yield "\ufeff"  # byte order mark: spreadsheets then read the file as UTF-8
        for i, row in enumerate(rows):
            writer.writerow([c.strip() if isinstance(c, str) else c for c in row])
            if i % 500 == 499:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = Response(stream_with_context(chunks()), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = \
        f'attachment; filename="{_filename(filters, what)}"'
    return not_cached(response)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


@bp.get("/analytics/sessions.csv")
@admin_only
def analytics_sessions_csv():
    """The sessions in scope as CSV, oldest start first (times UTC, ISO 8601)."""
    filters = parse_filters(request.args)
    minutes = current_app.config["ABANDONED_AFTER_MINUTES"]
    sessions = analytics_queries().sessions(filters.scope, now=datetime.now(UTC),
                                            abandoned_after=timedelta(minutes=minutes))
    header = ["code", "started_utc", "last_answer_utc", "ended_utc", "flow", "flow_version",
              "state", "outcome", "current_step", "answers", "cause", "feedback",
              "feedback_comment", "handoffs", "guided"]
    flow_id = filters.flow.id

    def rows():
        yield header
        for s in sessions:
            yield [s.code or "", _when(s.started_at), _when(s.last_answer_at),
                   _when(s.ended_at), flow_id, s.flow_version, s.state, s.outcome or "", s.step,
                   s.answers, s.cause or "", s.reaction or "", s.comment or "", s.handoffs,
                   "yes" if s.guided else "no"]

    return _csv_response(rows(), filters, "sessions")


@bp.get("/analytics/steps.csv")
@admin_only
def analytics_steps_csv():
    """The per-step table as CSV: the steps in the page's order with their figures."""
    filters = parse_filters(request.args)
    report = flow_report(filters)
    flow = filters.flow
    on_main = {s: i + 1 for i, s in enumerate(main_path(flow))}
    header = ["step", "title", "kind", "main_path_position", "reached", "answered", "stopped",
              "stopped_percent_of_reached", "median_seconds"]

    def row(step_id: str, fig: StepFigures) -> list:
        step = flow.steps.get(step_id)
        share = fig.dropped_share
        return [step_id, step_title(flow, step_id), step.kind if step else "",
                on_main.get(step_id, ""), fig.reached, fig.answered, fig.dropped,
                "" if share is None else f"{share * 100:.1f}",
                "" if fig.median_ms is None else f"{fig.median_ms / 1000:.1f}"]

    rows = [header] + [row(s, report.step(s)) for s in step_order(flow, report)]
    return _csv_response(rows, filters, "steps")
