"""The JSON API's request and response bodies as pydantic models: requests are validated with
them and the OpenAPI document (:func:`openapi`) is generated from them, so the two cannot
disagree."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from ..i18n import languages

# No NUL (PostgreSQL text cannot hold it), bounded lengths, row-sized integers.
Text = Annotated[str, Field(max_length=4000, pattern=r"^[^\x00]*$")]
# what a customer wrote to be read (routed, matched): something besides spaces, as the web form
Words = Annotated[str, Field(max_length=4000, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Revision = Annotated[int, Field(ge=0, le=2**31 - 1, strict=True)]  # "1" is no revision
# The customer's language (the UI catalogues and flows shipped): free text is read in it, and
# the router and the session answer in it.
Language = Literal[languages()]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartRequest(_Request):
    """Start a session: ``flow`` (a guide's id) or ``text`` (the customer's words or a pasted
    error, routed to a guide and step); ``launch``: a launch token binding a connection;
    ``language``: the customer's (default: the request's ``Accept-Language``, else English):
    ``text`` is read in it, the session keeps it, its texts and refusals come in it."""

    flow: Id | None = None
    text: Words | None = None
    launch: Annotated[str, Field(max_length=4000, pattern=r"^[^\x00]*$")] | None = None
    language: Language | None = None



class AnswerRequest(_Request):
    """Answer the step at ``position`` (default: the current one), seen at ``revision``."""

    answer: Id
    revision: Revision
    position: Revision | None = None


class MatchRequest(_Request):
    """Free text typed at the current step."""

    text: Words


class PollRequest(_Request):
    """Poll the current probe step's check, seen at ``revision``; ``check``: its id."""

    revision: Revision
    check: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


class FeedbackRequest(_Request):
    """"Did this answer your question?" at the session's current end."""

    reaction: Literal["yes", "partly", "no"]
    comment: Text = ""
    revision: Revision


class HandoffRequest(_Request):
    """Ask for a person; ``contact`` an email address (optional)."""

    revision: Revision
    contact: Annotated[str, Field(max_length=254, pattern=r"^[^\x00]*$")] = ""
    message: Text = ""


class RouteRequest(_Request):
    """Free ``text`` written in ``language``; the route's sentences are in it too."""

    text: Words
    language: Language = "en"


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] | None = None


class Error(BaseModel):
    """Every refusal: ``{"error": {"code", "message"}}`` (``fields`` for invalid fields)."""

    error: ErrorBody


class AnswerOut(BaseModel):
    id: str
    label: str


class CheckOut(BaseModel):
    """The live check a probe step waits for: ``done`` once its outcome is known (poll to
    apply it); ``id`` null when nothing had to be called (no connection to check). A probe
    step whose ``check`` is null has none under way (reading a session starts none): a poll
    starts it."""

    id: int | None
    done: bool


class FindingOut(BaseModel):
    """What a live check found, in the customer's words (evidence is for staff)."""

    outcome: str | None
    cause: str | None
    title: str | None
    explanation: str


class StepOut(BaseModel):
    id: str
    kind: Literal["question", "instruction", "probe", "end"]
    title: str
    text: str
    html: str
    answers: list[AnswerOut]
    outcome: str | None
    check: CheckOut | None


class LineOut(BaseModel):
    position: int
    step: str
    step_title: str
    answer: str
    answer_label: str
    at: str


class FlowOut(BaseModel):
    id: str
    title: str
    version: str


class FeedbackOut(BaseModel):
    reaction: str
    comment: str | None


class SessionOut(BaseModel):
    """A session where it is now: its step, the answers so far (the last 10), what the last
    check found and its ``revision``, which every change must carry."""

    id: str
    code: str
    language: Language
    flow: FlowOut
    revision: int
    position: int
    status: Literal["active", "ended"]
    outcome: str | None
    closed: bool
    step: StepOut
    finding: FindingOut | None
    transcript: list[LineOut]
    earlier: int
    feedback: FeedbackOut | None


class AlternativeOut(BaseModel):
    flow: str
    title: str
    confidence: float


class RouteOut(BaseModel):
    """Where free text leads: a guide and step (``cause`` if one was recognised), a clarifying
    ``question``, or neither (no guide fits)."""

    flow: str | None
    step: str | None
    cause: str | None
    confidence: float
    question: str | None
    message: str
    signal: str | None
    alternatives: list[AlternativeOut]


class StartOut(BaseModel):
    """``session``: the session started (or resumed by its launch token), None when free
    text led to no guide; ``route``: where the text led (None when a flow was named)."""

    session: SessionOut | None
    route: RouteOut | None


class MatchOut(BaseModel):
    """``answer``: the answer id the text means (post it to apply it), or None with the
    ``candidates`` to ask about (empty: none fits)."""

    answer: str | None
    candidates: list[str]


class PollOut(BaseModel):
    """``applied``: this poll applied the finished check (the session moved on)."""

    applied: bool
    session: SessionOut


class HandoffOut(BaseModel):
    reference: str
    status: str


class StaffLineOut(LineOut):
    check: dict | None = None


class StaffSessionOut(BaseModel):
    """A session as staff see it (any session, by share code or id)."""

    id: str
    code: str
    flow_id: str
    flow_version: str
    status: str
    outcome: str | None
    cause: str | None
    customer: str | None
    connection: str | None
    revision: int
    position: int
    step: str
    created_at: str
    updated_at: str | None


class TranscriptOut(BaseModel):
    session: StaffSessionOut
    transcript: list[StaffLineOut]


MODELS = [StartRequest, AnswerRequest, MatchRequest, PollRequest, FeedbackRequest,
          HandoffRequest, RouteRequest, Error, StartOut, SessionOut, MatchOut, PollOut,
          HandoffOut, RouteOut, StaffSessionOut, TranscriptOut]


def _ref(model) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model) -> dict:
    return {"application/json": {"schema": _ref(model)}}


def _op(summary: str, ok: int, out, body=None, errors=(400, 404, 409), staff: bool = False,
        sid: bool = True) -> dict:
    op: dict = {"summary": summary, "responses": {
        str(ok): {"description": "OK", "content": _json(out)},
        **{str(e): {"description": "Refused", "content": _json(Error)}
           for e in sorted({*errors, 413, 415, 503} if body else {*errors, 503})}}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": _json(body)}
    if sid:
        op["parameters"] = [{"name": "sid", "in": "path", "required": True,
                             "schema": {"type": "string", "maxLength": 100}}]
    if staff:
        op["security"] = [{"staffToken": []}]
    return op


def _start_op() -> dict:
    op = _op("Start a session (flow, or free text routed to one)", 201, StartOut,
             StartRequest, (400, 404, 410), sid=False)
    op["responses"]["200"] = {"description": "The session the launch token started already, "
                                             "or (session null) no guide fits the text",
                              "content": _json(StartOut)}
    return op


def openapi(server: str = "/api/v1") -> dict:
    """The OpenAPI 3.1 document of ``/api/v1`` (paths relative to ``server``)."""
    _, defs = models_json_schema([(m, "validation" if m.__name__.endswith("Request")
                                   else "serialization") for m in MODELS],
                                 ref_template="#/components/schemas/{model}")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Troubleshooting assistant API", "version": "1",
                 "description": "Sessions walked through guides, for chat apps, ticket "
                                "sidebars and mobile apps. Sessions are addressed by their "
                                "unguessable id; every change carries the session's revision "
                                "(409 when stale)."},
        "servers": [{"url": server}],
        "paths": {
            "/sessions": {"post": _start_op()},
            "/sessions/{sid}": {"get": _op("Where the session is", 200, SessionOut, None,
                                           (404, 410))},
            "/sessions/{sid}/answers": {"post": _op("Answer a step", 200, SessionOut,
                                                    AnswerRequest, (400, 404, 409, 410))},
            "/sessions/{sid}/match": {"post": _op("Free text to an answer of the current step",
                                                  200, MatchOut, MatchRequest, (400, 404, 410))},
            "/sessions/{sid}/poll": {"post": _op("Poll the current step's live check",
                                                 200, PollOut, PollRequest,
                                                 (400, 404, 409, 410))},
            "/sessions/{sid}/feedback": {"post": _op("Did this answer your question?", 200,
                                                     SessionOut, FeedbackRequest,
                                                     (400, 404, 409, 410))},
            "/sessions/{sid}/handoff": {"post": _op("Ask for a person", 201, HandoffOut,
                                                    HandoffRequest, (400, 404, 409, 410))},
            "/route": {"post": _op("Where free text leads", 200, RouteOut, RouteRequest,
                                   (400,), sid=False)},
            "/staff/sessions/{sid}": {"get": _op("A session, by id or share code (staff)", 200,
                                                 StaffSessionOut, None, (401, 404),
                                                 staff=True)},
            "/staff/sessions/{sid}/transcript": {"get": _op(
                "A session's whole transcript with each check's evidence (staff)", 200,
                TranscriptOut, None, (401, 404, 410), staff=True)},
        },
        "components": {"schemas": defs["$defs"],
                       "securitySchemes": {"staffToken": {
                           "type": "http", "scheme": "bearer",
                           "description": "A token from `assistant staff token EMAIL`."}}},
    }
