"""The benchmark's baseline: a bare Flask app that only renders the wizard's step fragment.

Served by gunicorn exactly like the real app (``bare_app:create_app()``, ``bench/`` on
``PYTHONPATH``). Its single route, ``POST /s/<sid>/<n>``, answers the way the wizard answers an
htmx POST at position ``n``: status 200, the ``#step`` fragment of position ``n + 1`` rendered
by the wizard's own ``render_step`` (``step.html``, ``fragment=True``), and the same response
headers (``HX-Push-Url``, ``Vary``, ``Cache-Control`` and the security headers).

What it leaves out is everything but rendering: no database, no engine, no CSRF check, no
transcript building. The flow named by ``BENCH_BARE_FLOW`` is read from ``FLOWS_PATH`` at
start-up (the same loader as the real app) and walked once along each step's first answer; the
step and transcript tail of every position are precomputed. The form fields posted are
accepted and ignored. ``csrf_token()`` in the template is the wizard's form token
(:func:`assistant.web.form_token.form_token`, signed for the session id in the URL), as in the
real app.

The other ``wizard.*`` endpoints that ``step.html`` links to exist only as URL rules (no view),
so that ``url_for`` builds the same URLs as in the real app.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, Flask, abort, url_for

from assistant.config import settings
from assistant.flow import Flow, load_flows
from assistant.resources import templates_dir
from assistant.store.share_codes import new_share_code
from assistant.web import HTMX_FILE
from assistant.web.form_token import form_token
from assistant.web.headers import security_headers
from assistant.web.i18n import DEFAULT, use_session_language
from assistant.web.i18n import install as install_languages
from assistant.web.presenting import bp as presenting_bp
from assistant.web.wizard import TRANSCRIPT_TAIL, render_step


@dataclass(frozen=True)
class SessionView:
    """What ``render_step`` and ``step.html`` read of a session row: its id, position and
    revision, its share code and language as every session started from the flow page has
    them (the page shows "Tell support: …" and its restart link keeps the language), and its
    connection (none: a benchmark flow has no probe step)."""

    id: str
    position: int
    revision: int
    code: str = new_share_code()
    language: str = DEFAULT
    connection_id: str | None = None


@dataclass(frozen=True)
class Page:
    """Everything that depends on the position ``n`` along the flow's first-answer walk."""

    step_id: str
    transcript: list[dict]


def walk(flow: Flow) -> list[Page]:
    """The pages of the path that always takes the first answer, from the start to an end.

    The transcript dicts have the keys of the wizard's ``_transcript``; like the wizard, a
    page holds only the last ``TRANSCRIPT_TAIL`` of them.
    """
    at = datetime(2025, 1, 1, tzinfo=UTC).isoformat()
    pages: list[Page] = []
    lines: list[dict] = []
    step = flow.steps[flow.start]
    while True:
        n = len(pages)
        pages.append(Page(step.id, lines[-TRANSCRIPT_TAIL:]))  # what the wizard shows
        if step.is_end or n >= len(flow.steps):
            return pages
        answer = step.answers[0]
        lines.append({"position": n + 1, "step": step.id, "step_title": step.title,
                      "answer": answer.id, "answer_label": answer.label,
                      "probe_check_id": None, "said": None, "at": at})
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
    app.jinja_env.globals["htmx_file"] = HTMX_FILE
    app.jinja_env.globals["csrf_token"] = form_token  # as the wizard's forms have it
    install_languages(app)  # the wizard's pages are rendered through Flask-Babel

    bp = Blueprint("wizard", __name__)

    @bp.post("/s/<sid>/<int:n>")
    def step(sid: str, n: int):
        """The fragment the wizard returns after an answer at ``n``: position ``n + 1``."""
        n += 1
        if n >= len(pages):
            abort(404)
        page = pages[n]
        session = SessionView(sid, n, n)
        use_session_language(session.language)  # as the wizard does before rendering
        response = render_step(flow, flow.steps[page.step_id], session, n,
                               page.transcript, fragment=True)
        response.headers["HX-Push-Url"] = url_for("wizard.step", sid=sid, n=n)
        return response

    # URL rules without views, only for url_for in step.html (same rules as the wizard's).
    bp.add_url_rule("/", "start")
    bp.add_url_rule("/flows/<flow_id>", "begin")
    bp.add_url_rule("/s/<sid>/feedback", "feedback")
    bp.add_url_rule("/s/<sid>/support", "support")
    app.register_blueprint(bp)
    app.register_blueprint(presenting_bp)  # the template filters the step page uses

    app.after_request(security_headers)  # the real app's headers: responses alike in size
    return app
