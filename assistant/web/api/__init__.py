"""The JSON API ``/api/v1``: the same sessions as the wizard, for other channels (a chat app,
a ticket sidebar, a mobile app), over the same application layer
(:class:`assistant.conversation.Conversations`), so every rule of the wizard holds.

| method | path | what |
|---|---|---|
| POST | ``/sessions`` | start: ``flow`` or ``text`` (routed), ``launch`` (a launch token), |
|      |                 | ``language`` (``en``, ``es``: the customer's)                  |
| GET | ``/sessions/<sid>`` | where it is: step, answers, finding, transcript tail, revision |
| POST | ``/sessions/<sid>/answers`` | ``answer``, ``revision`` (409 when stale), ``position`` |
| POST | ``/sessions/<sid>/match`` | free ``text`` → an answer of the current step (no change) |
| POST | ``/sessions/<sid>/poll`` | a probe step's check; a finished one is applied, once |
| POST | ``/sessions/<sid>/feedback`` | ``reaction``, ``comment``, ``revision`` |
| POST | ``/sessions/<sid>/handoff`` | ``revision``, ``contact``, ``message`` |
| POST | ``/route`` | free ``text`` (in ``language``) → guide, step, cause, or a question |
| GET | ``/staff/sessions/<sid or code>`` | staff (Bearer token): the session |
| GET | ``/staff/sessions/<sid or code>/transcript`` | staff: the whole transcript, evidence |
| GET | ``/openapi.json`` | the OpenAPI 3.1 document, generated from :mod:`.schemas` |

No cookie is read or set, so the API needs no CSRF token; staff endpoints take only
``Authorization: Bearer <token>`` (``assistant staff token EMAIL``). Refusals are
``{"error": {"code", "message"}}`` with the status. Cross-origin requests are allowed only
from ``EMBED_ORIGINS``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from ...conversation import StepView
from ...conversation import errors as refused
from ...store.health import is_unavailable
from ...store.share_codes import normalize_share_code
from .. import csrf, services
from ..i18n import current_language, localized, translated, use_session_language
from ..presenting import customer_explanation, customer_title, in_language
from . import schemas

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def error(status: int, code: str, message: str, fields: dict | None = None):
    """A refusal as JSON: ``{"error": {"code", "message"[, "fields"]}}`` with ``status``."""
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.response = error(status, code, message, fields)


def _body(model: type[BaseModel]):
    """The request's JSON body validated by ``model``; raises :class:`Refusal` (415 not
    JSON, 400 unreadable or invalid, naming each field)."""
    if not request.is_json:
        raise Refusal(415, "unsupported_media_type", "Send the body as application/json.")
    data = request.get_json(silent=True)
    if data is None:
        raise Refusal(400, "bad_json", "The body is not valid JSON.")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        fields = {".".join(str(p) for p in err["loc"]) or "body": err["msg"]
                  for err in e.errors(include_url=False)}
        raise Refusal(400, "invalid", "Some of what was sent can't be used; nothing was "
                                      "changed.", fields) from None


def _ok(model: BaseModel, status: int = 200):
    response = current_app.response_class(model.model_dump_json(), status=status,
                                          mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(Refusal)
def _refusal(e: Refusal):
    return e.response


@bp.errorhandler(refused.ConversationError)
def _refused(e: refused.ConversationError):
    """The application layer's refusal, its messages in the session's language (once the
    session was read) or the request's ``Accept-Language``."""
    fields = {k: translated(v) for k, v in (e.errors or {}).items()}
    return error(e.status, e.code, translated(e.message), fields or None)


@bp.errorhandler(SQLAlchemyError)
def _database(e: SQLAlchemyError):
    if not is_unavailable(e):
        raise e
    return error(503, "unavailable", "The service is unavailable for a moment; nothing was "
                                     "changed. Please try again shortly.")


@bp.after_request
def _cors(response):
    """Cross-origin access only for ``EMBED_ORIGINS`` (no credentials: no cookie is used)."""
    origin = request.headers.get("Origin")
    response.headers.add("Vary", "Origin")
    if origin and origin.lower() in (current_app.config.get("EMBED_ORIGINS") or []):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def conversations():
    return services().conversations


def session_out(view: StepView) -> schemas.SessionOut:
    """The API's picture of a :class:`StepView` (customer words only: no evidence), in the
    session's language."""
    row = view.session
    use_session_language(row.language)
    flow = localized(view.flow)  # texts only: ids and branches are the same
    step = flow.steps.get(view.step.id, view.step)
    finding = view.previous or view.finding
    return schemas.SessionOut(
        id=row.id, code=row.code, language=current_language(),
        flow=schemas.FlowOut(id=flow.id, title=flow.title, version=flow.version),
        revision=row.revision, position=row.position, status=row.status,
        outcome=row.outcome, closed=view.closed,
        step=schemas.StepOut(
            id=step.id, kind=step.kind, title=step.title, text=step.body_html.striptags(),
            html=str(step.body_html),
            answers=[] if step.is_probe else [schemas.AnswerOut(id=a.id, label=a.label)
                                              for a in step.answers],
            outcome=step.outcome,
            check=schemas.CheckOut(id=view.checking.id, done=view.ready)
            if view.checking is not None else None),
        finding=schemas.FindingOut(outcome=finding.outcome, cause=finding.cause,
                                   title=customer_title(finding),
                                   explanation=customer_explanation(finding))
        if finding is not None else None,
        transcript=[schemas.LineOut(**{k: line[k] for k in schemas.LineOut.model_fields})
                    for line in in_language(view.transcript, flow)],
        earlier=view.earlier,
        feedback=schemas.FeedbackOut(reaction=view.feedback.reaction,
                                     comment=view.feedback.comment)
        if view.feedback is not None else None)


def _route_out(found) -> schemas.RouteOut:
    return schemas.RouteOut.model_validate(found.to_json())


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(schemas.openapi(request.script_root + bp.url_prefix))


@bp.post("/sessions")
def start():
    """Start a session (201), or with a launch token that started one already, that one
    (200); free text that fits no guide: 200 with ``session: null`` and the route."""
    body = _body(schemas.StartRequest)
    if (body.flow is None) == (body.text is None):
        raise Refusal(400, "invalid", "Send either flow or text.",
                      {"flow": "give flow or text, not both or neither"})
    c = conversations()
    language = body.language or current_language()
    if body.flow is not None:
        launch = c.verify_launch(body.launch, c.flow(body.flow).flow)
        found, started = None, c.start(body.flow, launch=launch, language=language)
    else:
        launch = c.verify_launch(body.launch, None)
        found, started = c.start_from_text(body.text, launch=launch, language=language)
    if started is None:
        return _ok(schemas.StartOut(session=None, route=_route_out(found)))
    return _ok(schemas.StartOut(session=session_out(c.view(started.session, start_check=True)),
                                route=_route_out(found) if found else None),
               200 if started.resumed else 201)


@bp.get("/sessions/<sid>")
def show(sid: str):
    """Where the session is (changes nothing: at a probe step whose check is not under way,
    ``step.check`` is null and a poll starts it)."""
    return _ok(session_out(conversations().view(sid)))


@bp.post("/sessions/<sid>/answers")
def answer(sid: str):
    body = _body(schemas.AnswerRequest)
    c = conversations()
    row, _ = c.load(sid)
    use_session_language(row.language)  # its refusals in its language
    n = row.position if body.position is None else body.position
    view = c.answer(sid, n, body.answer, body.revision)
    # The same answer again shows the step after it; the API always shows where it is.
    return _ok(session_out(view if view.current else c.view(view.session, start_check=True)))


@bp.post("/sessions/<sid>/match")
def match(sid: str):
    body = _body(schemas.MatchRequest)
    found = conversations().match_answer(sid, body.text)
    return _ok(schemas.MatchOut(answer=found.answer, candidates=list(found.candidates)))


@bp.post("/sessions/<sid>/poll")
def poll(sid: str):
    body = _body(schemas.PollRequest)
    c = conversations()
    row, _ = c.load(sid)
    use_session_language(row.language)  # its refusals in its language
    polled = c.poll(sid, row.position, body.revision, body.check)
    return _ok(schemas.PollOut(applied=polled.applied, session=session_out(c.view(
        polled.session, waiting_for=polled.check.id, start_check=True))))


@bp.post("/sessions/<sid>/feedback")
def feedback(sid: str):
    body = _body(schemas.FeedbackRequest)
    c = conversations()
    row, _ = c.load(sid)
    use_session_language(row.language)  # its refusals in its language
    if body.revision != row.revision:
        raise refused.Stale()
    c.give_feedback(sid, row.step, body.reaction, body.comment.strip(), body.revision)
    return _ok(session_out(c.view(sid)))


@bp.post("/sessions/<sid>/handoff")
def handoff(sid: str):
    body = _body(schemas.HandoffRequest)
    c = conversations()
    row, _ = c.load(sid)
    use_session_language(row.language)  # its refusals in its language
    made = c.hand_off(sid, body.revision, body.contact.strip(), body.message.strip())
    return _ok(schemas.HandoffOut(reference=f"H-{made.id:05d}", status=made.status), 201)


@bp.post("/route")
def route():
    body = _body(schemas.RouteRequest)
    return _ok(_route_out(conversations().route(body.text, body.language)))


def _staff():
    """The staff member of the request's Bearer token; 401 without a valid one (a console
    cookie is not enough)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    member = services().staff.by_api_token(token.strip()) if scheme.lower() == "bearer" \
        else None
    if member is None:
        raise Refusal(401, "unauthorized", "A staff API token is required "
                                           "(Authorization: Bearer TOKEN).")
    return member


def _staff_session(key: str):
    store = services().store
    row = store.session_by_code(key) if normalize_share_code(key) else None
    row = row or store.get_session(key)
    if row is None:
        raise refused.SessionNotFound()
    return row


def _staff_session_out(row) -> schemas.StaffSessionOut:
    return schemas.StaffSessionOut(
        id=row.id, code=row.code, flow_id=row.flow_id, flow_version=row.flow_version,
        status=row.status, outcome=row.outcome, cause=row.cause, customer=row.customer_ref,
        connection=row.connection_id, revision=row.revision, position=row.position,
        step=row.step, created_at=row.created_at.isoformat(),
        updated_at=row.updated_at.isoformat() if row.updated_at else None)


@bp.get("/staff/sessions/<sid>")
def staff_session(sid: str):
    _staff()
    return _ok(_staff_session_out(_staff_session(sid)))


@bp.get("/staff/sessions/<sid>/transcript")
def staff_transcript(sid: str):
    _staff()
    row, lines = conversations().transcript(_staff_session(sid).id)
    return _ok(schemas.TranscriptOut(
        session=_staff_session_out(row),
        transcript=[schemas.StaffLineOut(**{k: line.get(k) for k in
                                            schemas.StaffLineOut.model_fields})
                    for line in lines]))
