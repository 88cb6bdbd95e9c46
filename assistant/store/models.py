"""SQLAlchemy 2 models: sessions, their events (the transcript), feedback, handoffs, and the
results of live connection checks."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """The declarative base: ``Base.metadata`` is the schema the migrations build."""


class FlowSession(Base):
    """One person's walk through one flow.

    ``flow_version`` is the version of the flow file of the last answer (or the start).
    ``position`` is how many answers the current path holds (0 at the start); ``revision`` goes
    up by one with every change and guards against stale or doubled submits. ``status`` is
    ``active`` or ``ended``; ``outcome`` is the end step's outcome once ended.

    ``code`` is the short share code the customer reads out to support ("K7-4QX"), unique.
    ``cause`` is the cause the last live check diagnosed (None before any, or when it found
    the connection working). ``guided_by`` is the staff member who started the session for a
    customer on the phone (guided mode). ``updated_at`` is the time of the last answer (or the
    start): a session still active long after it has been abandoned.

    A session started from a launch token (see :mod:`assistant.launch`) keeps the host's
    opaque ``customer_ref`` (what support looks the customer up by) and the token's
    ``launch_jti``, unique: one token starts one session.

    A session started from free text keeps the customer's words (``opened_with``) and what
    the router said about them (``route_note``, "We recognised …").
    """

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_flow_created", "flow_id", "created_at"),
        # Analytics: a flow's sessions counted by step, state and cause from the index alone,
        # in its order (no sort), whatever the date range.
        Index("ix_sessions_flow_figures", "flow_id", "step", "status", "outcome", "cause",
              "created_at", "updated_at", "flow_version", "id"),
        # Analytics: the versions of a flow its sessions have, grouped in index order.
        Index("ix_sessions_flow_version", "flow_id", "flow_version", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[str] = mapped_column(String(12))
    step: Mapped[str] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(8), unique=True, index=True)
    cause: Mapped[str | None] = mapped_column(String(96))
    guided_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", name="fk_sessions_guided_by_staff"))
    counters: Mapped[dict] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    outcome: Mapped[str | None] = mapped_column(String(16))
    connection_id: Mapped[str | None] = mapped_column(String(64))
    customer_ref: Mapped[str | None] = mapped_column(String(200), index=True)
    # The language the customer reads it in ("es"; None before languages: English).
    language: Mapped[str | None] = mapped_column(String(16))
    launch_jti: Mapped[str | None] = mapped_column(String(128), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_with: Mapped[str | None] = mapped_column(Text)
    route_note: Mapped[str | None] = mapped_column(String(300))


class ProbeCheck(Base):
    """One live check of a connection, as the wizard used it: what was diagnosed, the evidence
    (status codes, error codes, quota numbers — never secrets), how long it took.

    ``state`` is ``running`` until the check finishes, then ``done``. ``outcome`` is what a
    probe step branches on: ``connected``, a cause id, ``unknown``, ``timeout`` or
    ``unavailable``; ``cause`` is the diagnosis proper. ``latency_ms`` is wall time in
    milliseconds. A check with no ``connection_id`` found no connection to check. ``owner``
    is ``host:pid`` of the process running it (a dead owner's check is superseded at once).
    """

    __tablename__ = "probe_checks"
    __table_args__ = (Index("ix_probe_checks_connection", "connection_id", "probe", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[str | None] = mapped_column(String(64))
    probe: Mapped[str] = mapped_column(String(96))
    state: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(96))
    cause: Mapped[str | None] = mapped_column(String(96))
    title: Mapped[str | None] = mapped_column(String(200))
    explanation: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    owner: Mapped[str | None] = mapped_column(String(128))


class ProbeClaim(Base):
    """The latest check of each (connection, probe): whoever moves ``claimed_at`` forward may
    call the upstream; nobody may while it is younger than the TTL. One row per pair, shared by
    every worker and process through the database."""

    __tablename__ = "probe_claims"

    connection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    probe: Mapped[str] = mapped_column(String(96), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    check_id: Mapped[int | None] = mapped_column(ForeignKey("probe_checks.id"))


class Event(Base):
    """One answer: from which step, by which answer, to which step, with counters after it.
    At a probe step the answer is the check's outcome and ``probe_check_id`` names the check.

    ``position`` is the answer's place in the path (1 for the first answer). An answer that was
    replaced because the user went back and chose differently is kept, ``superseded``.
    ``spent_ms`` is the time spent on ``from_step`` before answering, in milliseconds: from the
    session's previous change (its previous answer, or its start) to this answer.

    ``flow_id``, ``session_started_at`` and ``session_version`` are the session's flow, start
    and current ``flow_version``, copied from it (the store updates ``session_version`` on
    every row of the session when the session's version changes), so that analytics reads a
    flow's answers from one index without joining the sessions (see
    :mod:`assistant.store.analytics`).
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_session_position", "session_id", "position"),
        # Analytics, current paths only: sessions per step (ordered by session, so counting
        # distinct sessions needs no sort) and the median time per step (ordered by time; timed
        # answers only, which also keeps the planner from taking it for the count).
        Index("ix_events_flow_step_session", "flow_id", "from_step", "session_id",
              "session_started_at", "session_version", "spent_ms", "superseded",
              sqlite_where=text("superseded = 0"), postgresql_where=text("NOT superseded")),
        Index("ix_events_flow_step_spent", "flow_id", "from_step", "spent_ms",
              "session_started_at", "session_version", "superseded",
              sqlite_where=text("superseded = 0 AND spent_ms IS NOT NULL"),
              postgresql_where=text("NOT superseded AND spent_ms IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    from_step: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(String(64))
    to_step: Mapped[str] = mapped_column(String(64))
    counters: Mapped[dict] = mapped_column(JSON, default=dict)
    superseded: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    probe_check_id: Mapped[int | None] = mapped_column(ForeignKey("probe_checks.id"))
    said: Mapped[str | None] = mapped_column(Text)  # the free text the answer was chosen by
    spent_ms: Mapped[int | None] = mapped_column(Integer)
    flow_id: Mapped[str | None] = mapped_column(String(64))
    session_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    session_version: Mapped[str | None] = mapped_column(String(12))


class _OnePerRevision:
    """Columns of a record made at one revision of a session, at most one per revision: the
    same page sent twice finds the first record; a changed path can make a new one.

    ``language`` is the session's language at the time.

    ``session_started_at`` and ``session_version`` are the session's start and current
    ``flow_version``, copied from it (kept up to date by the store, as on
    :class:`Event`), so that analytics selects a flow's records without joining the
    sessions.
    """

    __table_args__ = (UniqueConstraint("session_id", "revision"),)  # also the session index

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    flow_id: Mapped[str] = mapped_column(String(64), index=True)
    flow_version: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    session_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    session_version: Mapped[str | None] = mapped_column(String(12))
    # The session's language when it was made (None before languages: English).
    language: Mapped[str | None] = mapped_column(String(16))


class Feedback(_OnePerRevision, Base):
    """The answer to "Did this answer your question?" at an end step.

    ``reaction`` is ``yes``, ``partly`` or ``no``; submitting the same end page twice updates
    the row instead of adding another.
    """

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("session_id", "revision"),  # one per revision, as the mixin's
        # Analytics: reactions of a flow's sessions by start (grouped in index order); the
        # latest comments, newest first.
        Index("ix_feedback_flow_reaction", "flow_id", "reaction", "session_started_at",
              "session_version"),
        Index("ix_feedback_flow_comments", "flow_id", "created_at", "session_started_at",
              "session_version",
              sqlite_where=text("comment IS NOT NULL AND comment != ''"),
              postgresql_where=text("comment IS NOT NULL AND comment != ''")),
    )

    end_step: Mapped[str] = mapped_column(String(64))
    reaction: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)


class Handoff(_OnePerRevision, Base):
    """A request for a human, with a snapshot of the transcript (a list of dicts) at that time.

    ``reason`` is ``unresolved_end``, ``negative_feedback``, ``customer_request`` or ``agent``
    (a staff member handed it on). ``status`` is ``open``, ``taken`` (by ``taken_by``) or
    ``closed``; ``created_by`` is the staff member who made an ``agent`` handoff.
    """

    __tablename__ = "handoffs"
    __table_args__ = (
        UniqueConstraint("session_id", "revision"),  # one per revision, as the mixin's
        # Analytics: the sessions of a flow with a handoff (counted in index order), by start.
        Index("ix_handoffs_flow_session", "flow_id", "session_id", "session_started_at",
              "session_version"),
    )

    step: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    contact: Mapped[str | None] = mapped_column(String(254))
    message: Mapped[str | None] = mapped_column(Text)
    transcript: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", name="fk_handoffs_created_by_staff"))
    taken_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", name="fk_handoffs_taken_by_staff"))
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Staff(Base):
    """A support-staff account for the console.

    ``email`` is stored lower-case and is unique. ``password_hash`` is an Argon2id hash
    (argon2-cffi's defaults, RFC 9106's second recommended parameter set). ``role`` is
    ``agent`` or ``admin``; an inactive account cannot log in.
    """

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StaffNote(Base):
    """A note a staff member wrote on a session (plain text, shown in the console only)."""

    __tablename__ = "staff_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    """One event to send to the outbound webhook (today: a new handoff).

    ``body`` is the exact JSON text sent (and signed). ``state`` is ``pending`` (waiting for
    ``next_attempt_at``), ``sending`` (claimed by ``owner``, ``host:pid``), ``delivered`` or
    ``failed`` (attempts used up). ``attempts`` counts the attempts made.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event: Mapped[str] = mapped_column(String(64))
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    owner: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookAttempt(Base):
    """One attempt to deliver a :class:`WebhookDelivery`: when, the HTTP status answered (None
    if there was no answer), the error text for a failure, and how long it took in ms."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id",
                                                        ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)


class FlowVersion(Base):
    """One version of a flow file the server has served: its text, by content hash, so that a
    session keeps walking the version it started on after the file changes.

    ``version`` is the first 12 hex digits of the SHA-256 of ``content`` (as
    :attr:`~assistant.flow.model.Flow.version` and ``FlowSession.flow_version``); ``sha256``
    the whole digest. ``first_served_at`` is when a server first loaded it.
    """

    __tablename__ = "flow_versions"

    flow_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(12), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    file: Mapped[str] = mapped_column(String(1000))
    first_served_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StaffLogin(Base):
    """One console login: the cookie carries its random token, the row its SHA-256
    (``token_hash``), so a copied cookie can be ended on the server. ``ended_at`` is set at
    logout, at a password change and at deactivation; a login also ends
    ``STAFF_LOGIN_HOURS`` after ``created_at``."""

    __tablename__ = "staff_logins"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"),
                                          index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StaffApiToken(Base):
    """A staff member's token for the JSON API's staff endpoints (``Authorization: Bearer``),
    made by ``assistant staff token EMAIL``. Only its SHA-256 (``token_hash``) is stored; it
    stops working when ``revoked_at`` is set or the account is deactivated."""

    __tablename__ = "staff_api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"),
                                          index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RateLimitCounter(Base):
    """A fixed-window counter of the ``limits`` library (failed console logins), shared by
    every process through the database: ``count`` hits until ``expires_at`` (Unix seconds)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
class ArticleFeedback(Base):
    """A reader's answer to a help-center article's own "Did this answer your question?"
    (the widget of ``/embed.js``), outside any session.

    ``article`` is the article's id or URL as the page gave it (a URL without its query and
    fragment), ``section`` the part of it the widget sits under (None: the whole article).
    ``reaction`` is ``yes``, ``partly`` or ``no``. ``flow_id`` is the guide offered to an
    unhappy reader (None: no guide matched; set when they start one), ``session_id`` the guide
    session that reaction opened. ``form_id`` is the random id of the form shown, so that the
    same form sent twice (a double click, Back and send) changes one row instead of adding one.
    """

    __tablename__ = "article_feedback"
    __table_args__ = (Index("ix_article_feedback_flow_created", "flow_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    form_id: Mapped[str] = mapped_column(String(32), unique=True)
    article: Mapped[str] = mapped_column(String(300))
    section: Mapped[str | None] = mapped_column(String(120))
    reaction: Mapped[str] = mapped_column(String(16))
    flow_id: Mapped[str | None] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL", name="fk_article_feedback_session"),
        index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)
