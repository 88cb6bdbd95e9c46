"""The benchmark's baseline: a bare Flask app that only renders the wizard's step fragment.

Served by gunicorn exactly like the real app (``bare_app:create_app()``, ``bench/`` on
``PYTHONPATH``). Its single route, ``POST /s/<sid>/<n>``, answers the way the wizard answers an
htmx POST at position ``n``: status 200, the ``#step`` fragment of position ``n + 1`` rendered
from ``step.html`` with ``fragment=True`` and the same template arguments the wizard's
``_render`` passes, and the same response headers (``HX-Push-Url``, ``Vary``,
``Cache-Control`` and the security headers).

What it leaves out is everything but rendering: no database, no engine, no CSRF check, no
transcript building. The flow named by ``BENCH_BARE_FLOW`` is read from ``FLOWS_PATH`` at
start-up (the same loader as the real app) and walked once along each step's first answer; the
step, progress and transcript of every position are precomputed. The form fields posted are
accepted and ignored. ``csrf_token()`` in the template is Flask-WTF's ``generate_csrf``, as in
the real app, so the response carries a real token bound to the Flask session cookie.

The other ``wizard.*`` endpoints that ``step.html`` links to exist only as URL rules (no view),
so that ``url_for`` builds the same URLs as in the real app.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, Flask, abort, make_response, render_template, url_for
from flask_wtf.csrf import generate_csrf

from assistant.config import settings
from assistant.flow import Flow, load_flows
from assistant.resources import templates_dir
from assistant.web import HTMX_FILE
from assistant.web.wizard import REACTIONS


@dataclass(frozen=True)
class SessionView:
    """What ``step.html`` reads of a session row: its id, position and revision."""

    id: str
    position: int
    revision: int


@dataclass(frozen=True)
class Page:
    """Everything that depends on the position ``n`` along the flow's first-answer walk."""

    step_id: str
    progress: tuple[int, int]
    transcript: list[dict]


def walk(flow: Flow) -> list[Page]:
    """The pages of the path that always takes the first answer, from the start to an end.

    The transcript dicts have the keys of the wizard's ``_transcript``.
    """
    at = datetime(2025, 1, 1, tzinfo=UTC).isoformat()
    pages: list[Page] = []
    lines: list[dict] = []
    step = flow.steps[flow.start]
    while True:
        n = len(pages)
        pages.append(Page(step.id, (n, n + flow.remaining.get(step.id, 0)), list(lines)))
        if step.is_end or n >= len(flow.steps):
            return pages
        answer = step.answers[0]
        lines.append({"position": n + 1, "step": step.id, "step_title": step.title,
                      "answer": answer.id, "answer_label": answer.label, "at": at})
        step = flow.steps[answer.branches[-1].to]


def create_app() -> Flask:
    """The bare app for the flow ``BENCH_BARE_FLOW`` (read from ``FLOWS_PATH``)."""
    app = Flask(__name__, template_folder=str(templates_dir()))
    app.config.from_mapping(settings(app.instance_path))
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("set SECRET_KEY")
    flows, errors = load_flows(app.config["FLOWS_PATH"])
    flow_id = os.environ["BENCH_BARE_FLOW"]
    if flow_id not in flows:
        raise RuntimeError(f"flow '{flow_id}' not found on FLOWS_PATH: {errors}")
    flow = flows[flow_id]
    pages = walk(flow)
    comment_max = app.config["COMMENT_MAX_CHARS"]
    app.jinja_env.globals["htmx_file"] = HTMX_FILE
    app.jinja_env.globals["csrf_token"] = generate_csrf  # as CSRFProtect.init_app does

    bp = Blueprint("wizard", __name__)

    @bp.post("/s/<sid>/<int:n>")
    def step(sid: str, n: int):
        """The fragment the wizard returns after an answer at ``n``: position ``n + 1``."""
        n += 1
        if n >= len(pages):
            abort(404)
        page = pages[n]
        row = SessionView(sid, n, n)
        html = render_template(
            "step.html", fragment=True, flow=flow, step=flow.steps[page.step_id], session=row,
            n=n, current=True, chosen=None, transcript=page.transcript, progress=page.progress,
            back_url=url_for("wizard.step", sid=sid, n=n - 1), notice=None, errors={},
            values={}, feedback=None, reactions=REACTIONS, comment_max=comment_max)
        response = make_response(html, 200)
        response.headers["Vary"] = "HX-Request"
        response.headers["Cache-Control"] = "no-store"
        response.headers["HX-Push-Url"] = url_for("wizard.step", sid=sid, n=n)
        return response

    # URL rules without views, only for url_for in step.html (same rules as the wizard's).
    bp.add_url_rule("/", "start")
    bp.add_url_rule("/flows/<flow_id>", "begin")
    bp.add_url_rule("/s/<sid>/feedback", "feedback")
    bp.add_url_rule("/s/<sid>/support", "support")
    app.register_blueprint(bp)

    @app.after_request
    def _security_headers(response):
        # The same headers as assistant.web.create_app adds, so responses are the same size.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return app
