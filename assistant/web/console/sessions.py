"""The console's session pages: the session list, one session's view (it follows the customer
live), and staff notes.

| method | URL | what |
|---|---|---|
| GET | ``/console/sessions`` | the list: a GET form of filters (``code``, ``flow``, ``outcome``, |
|     |                       | ``from``, ``to``, ``connection``, ``cause``), newest first, 25 a   |
|     |                       | page (``page``); bad filters answer 400 with a message per field   |
| GET | ``/console/sessions/<sid>`` | the session view (404 for an unknown session)             |
| POST | ``/console/sessions/<sid>/notes`` | add a note (``body``: 1–4,000 characters)        |

Live follow: the part of the session view that can change (``#session-live``: status,
diagram, transcript, checks, feedback, handoffs, notes) polls its own URL with htmx
(``HX-Target: session-live``) every 2 s while the session is active, every 10 s once it has
ended (a customer can still go back and change an answer, give feedback or ask for a person,
and other staff add notes, so an ended session is still watched, just less often). The poll
carries ``v``, a fingerprint of what the page shows: unchanged, the answer is 204 (htmx swaps
nothing); changed, the new region plus a sentence for the page's ``#announcer`` live region
("Answered … Now at …"). The note form sits outside the polled region, so typing is never
disturbed. Without JavaScript the page is a normal page with a Refresh link.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import (
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup

from ...conversation import REACTIONS, labelled
from ...probes.diagnosis import cause_title
from ...store.console import NOTE_MAX_CHARS, ConsoleQueries, NoteError, SessionDetail
from ...store.session_filter import STATES, FilterError, parse_filter
from .. import services
from ..wizard import private
from . import bp, needs_login_response, staff_id
from .diagram import flow_svg

FILTER_KEYS = ("code", "flow", "outcome", "from", "to", "connection", "cause", "customer")
STATE_LABELS = {"resolved": "Resolved", "unresolved": "Not resolved", "escalated": "Escalated",
                "active": "Active", "abandoned": "Abandoned"}
HANDOFF_REASONS = {"unresolved_end": "Ended unresolved",
                   "negative_feedback": "Negative feedback",
                   "customer_request": "Customer asked for a person",
                   "agent": "Handed on by staff"}
POLL_ACTIVE_S, POLL_ENDED_S = 2, 10


def _queries() -> ConsoleQueries:
    queries = current_app.extensions.get("console_queries")
    if queries is None:
        queries = current_app.extensions["console_queries"] = ConsoleQueries(services().store)
    return queries


def _abandoned_after() -> timedelta:
    return timedelta(minutes=current_app.config["ABANDONED_AFTER_MINUTES"])


def _is_htmx() -> bool:
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


@bp.app_template_filter("console_time")
def console_time(moment) -> str:
    """A UTC time as ``2025-03-31 14:05:09`` (empty for None)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


@bp.app_template_filter("time_spent")
def time_spent(ms: int | None) -> str:
    """Milliseconds as a short duration: "0.4 s", "12 s", "3 min 5 s", "2 h 4 min"; "–" for
    None (not measured)."""
    if ms is None:
        return "–"
    if ms < 10_000:
        return f"{ms / 1000:.1f} s"
    s = round(ms / 1000)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def _cause_label(cause: str | None) -> str:
    if not cause:
        return ""
    try:
        return cause_title(cause)
    except KeyError:  # a cause the rules no longer know
        return cause


def _labels(session=None) -> dict:
    """Readable names for ids, for the templates: flows, steps, connections, causes. With a
    ``session``, its steps are named as in the version of the flow it walks."""
    flows = services().flows
    connections = services().connections
    pinned = services().compiled_for(session) if session is not None else None

    def flow_title(flow_id: str) -> str:
        flow = flows.get(flow_id)
        return flow.title if flow else f"{flow_id} (no longer served)"

    def step_title(flow_id: str, step_id: str) -> str:
        for flow in (pinned.flow if pinned else None, flows.get(flow_id)):
            if flow is not None and flow.id == flow_id and step_id in flow.steps:
                return flow.steps[step_id].title
        return step_id

    def connection_label(connection_id: str | None) -> str:
        if not connection_id:
            return ""
        connection = connections.get(connection_id)
        return f"{connection.label} ({connection_id})" if connection else connection_id

    return {"flow_title": flow_title, "step_title": step_title,
            "connection_label": connection_label, "cause_label": _cause_label,
            "state_labels": STATE_LABELS}


# -- the session list ---------------------------------------------------------------------------

def _options(values: dict) -> dict:
    """The filter form's choices as (value, label) lists: what sessions have, the flows the
    app serves, and whatever the query string asked for (so the form shows it)."""
    seen = _queries().filter_options()
    labels = _labels()
    flow_ids = set(seen.flow_ids) | set(services().flows)
    connection_ids = set(seen.connection_ids)
    causes = set(seen.causes)
    for key, bucket in (("flow", flow_ids), ("connection", connection_ids), ("cause", causes)):
        if values.get(key):
            bucket.add(values[key])
    return {
        "flow": sorted(((i, labels["flow_title"](i)) for i in flow_ids), key=lambda o: o[1]),
        "outcome": [(s, STATE_LABELS[s]) for s in STATES],
        "connection": [(i, labels["connection_label"](i)) for i in sorted(connection_ids)],
        "cause": sorted(((c, _cause_label(c)) for c in causes), key=lambda o: o[1]),
    }


@bp.get("/sessions")
def sessions():
    """The session list: filters, newest first, paginated; 400 with messages for bad
    filters. A search by share code alone that finds the session opens it (303): the agent on
    the phone typed what the customer read out."""
    values = {key: (request.args.get(key) or "").strip()[:200] for key in FILTER_KEYS}
    errors: dict[str, str] = {}
    result = None
    active = {key: value for key, value in values.items() if value}
    try:
        result = _queries().sessions(parse_filter(request.args), _abandoned_after())
    except FilterError as e:
        errors = e.errors
    if result is not None and result.total == 1 and set(active) == {"code"}:
        return redirect(url_for("console.session", sid=result.rows[0].id), 303)

    def page_url(number: int) -> str:
        return url_for("console.sessions", **active, page=number)

    html = render_template("console/sessions.html", values=values, errors=errors,
                           result=result, options=_options(values), filtered=bool(active),
                           page_url=page_url, **_labels())
    return private(make_response(html, 400 if errors else 200))


# -- one session --------------------------------------------------------------------------------

def _detail_or_404(sid: str) -> SessionDetail:
    detail = _queries().detail(sid, _abandoned_after())
    if detail is None:
        abort(404)
    return detail


def _lines(detail: SessionDetail, entries) -> list[dict]:
    """Transcript entries with their step titles and answer labels (as the wizard words
    them), time spent and the check used."""
    compiled = services().compiled_for(detail.session)
    if compiled is not None:
        lines = labelled(compiled, entries)
    else:  # the flow is no longer served: show the ids
        lines = [{"step_title": e.from_step, "answer_label": e.answer} for e in entries]
    return [{"entry": e, "step_title": line["step_title"], "answer_label": line["answer_label"]}
            for e, line in zip(entries, lines, strict=True)]


def _diagram(detail: SessionDetail) -> Markup | None:
    """The flow's diagram with the session's path and current step marked (None if the flow
    is no longer served)."""
    compiled = services().compiled_for(detail.session)
    if compiled is None:
        return None
    flow = compiled.flow
    path = [e.from_step for e in detail.path] + [detail.session.step]
    return flow_svg(flow, path=path, current=detail.session.step,
                    title=f"{flow.title}: this session's path")


def _record_html(detail: SessionDetail) -> str:
    """The inside of ``#session-live``: everything that changes while the session goes on."""
    path, replaced = _lines(detail, detail.path), _lines(detail, detail.superseded)
    checks, seen = [], set()
    for line in path + replaced:  # a cached check can serve two answers: show it once
        check = line["entry"].check
        if check is not None and check.id not in seen:
            seen.add(check.id)
            checks.append(line)
    return render_template(
        "console/_session_record.html", detail=detail, session=detail.session, path=path,
        replaced=replaced, checks=checks, diagram=_diagram(detail), reactions=REACTIONS,
        reasons=HANDOFF_REASONS, served=services().flows.get(detail.session.flow_id),
        **_labels(detail.session))


def _fingerprint(detail: SessionDetail, record_html: str) -> str:
    """What the page shows, in short: revision, feedback, handoff and note counts (to say
    what changed), and a digest of the whole region (to notice any other change)."""
    digest = hashlib.sha256(record_html.encode()).hexdigest()[:16]
    return (f"{detail.session.revision}.{len(detail.feedback)}.{len(detail.handoffs)}."
            f"{len(detail.notes)}.{digest}")


def _announcement(detail: SessionDetail, seen: str) -> str:
    """One sentence for screen readers saying what changed since fingerprint ``seen``."""
    labels = _labels(detail.session)
    try:
        revision, feedback, handoffs, notes = (int(p) for p in seen.split(".")[:4])
    except ValueError:
        revision = feedback = handoffs = notes = -1
    said = []
    session = detail.session
    if session.revision != revision:
        lines = _lines(detail, detail.path[-1:])
        if lines and session.revision > revision >= 0:
            said.append(f"Answered: {lines[0]['answer_label']}.")
        said.append(f"Now at: {labels['step_title'](session.flow_id, session.step)}.")
        if detail.state in ("resolved", "unresolved", "escalated"):
            said.append(f"Session ended: {STATE_LABELS[detail.state]}.")
    if len(detail.feedback) > feedback >= 0:
        said.append(f"New feedback: {REACTIONS.get(detail.feedback[-1].reaction, '')}.")
    if len(detail.handoffs) > handoffs >= 0:
        said.append("New handoff to the queue.")
    if len(detail.notes) > notes >= 0:
        said.append(f"New note by {detail.notes[-1].author}.")
    return " ".join(said) or "This session was updated."


def _live_region(detail: SessionDetail, record_html: str) -> Markup:
    ended = detail.session.status == "ended"
    return Markup(render_template(
        "console/_session_live.html", session=detail.session,
        fingerprint=_fingerprint(detail, record_html), record=Markup(record_html),
        every=POLL_ENDED_S if ended else POLL_ACTIVE_S))


def _session_page(detail: SessionDetail, note: str = "", note_error: str | None = None,
                  status: int = 200):
    """The whole session view; ``note``/``note_error``: a refused note, shown again."""
    html = render_template(
        "console/session.html", detail=detail, session=detail.session,
        live=_live_region(detail, _record_html(detail)), note=note, note_error=note_error,
        note_max=NOTE_MAX_CHARS,
        handoff_form="console.handoff_create" in current_app.view_functions,
        **_labels(detail.session))
    response = private(make_response(html, status))
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


@bp.get("/sessions/<sid>")
def session(sid: str):
    """The session view; for the htmx poll of ``#session-live``, 204 when nothing changed
    since ``?v=`` or the new region and an announcement."""
    detail = _detail_or_404(sid)
    if not (_is_htmx() and request.headers.get("HX-Target") == "session-live"):
        return _session_page(detail)
    record_html = _record_html(detail)
    seen = request.args.get("v", "")
    if seen == _fingerprint(detail, record_html):
        response = private(make_response("", 204))
    else:
        html = _live_region(detail, record_html) + Markup(render_template(
            "console/_announce.html", text=_announcement(detail, seen)))
        response = private(make_response(html))
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


# -- notes --------------------------------------------------------------------------------------

def _note_form(sid: str, note: str = "", error: str | None = None, status: int = 200,
               announce: str | None = None):
    """The note form alone (for htmx), with a refused note and its problem, or empty and an
    announcement after a note was added."""
    html = render_template("console/_note_form.html", session_id=sid, note=note,
                           note_error=error, note_max=NOTE_MAX_CHARS)
    if announce:
        html += render_template("console/_announce.html", text=announce)
    return private(make_response(html, status))


def _note_refused(sid: str, body: str, message: str):
    """A note that was not saved: 400, the message, and the text as typed."""
    if _is_htmx():
        return _note_form(sid, body, message, 400)
    return _session_page(_detail_or_404(sid), note=body, note_error=message, status=400)


@bp.post("/sessions/<sid>/notes")
def session_notes(sid: str):
    """Add a staff note to the session (``body``: plain text, 1–4,000 characters once
    trimmed). A refused note answers 400 with the text kept in the form."""
    if services().store.get_session(sid) is None:
        abort(404)
    body = request.form.get("body", "")
    try:
        _queries().add_note(sid, staff_id(), body)
    except NoteError as e:
        return _note_refused(sid, body, str(e))
    if _is_htmx():
        response = _note_form(sid, announce="Note added.")
        response.headers["HX-Trigger"] = "notes-changed"  # the live region shows it at once
        return response
    return redirect(url_for("console.session", sid=sid) + "#notes", 303)


def _notes_csrf_failure(message: str):
    """A note whose form failed the CSRF check: nothing saved, the text kept (staff only;
    None for an unknown session: the general "Form expired" page)."""
    if not current_user.is_authenticated:
        return needs_login_response()
    sid = request.view_args["sid"]
    if services().store.get_session(sid) is None:
        return None
    return _note_refused(sid, request.form.get("body", ""), message)


session_notes.on_csrf_error = _notes_csrf_failure
