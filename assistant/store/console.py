"""Read queries for the staff console's session pages, and staff notes.

- :func:`~.session_filter.parse_filter` turns the session list's query string into a
  :class:`~.session_filter.SessionFilter` (or raises a ``FilterError`` naming each bad field);
- :meth:`ConsoleQueries.sessions` gives one page (:data:`PAGE_SIZE` rows, newest first) of the
  sessions a filter matches, :meth:`ConsoleQueries.filter_options` the values the filter form
  offers;
- :meth:`ConsoleQueries.detail` gives everything the session view shows: the session, its
  transcript (current path, and the answers replaced by going back), the live checks each
  answer used, feedback, handoffs, notes;
- :meth:`ConsoleQueries.add_note` and :meth:`ConsoleQueries.notes` write and read staff notes.

A session's **state** as the console shows it is its outcome once ended (``resolved``,
``unresolved``, ``escalated``), else ``active``, or ``abandoned`` when its last answer (or its
start) is older than the ``abandoned_after`` the caller passes (the app's
``ABANDONED_AFTER_MINUTES``). Dates are UTC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from .models import Event, Feedback, FlowSession, Handoff, ProbeCheck, Staff, StaffNote, utcnow
from .probe_checks import CheckRecord, _record
from .repository import Store, as_utc
from .session_filter import ENDED_STATES, SessionFilter

PAGE_SIZE = 25
NOTE_MAX_CHARS = 4000


class NoteError(ValueError):
    """A note cannot be saved as written (empty, or too long); the message says why."""


@dataclass(frozen=True)
class SessionRow:
    """One line of the session list. Times are UTC; ``state`` one of
    :data:`~.session_filter.STATES`; ``step`` the id of the step the session is at now."""

    id: str
    code: str | None
    flow_id: str
    flow_version: str
    step: str
    state: str
    cause: str | None
    connection_id: str | None
    created_at: datetime
    updated_at: datetime
    customer_ref: str | None = None


@dataclass(frozen=True)
class SessionPage:
    """One page of the session list: ``rows`` (at most :data:`PAGE_SIZE`), ``total`` sessions
    matching, ``page`` shown (1-based, the last page if more was asked), ``pages`` in all
    (at least 1, even when nothing matches)."""

    rows: list[SessionRow]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class FilterOptions:
    """What the filter form offers: the flow ids, connection ids and diagnosed causes that
    sessions have (sorted; flows the app serves but nobody walked yet are the caller's to
    add)."""

    flow_ids: list[str]
    connection_ids: list[str]
    causes: list[str]


@dataclass(frozen=True)
class TranscriptEntry:
    """One answer of a session, as the session view shows it.

    ``position`` is its place in the path (1 = first answer); ``spent_ms`` the time spent on
    ``from_step`` before answering, in milliseconds (None for answers recorded before it was
    measured); ``superseded`` is True for an answer replaced by going back and choosing again;
    ``probe_check_id``/``check`` the live check a probe step's answer came from (None
    elsewhere); ``said`` the free text the customer typed for it, if they typed it.
    """

    position: int
    from_step: str
    answer: str
    to_step: str
    at: datetime
    spent_ms: int | None
    superseded: bool
    probe_check_id: int | None
    check: CheckRecord | None
    said: str | None = None


@dataclass(frozen=True)
class NoteView:
    """A staff note: its text, who wrote it (email) and when (UTC)."""

    id: int
    session_id: str
    body: str
    author: str
    created_at: datetime


@dataclass(frozen=True)
class SessionDetail:
    """Everything the session view shows.

    ``path``: the current path's answers, first first; ``superseded``: answers replaced by
    going back, oldest first; ``feedback``: every "Did this answer your question?" reply,
    oldest first (one per end reached); ``handoffs`` oldest first; ``notes`` oldest first;
    ``staff``: email by staff id, for ``session.guided_by`` and the handoffs' ``created_by``
    and ``taken_by``; ``state`` as in :data:`~.session_filter.STATES`.
    """

    session: FlowSession
    state: str
    path: list[TranscriptEntry]
    superseded: list[TranscriptEntry]
    feedback: list[Feedback]
    handoffs: list[Handoff]
    notes: list[NoteView]
    staff: dict[int, str]


def session_state(status: str, outcome: str | None, updated_at: datetime, now: datetime,
                  abandoned_after: timedelta) -> str:
    """A session's state (see the module docstring) from its columns, at time ``now``."""
    if status == "ended" and outcome in ENDED_STATES:
        return outcome
    return "abandoned" if as_utc(updated_at) < now - abandoned_after else "active"


class ConsoleQueries:
    """The console's reads of sessions, and staff notes, on the database of ``store``.

    Every method runs in its own transaction and returns detached objects.
    """

    def __init__(self, store: Store):
        self.store = store
        self.Session = store.Session

    # -- the session list ---------------------------------------------------------------------

    @staticmethod
    def _where(f: SessionFilter, cutoff: datetime) -> list:
        s = FlowSession
        conditions = []
        if f.flow_id:
            conditions.append(s.flow_id == f.flow_id)
        if f.connection_id:
            conditions.append(s.connection_id == f.connection_id)
        if f.cause:
            conditions.append(s.cause == f.cause)
        if f.code:
            conditions.append(s.code == f.code)
        if f.customer_ref:
            conditions.append(s.customer_ref == f.customer_ref)
        if f.state in ENDED_STATES:
            conditions += [s.status == "ended", s.outcome == f.state]
        elif f.state == "active":
            conditions += [s.status == "active", s.updated_at >= cutoff]
        elif f.state == "abandoned":
            conditions += [s.status == "active", s.updated_at < cutoff]
        if f.created_from:
            conditions.append(s.created_at >= datetime.combine(f.created_from, time(), UTC))
        if f.created_to and f.created_to < date.max:
            conditions.append(s.created_at < datetime.combine(
                f.created_to + timedelta(days=1), time(), UTC))
        return conditions

    def sessions(self, f: SessionFilter, abandoned_after: timedelta,
                 now: datetime | None = None) -> SessionPage:
        """The page ``f.page`` of the sessions ``f`` matches, newest first (by start time).

        A page past the end gives the last page (page 1, empty, when nothing matches).
        ``abandoned_after``: how long without an answer makes an active session abandoned.
        """
        now = now or utcnow()
        cutoff = now - abandoned_after
        where = self._where(f, cutoff)
        with self.Session() as s:
            total = s.scalar(select(func.count()).select_from(FlowSession).where(*where))
            pages = max(1, math.ceil(total / PAGE_SIZE))
            page = min(f.page, pages)
            rows = s.execute(
                select(FlowSession.id, FlowSession.code, FlowSession.flow_id,
                       FlowSession.flow_version, FlowSession.step, FlowSession.status,
                       FlowSession.outcome, FlowSession.cause, FlowSession.connection_id,
                       FlowSession.created_at, FlowSession.updated_at,
                       FlowSession.customer_ref)
                .where(*where)
                .order_by(FlowSession.created_at.desc(), FlowSession.id.desc())
                .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
        return SessionPage(
            rows=[SessionRow(id=r.id, code=r.code, flow_id=r.flow_id,
                             flow_version=r.flow_version, step=r.step,
                             state=session_state(r.status, r.outcome, r.updated_at, now,
                                                 abandoned_after),
                             cause=r.cause, connection_id=r.connection_id,
                             created_at=as_utc(r.created_at), updated_at=as_utc(r.updated_at),
                             customer_ref=r.customer_ref)
                  for r in rows],
            total=total, page=page, pages=pages)

    def filter_options(self) -> FilterOptions:
        """The distinct flow ids, connection ids and causes of all sessions, each sorted."""
        with self.Session() as s:
            def distinct(column) -> list[str]:
                return sorted(s.scalars(select(column).where(column.is_not(None)).distinct()))
            return FilterOptions(flow_ids=distinct(FlowSession.flow_id),
                                 connection_ids=distinct(FlowSession.connection_id),
                                 causes=distinct(FlowSession.cause))

    # -- one session --------------------------------------------------------------------------

    def detail(self, session_id: str, abandoned_after: timedelta,
               now: datetime | None = None) -> SessionDetail | None:
        """Everything about one session (see :class:`SessionDetail`), or None if there is
        no session with this id."""
        session = self.store.get_session(session_id)
        if session is None:
            return None
        check = aliased(ProbeCheck)
        with self.Session() as s:
            events = s.execute(
                select(Event, check).outerjoin(check, check.id == Event.probe_check_id)
                .where(Event.session_id == session_id)
                .order_by(Event.position, Event.id)).all()
            feedback = list(s.scalars(select(Feedback).where(Feedback.session_id == session_id)
                                      .order_by(Feedback.id)))
        entries = [TranscriptEntry(position=e.position, from_step=e.from_step, answer=e.answer,
                                   to_step=e.to_step, at=as_utc(e.at), spent_ms=e.spent_ms,
                                   superseded=e.superseded, probe_check_id=e.probe_check_id,
                                   check=_record(c) if c is not None else None,
                                   said=e.said)
                   for e, c in events]
        superseded = sorted((e for e in entries if e.superseded), key=lambda e: e.at)
        handoffs = self.store.handoffs_for(session_id)
        ids = {session.guided_by} | {h.created_by for h in handoffs} | \
            {h.taken_by for h in handoffs}
        return SessionDetail(
            session=session,
            state=session_state(session.status, session.outcome, session.updated_at,
                                now or utcnow(), abandoned_after),
            path=[e for e in entries if not e.superseded], superseded=superseded,
            feedback=feedback, handoffs=handoffs, notes=self.notes(session_id),
            staff=self._emails({i for i in ids if i is not None}))

    def _emails(self, staff_ids: set[int]) -> dict[int, str]:
        if not staff_ids:
            return {}
        with self.Session() as s:
            # .all(): a Result is not a mapping (SQLAlchemy 2.1's tuples() returns the
            # Result itself, whose keys() made dict() index it by column name).
            return dict(s.execute(select(Staff.id, Staff.email)
                                  .where(Staff.id.in_(staff_ids))).all())

    # -- notes --------------------------------------------------------------------------------

    def notes(self, session_id: str) -> list[NoteView]:
        """The session's staff notes, oldest first, with their authors' emails."""
        with self.Session() as s:
            rows = s.execute(select(StaffNote, Staff.email)
                             .join(Staff, Staff.id == StaffNote.staff_id)
                             .where(StaffNote.session_id == session_id)
                             .order_by(StaffNote.id)).all()
        return [NoteView(n.id, n.session_id, n.body, email, as_utc(n.created_at))
                for n, email in rows]

    def add_note(self, session_id: str, staff_id: int, body: str) -> NoteView:
        """Save a note by ``staff_id`` on the session. ``body`` is plain text; it is stored
        trimmed, with CRLF line breaks as LF, and must then have 1 to :data:`NOTE_MAX_CHARS`
        characters.

        Raises:
            NoteError: the note is empty or too long (nothing is saved).
            sqlalchemy.exc.IntegrityError: no such session or staff member.
        """
        text = check_note(body)
        row = StaffNote(session_id=session_id, staff_id=staff_id, body=text,
                        created_at=utcnow())
        with self.Session.begin() as s:
            s.add(row)
            s.flush()
            email = s.scalar(select(Staff.email).where(Staff.id == staff_id))
        return NoteView(row.id, session_id, text, email, as_utc(row.created_at))


def check_note(body: str) -> str:
    """``body`` as a note is stored (trimmed, CRLF → LF).

    Raises:
        NoteError: it is empty, or longer than :data:`NOTE_MAX_CHARS` characters.
    """
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise NoteError("The note is empty: write something first.")
    if len(text) > NOTE_MAX_CHARS:
        raise NoteError(f"Your note has {len(text):,} characters; the limit is "
                        f"{NOTE_MAX_CHARS:,}. Please shorten it.")
    return text
