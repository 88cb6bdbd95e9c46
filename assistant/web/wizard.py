"""The customer wizard: start page, one step per URL, answers, feedback, contact support.

URLs (``sid`` is the session's unguessable id, ``n`` a position in its path, 0 = first step):

| method | URL | what |
|---|---|---|
| GET | ``/`` | the flows, as "What are you trying to connect?" (see :mod:`.starting`) |
| GET | ``/flows/<flow_id>`` | the guide's start page; changes nothing (``?launch=TOKEN``) |
| POST | ``/flows/<flow_id>`` | start a session, 303 to its first step (``launch``: the   |
|      |                      | launch token that binds it to a connection)              |
| GET | ``/s/<sid>`` | 303 to the session's current step |
| GET | ``/s/<sid>/<n>`` | the step at position ``n``, as last seen (``n`` ≤ current); at a  |
|     |                  | probe step, "Checking…" until its check is done, then "Checked"  |
|     |                  | and Continue (``?check=<id>``: the check the page waits for)     |
| POST | ``/s/<sid>/<n>`` | answer it (``answer``, ``revision``); below the current   |
|      |                  | position this changes an earlier answer                  |
| POST | ``/s/<sid>/<n>/check`` | poll the probe step's check (``revision``, ``check``): a |
|      |                        | finished check's outcome is applied, once, and the step  |
|      |                        | it leads to shown                                        |
| POST | ``/s/<sid>/feedback`` | "Did this answer your question?" (``reaction``,     |
|      |                       | ``comment``, ``revision``)                          |
| GET/POST | ``/s/<sid>/support`` | contact support: records a handoff with the transcript |

Without JavaScript every POST answers 303 and the browser GETs the step's URL. With htmx
(``HX-Request: true``) the same URLs answer the ``#step`` fragment and ``HX-Push-Url``.
A form whose ``revision`` is not the session's current one is stale: 409, nothing applied, the
current step shown with an explanation. A probe step is never answered by a form (400): only its
check decides, through :class:`~assistant.probes.runner.ProbeRunner`. No GET changes a session:
the htmx poller POSTs every second (a running check gets just the poller back; a finished one
is applied and the next step shown); without JavaScript a meta refresh reloads the page until
the check is done, and its Continue button (the same POST) goes on.

The session logic is the application layer's (:class:`assistant.conversation.Conversations`):
these views parse the form, call it and render what it returns.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from ..conversation import (
    REACTIONS,
    TRANSCRIPT_TAIL,
    Conversations,
    StepView,
)
from ..conversation import errors as refused
from ..engine import CompiledFlow
from ..flow import Flow, Step
from ..store import CheckRecord, Feedback, FlowSession
from . import form_token, services
from .chat import checks_of, is_chat, keep_chat
from .handoff import sent_handoffs
from .i18n import (
    localized,
    normalize,
    translated,
    translated_errors,
    use_session_language,
)
from .presenting import in_language

bp = Blueprint("wizard", __name__)
form_token.install(bp)  # forms checked without a cookie: the wizard works in a help center's frame
bp.app_url_defaults(keep_chat)  # a chat stays a chat through every link, form and redirect

__all__ = ["REACTIONS", "TRANSCRIPT_TAIL", "bp", "private", "render_step"]


def _is_htmx() -> bool:
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def conversations() -> Conversations:
    """The application layer of the current app."""
    return services().conversations


def _gone(sid: str):
    """The 410 page of a session whose flow version (with its step) is no longer to be
    found: in the session's language, with its share code so that support can still find
    what the customer did."""
    row = services().store.get_session(sid)
    if row is not None:
        use_session_language(row.language)
    return private(make_response(render_template(
        "error.html", fragment=_is_htmx(), title=_("This guide has changed"),
        message=translated(refused.FlowChanged.message), ended_session=row), 410))


def _load(sid: str) -> tuple[FlowSession, CompiledFlow]:
    """The session and the version of its flow it is pinned to; 404 if unknown, 410 if no
    version of its flow that has its step can be found."""
    try:
        row, compiled = conversations().load(sid)
    except refused.SessionNotFound:
        abort(404)
    except refused.FlowChanged:
        abort(_gone(sid))
    use_session_language(row.language)
    return row, compiled


def _step_url(row: FlowSession, n: int) -> str:
    return url_for("wizard.step", sid=row.id, n=n)


def render_step(flow: Flow, step: Step, session: FlowSession, n: int, transcript: list[dict],
                *, chosen: str | None = None, feedback: Feedback | None = None,
                notice: str | None = None, errors: dict | None = None,
                values: dict | None = None, status: int = 200, fragment: bool = False,
                finding: CheckRecord | None = None, checking: CheckRecord | None = None,
                previous: CheckRecord | None = None, closed: bool = False,
                ask: tuple[str, ...] = ()):
    """The response for ``step`` shown at path index ``n`` of ``session``.

    ``transcript`` is the tail of the path before ``n`` (dicts as from
    :func:`assistant.conversation.labelled`, at most :data:`TRANSCRIPT_TAIL`); ``chosen`` the
    answer once given at ``n`` if ``n`` is in the past. ``finding`` is the probe check that
    led to this step (shown as "What we found"); ``checking`` the check this probe step waits
    for (the page polls until it is done, then offers Continue), ``previous`` the last result
    while a re-check waits for the TTL to pass; ``closed`` a finished session (no Change
    links, no answer forms); ``ask`` the answers typed text may have meant (the page asks
    which one). A full page, or with ``fragment`` the ``#step`` fragment for htmx; in the
    chat presentation (:mod:`.chat`) the conversation. The benchmark renders its baseline
    through this same function.
    """
    flow = localized(flow)  # the page's language (texts only: ids and branches are the same)
    step = flow.steps.get(step.id, step)
    transcript = in_language(transcript, flow)
    chat = is_chat()
    html = render_template(
        "chat.html" if chat else "step.html", fragment=fragment, ask=ask,
        checks=checks_of(transcript, services().probes.checks) if chat else {},
        flow=flow, step=step, session=session, n=n,
        current=n == session.position, chosen=chosen, transcript=transcript,
        earlier=n - len(transcript), progress=(n, n + flow.remaining.get(step.id, 0)),
        back_url=_step_url(session, n - 1) if n > 0 else url_for("wizard.start"),
        notice=translated(notice), errors=translated_errors(errors), values=values or {},
        # Only an end step shows the reactions (_ending.html): translating them costs ~25 us.
        feedback=feedback, reactions={key: translated(label) for key, label in REACTIONS.items()}
        if step.is_end else {},
        comment_max=current_app.config["COMMENT_MAX_CHARS"],
        finding=previous or finding, checking=checking, previous=previous,
        ttl=current_app.config["PROBE_TTL_SECONDS"], closed=closed, staff_view=_staff_view(),
        connection=services().connections.get(session.connection_id)
        if session.connection_id else None)
    return private(make_response(html, status))


def _staff_view() -> bool:
    """True for a logged-in staff member. A login lives in the session cookie, so without one
    (every customer) Flask-Login is not asked at all."""
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return False
    return current_user.is_authenticated


def private(response):
    """Mark a session page: it differs for htmx and for logged-in staff, who see the step's
    script (``Vary: HX-Request, Cookie``), is never cached (``no-store``: Back refetches the
    real state, the capability URL's page stays off disk, and no cache can hand the staff
    variant to a customer) and never indexed by a search engine."""
    response.headers["Vary"] = "HX-Request, Cookie"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _everything() -> bool:
    """The page shows the whole transcript (``?answers=all``, the chat) and not its tail."""
    return request.args.get("answers") == "all" or is_chat()


def _render(row: FlowSession, n: int, status: int = 200,
            notice: str | None = None, errors: dict | None = None, values: dict | None = None,
            ask: tuple[str, ...] = ()):
    """The step at path index ``n`` of the session (at most its current position); ``ask``:
    the answers typed text may have meant."""
    try:
        view = conversations().view(row, n, waiting_for=_check_id(),
                                    everything=_everything(), sent=sent_handoffs(),
                                    start_check=request.method == "POST")  # no GET checks
    except refused.FlowChanged:
        return _gone(row.id)
    return _render_view(view, status, notice, errors=errors, values=values, ask=ask)


def _render_view(view: StepView, status: int = 200, notice: str | None = None,
                 errors: dict | None = None, values: dict | None = None,
                 ask: tuple[str, ...] = ()):
    """The response showing ``view`` (see :func:`render_step`)."""
    response = render_step(view.flow, view.step, view.session, view.n, view.transcript,
                           chosen=view.chosen, feedback=view.feedback, notice=notice,
                           errors=errors, values=values, status=status, fragment=_is_htmx(),
                           finding=view.finding, checking=view.checking,
                           previous=view.previous, closed=view.closed, ask=ask)
    if status != 200 and _is_htmx():
        # A refused POST shows the step where the session is: make the address bar agree.
        response.headers["HX-Replace-Url"] = _step_url(view.session, view.n)
    return response


def _refused(sid: str, error: refused.ConversationError, n: int | None = None,
             values: dict | None = None):
    """A refused request: the step where the session is now (or ``n``) with the reason."""
    row, _ = _load(sid)
    return _render(row, row.position if n is None else n, error.status,
                   error.message if not error.errors else None, errors=error.errors or None,
                   values=values)


def _show(row: FlowSession, n: int, view: StepView | None = None):
    """After a successful POST (``row``: the session as it left it), the step at index
    ``n``: for htmx the fragment and its URL, otherwise 303 to the step's URL (whose GET
    reads and renders it). ``view``: that step as the application layer returned it, if it
    was read (not read again)."""
    use_session_language(row.language)
    url = _step_url(row, n)
    if _is_htmx():
        response = _render_view(view) if view is not None else _render(row, n)
        response.headers.setdefault("HX-Push-Url", url)
        return response
    return redirect(url, 303)


def _check_id() -> int | None:
    """The check id a polling page waits for (``?check=`` or the poll form's ``check``), if
    it is a plausible row id."""
    value = request.values.get("check", type=int)
    return value if value is not None and 0 < value < 2**31 else None


def _revision() -> int | None:
    try:
        return int(request.form.get("revision", ""))
    except ValueError:
        return None


@bp.get("/help/agent-setup-guide")
def agent_setup_guide():
    """The Agent Setup Guide the flows link to: a redirect to ``AGENT_SETUP_GUIDE_URL``, so
    flow text links one address whatever help center a deployment uses."""
    return redirect(current_app.config["AGENT_SETUP_GUIDE_URL"], 302)


@bp.get("/s/<sid>")
def current(sid: str):
    """The session's current step."""
    row, _ = _load(sid)
    return redirect(_step_url(row, row.position), 303)


@bp.get("/s/<sid>/<int:n>")
def step(sid: str, n: int):
    """The step at position ``n`` as last seen; past the current position, the current step.
    Changes no session (at a probe step, "Checking…" or "Checked", see :func:`poll`)."""
    row, _ = _load(sid)
    if n > row.position:
        return redirect(_step_url(row, row.position), 303)
    return _render(row, n)


@bp.post("/s/<sid>/<int:n>/check")
def poll(sid: str, n: int):
    """Poll the check of the probe step at position ``n`` (form: ``revision``, ``check``).

    Still running: the htmx poller gets itself back (focus and reading stay put), a browser
    without JavaScript the step's page again (303). Done: its outcome is applied once and
    the step it leads to shown (htmx: in the whole step area, with its URL). A poll from a
    page the session has left (another tab's poll applied the check) shows where it is now.
    """
    try:
        polled = conversations().poll(sid, n, _revision(), _check_id())
    except (refused.Stale, refused.NotAProbeStep, refused.Incomplete):
        row, _ = _load(sid)
        return _moved_on(row)
    except refused.ConversationError as e:
        return _refused(sid, e)  # no such session (404), its flow gone (410)
    row = polled.session
    use_session_language(row.language)
    if not polled.applied:
        if _is_htmx():
            return private(make_response(render_template(
                "_probe_wait.html", session=row, n=n, check=polled.check,
                previous=polled.previous, ttl=current_app.config["PROBE_TTL_SECONDS"])))
        return redirect(url_for("wizard.step", sid=sid, n=n, check=polled.check.id), 303)
    return _moved_on(row)


def _moved_on(row: FlowSession):
    """The session's current step after a poll: for htmx in the whole step area rather than
    inside the poller, with its URL; otherwise 303 to it."""
    if _is_htmx():
        response = _render(row, row.position)
        response.headers.update({"HX-Retarget": "#step", "HX-Reswap": "innerHTML",
                                 "HX-Push-Url": _step_url(row, row.position)})
        return response
    return redirect(_step_url(row, row.position), 303)


@bp.post("/s/<sid>/<int:n>")
def answer(sid: str, n: int):
    """Apply the posted answer to the step at position ``n`` (``said``: the words the
    customer typed, when they chose it after being asked which answer those meant)."""
    given = (sid, n, request.form.get("answer", ""), _revision(), sent_handoffs(),
             _form_text("said") or None)
    try:
        if _is_htmx():
            view = conversations().answer(*given, everything=_everything())
        else:  # the browser follows a 303 and asks for the next step: nothing to read here
            row, at = conversations().advance(*given)
    except refused.NotAChoice as e:
        return _refused(sid, e, n)
    except refused.ConversationError as e:
        return _refused(sid, e)
    return _show(view.session, view.n, view) if _is_htmx() else _show(row, at)


def _form_text(name: str) -> str:
    """A text field as typed: trimmed, with the browser's CRLF line breaks counted as one."""
    return request.form.get(name, "").replace("\r\n", "\n").strip()


@bp.post("/s/<sid>/language")
def language(sid: str):
    """The language switcher: read this session in ``lang`` from now on (stored on the
    session: a help center's frame has no cookie), and see the step it is at."""
    row = services().store.get_session(sid)
    if row is None:
        abort(404)
    chosen = normalize(request.form.get("lang"))
    if chosen is None:
        abort(400)
    services().store.set_language(row.id, chosen)
    return redirect(_step_url(row, row.position), 303)


def render_csrf_error(error):
    """A missing or forged CSRF token: 400, nothing changed, and the page shown again with
    what was typed into it."""
    message = _("Your form could not be checked (it may have expired or come from another "
                "site), so nothing was changed. Please try again.")
    # A view may show its own page for this (``view.on_csrf_error(message)``, None: the
    # general one); the session pages below are the wizard's only.
    on_csrf_error = getattr(current_app.view_functions.get(request.endpoint), "on_csrf_error",
                            None)
    if on_csrf_error is not None and (response := on_csrf_error(message)) is not None:
        return response
    sid = (request.view_args or {}).get("sid") if request.blueprint == "wizard" else None
    try:
        row, compiled = conversations().load(sid) if sid else (None, None)
    except refused.ConversationError:
        row = compiled = None
    if compiled is not None:
        return _render(row, row.position, 400, message)
    return render_template("error.html", fragment=_is_htmx(), title=_("Form expired"),
                           message=message), 400
