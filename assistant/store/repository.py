"""All reads and writes of the store. The web layer calls these; it never writes SQL itself.

The statements every answer runs (read the session, apply the answer, read the transcript
tail; at an end its feedback and handoff) are SQLAlchemy Core statements built once at import
with bound parameters, run on the driver's cursor (:mod:`.prepared`): the ORM's unit of work
and SQLAlchemy's execution cost more than the query itself at this size. They run on one
connection in one transaction when the caller opens a :meth:`Store.unit`. Everything else
uses ORM sessions.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    bindparam,
    case,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import configure_mappers, sessionmaker

from .models import Event, Feedback, FlowSession, Handoff, utcnow
from .prepared import Prepared
from .share_codes import new_share_code, normalize_share_code

_sessions = FlowSession.__table__
_events = Event.__table__
_EVERYTHING = 2**31 - 1

_GET_SESSION = Prepared(select(_sessions).where(_sessions.c.id == bindparam("sid")))
_PATH_TAIL = Prepared(select(_events.c.position, _events.c.from_step, _events.c.answer,
                     _events.c.to_step, _events.c.counters, _events.c.at,
                     _events.c.probe_check_id, _events.c.said)
              .where(_events.c.session_id == bindparam("sid"), _events.c.superseded == false(),
                     _events.c.position <= bindparam("upto"))
              .order_by(_events.c.position.desc()).limit(bindparam("last")))
_ADVANCE = Prepared(update(_sessions)
            .where(_sessions.c.id == bindparam("sid"),
                   _sessions.c.revision == bindparam("seen_revision"))
            .values(step=bindparam("new_step"), counters=bindparam("new_counters"),
                    flow_version=bindparam("new_flow_version"),
                    position=bindparam("new_position"), revision=_sessions.c.revision + 1,
                    status=bindparam("new_status"), outcome=bindparam("new_outcome"),
                    ended_at=bindparam("new_ended_at"), updated_at=bindparam("now"),
                    cause=func.coalesce(bindparam("new_cause"), _sessions.c.cause))
            .returning(*_sessions.c))
_SUPERSEDE = Prepared(update(_events)
              .where(_events.c.session_id == bindparam("sid"),
                     _events.c.position > bindparam("after"), _events.c.superseded == false())
              .values(superseded=True))
_ADD_EVENT = Prepared(insert(_events), keys=[
    c.key for c in _events.c if c.key != "id"])
_feedback = Feedback.__table__
_handoffs = Handoff.__table__
_FEEDBACK_AT = Prepared(select(_feedback).where(_feedback.c.session_id == bindparam("sid"),
                                                _feedback.c.revision == bindparam("revision")))
_HANDOFF_AT = Prepared(select(_handoffs).where(_handoffs.c.session_id == bindparam("sid"),
                                               _handoffs.c.revision == bindparam("revision")))
# A session's version changed (its flow file was edited mid-session): its rows' copies follow.
_NEW_VERSION = [Prepared(update(t).where(t.c.session_id == bindparam("sid"))
                         .values(session_version=bindparam("version")))
                for t in (_events, Feedback.__table__, Handoff.__table__)]


class StaleRevision(Exception):
    """The session changed since the page was shown (another tab, a double click, Back)."""


def as_utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; everything here is stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class TranscriptLine:
    """One answered step of a session's current path: its position (1 = first answer), the
    step answered, the answer id, the step it led to, counters after it, and when (UTC); at a
    probe step the answer is the check's outcome and ``probe_check_id`` the check; ``said``
    the free text the answer was chosen by, if it was typed."""

    position: int
    from_step: str
    answer: str
    to_step: str
    counters: dict
    at: datetime
    probe_check_id: int | None = None
    said: str | None = None


def _from_row(model, statement: Prepared, row: tuple):
    """A ``model`` instance in no ORM session holding ``row`` (a result row of ``statement``,
    which selects every column of the model's table, named as its attributes), built as the
    ORM's loader builds one: the values go into the instance's dict. ``model(**row)`` fires
    an attribute event per column, ~30 µs for a session row, and an answer builds two.
    Needs the mappers configured (see :class:`Store`): ``model(**row)`` would configure them,
    this does not.
    """
    obj = model._sa_class_manager.new_instance()
    obj.__dict__.update(zip(statement.column_keys, row, strict=True))
    return obj


# The connection of the unit open in this thread or task, with its engine (see Store.unit).
_UNIT: ContextVar[tuple[Engine, Connection] | None] = ContextVar("store_unit", default=None)


class Store:
    """Sessions, transcripts, feedback and handoffs in one SQL database.

    Every method runs in its own transaction and returns detached objects, except that the
    answer's statements (:meth:`get_session`, :meth:`transcript`, :meth:`record_answer`,
    :meth:`feedback_for`, :meth:`handoff_at`) join the :meth:`unit` open around them.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        # _from_row builds instances without the constructor, which is what configures the
        # mappers on first use: without this a fresh process's first read gives objects whose
        # attributes have no implementation yet (AttributeError on the first access).
        configure_mappers()
        self.Session = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def unit(self) -> Iterator[None]:
        """One connection and one transaction for the answer's statements called inside
        (listed in the class docstring): committed when the block ends, rolled back if it
        raises. A unit inside a unit of the same store is the outer one.

        Only those statements join it: any other store call inside gets its own connection,
        and on SQLite a write there would wait for this unit's write lock until its busy
        timeout, so callers make other writes (handoffs, checks) after the block.
        """
        active = _UNIT.get()
        if active is not None and active[0] is self.engine:
            yield
            return
        with self.engine.begin() as conn:
            token = _UNIT.set((self.engine, conn))
            try:
                yield
            finally:
                _UNIT.reset(token)

    @contextmanager
    def _connection(self, write: bool = False) -> Iterator[Connection]:
        """The open unit's connection, else a new one (in a transaction if ``write``)."""
        active = _UNIT.get()
        if active is not None and active[0] is self.engine:
            yield active[1]
            return
        with self.engine.begin() if write else self.engine.connect() as conn:
            yield conn

    def create_session(self, flow_id: str, flow_version: str, step: str,
                       connection_id: str | None = None, guided_by: int | None = None,
                       customer_ref: str | None = None, launch_jti: str | None = None,
                       opened_with: str | None = None, route_note: str | None = None,
                       language: str | None = None) -> FlowSession:
        """Start a session at ``step``; its id is 22 URL-safe characters (128 random bits) and
        its share code a fresh :func:`new_share_code`. ``connection_id`` names the connection
        its probe steps check (None: none chosen); ``guided_by`` the staff member who started
        it for a customer (guided mode); ``customer_ref`` and ``launch_jti`` the customer
        reference and id of the launch token that started it; ``language`` the language the
        customer reads it in (``"es"``). A launch token starts one
        session: if ``launch_jti`` started one already (two clicks at once), that one is
        returned instead. ``opened_with``: the free text the session was routed from;
        ``route_note``: what the router said about it (at most 300 characters).

        Raises:
            sqlalchemy.exc.IntegrityError: no free share code in 20 tries (the code space is
                nearly used up), or no such staff member.
        """
        for attempt in range(20):
            row = FlowSession(id=secrets.token_urlsafe(16), flow_id=flow_id,
                              flow_version=flow_version, step=step, counters={}, position=0,
                              revision=0, status="active", connection_id=connection_id,
                              code=new_share_code(), guided_by=guided_by,
                              customer_ref=customer_ref, launch_jti=launch_jti,
                              opened_with=opened_with,
                              route_note=route_note[:300] if route_note else None,
                              language=language)
            try:
                with self.Session.begin() as s:
                    s.add(row)
                return row
            except IntegrityError:
                if launch_jti and (earlier := self.session_by_launch(launch_jti)) is not None:
                    return earlier
                if attempt == 19 or self.session_by_code(row.code) is None:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def set_language(self, session_id: str, language: str) -> None:
        """The customer chose to read the session in ``language`` (its answers, revision and
        place are untouched: a language is no step)."""
        with self.Session.begin() as s:
            s.execute(update(FlowSession).where(FlowSession.id == session_id)
                      .values(language=language))

    def session_by_launch(self, jti: str) -> FlowSession | None:
        """The session the launch token with this ``jti`` started, or None."""
        with self.Session() as s:
            return s.scalars(select(FlowSession).where(FlowSession.launch_jti == jti)).first()

    def session_by_code(self, code: str) -> FlowSession | None:
        """The session whose share code is ``code`` (any spelling
        :func:`normalize_share_code` accepts), or None."""
        code = normalize_share_code(code)
        if code is None:
            return None
        with self.Session() as s:
            return s.scalars(select(FlowSession).where(FlowSession.code == code)).first()

    def get_session(self, session_id: str) -> FlowSession | None:
        """The session with this id (a detached object), or None."""
        with self._connection() as conn:
            rows = _GET_SESSION.run(conn, {"sid": session_id})
        return _from_row(FlowSession, _GET_SESSION, rows[0]) if rows else None

    def transcript(self, session_id: str, upto: int | None = None, last: int | None = None
             ) -> list[TranscriptLine]:
        """The answers of the session's current path, first first (superseded ones left out).

        ``upto``: only positions ≤ ``upto``; ``last``: only the last ``last`` of those (the
        cost then does not grow with the length of the path).
        """
        params = {"sid": session_id, "upto": _EVERYTHING if upto is None else upto,
                  "last": _EVERYTHING if last is None else last}
        with self._connection() as conn:
            rows = _PATH_TAIL.run(conn, params)
        # Rows are tuples in _PATH_TAIL's column order; the counters a fresh dict from JSON.
        return [TranscriptLine(position, from_step, answer, to_step, counters or {},
                               as_utc(at), check, said)
                for position, from_step, answer, to_step, counters, at, check, said
                in reversed(rows)]

    def record_answer(self, session: FlowSession, flow_version: str, at_position: int,
                      from_step: str, answer: str, to_step: str, counters: dict,
                      outcome: str | None, probe_check_id: int | None = None,
                      cause: str | None = None, said: str | None = None) -> FlowSession:
        """Apply one answer given at path position ``at_position`` of ``session`` as it was
        read; below its current position this replaces the later answers (kept, superseded).

        The update only happens if the session is still at ``session.revision``.
        ``outcome`` is set when ``to_step`` is an end; ``flow_version`` is the version of the
        flow the answer was given in (it changes when a flow file is edited mid-session).
        At a probe step, ``answer`` is the check's outcome, ``probe_check_id`` the check and
        ``cause`` the cause it diagnosed (kept on the session; None leaves it as it was).
        ``said``: the free text the answer was chosen by, if it was typed.
        The event records the time since the session's previous change as time spent on
        ``from_step``, and copies of the session's flow, start and version for analytics (a
        new version is copied onto the session's earlier events, feedback and handoffs too).
        Returns the updated session.

        Raises:
            StaleRevision: the session changed since it was read; nothing was changed.
        """
        now = utcnow()
        with self._connection(write=True) as conn:
            updated = _ADVANCE.run(conn, {
                "sid": session.id, "seen_revision": session.revision, "new_step": to_step,
                "new_flow_version": flow_version,
                "new_counters": counters, "new_position": at_position + 1,
                "new_status": "ended" if outcome else "active", "new_outcome": outcome,
                "new_ended_at": now if outcome else None, "now": now,
                "new_cause": cause})
            if not updated:
                raise StaleRevision(session.id)
            if at_position < session.position:
                _SUPERSEDE.run(conn, {"sid": session.id, "after": at_position})
            if flow_version != session.flow_version:
                for statement in _NEW_VERSION:
                    statement.run(conn, {"sid": session.id, "version": flow_version})
            _ADD_EVENT.run(conn, {
                "session_id": session.id, "position": at_position + 1, "from_step": from_step,
                "answer": answer, "to_step": to_step, "counters": counters,
                "superseded": False, "at": now, "probe_check_id": probe_check_id,
                "said": said,
                "flow_id": session.flow_id, "session_started_at": session.created_at,
                "session_version": flow_version,
                "spent_ms": max(0, round((now - as_utc(session.updated_at)).total_seconds()
                                         * 1000)) if session.updated_at else None})
        return _from_row(FlowSession, _ADVANCE, updated[0])

    def save_feedback(self, session: FlowSession, flow_version: str, reaction: str,
                      comment: str | None) -> bool:
        """Store feedback on the session's current end step, as shown from ``flow_version``;
        returns whether this call changed what was stored (False: the same reaction and
        comment were there already).

        Once per session revision: a second submit (a double click, another tab, two at the
        same moment) replaces the first instead of adding a row. Of identical submits at the
        same moment exactly one returns True: the database decides, not an earlier read.
        """
        values = {"reaction": reaction, "comment": comment, "flow_version": flow_version,
                  "created_at": utcnow(), "language": session.language}
        try:
            with self.Session.begin() as s:
                s.add(Feedback(session_id=session.id, revision=session.revision,
                               flow_id=session.flow_id, end_step=session.step,
                               session_started_at=session.created_at,
                               session_version=session.flow_version, **values))
            return True
        except IntegrityError:
            if self.feedback_for(session) is None:  # not the one-per-revision rule
                raise
            with self.Session.begin() as s:
                return s.execute(update(Feedback).where(
                    Feedback.session_id == session.id, Feedback.revision == session.revision,
                    or_(Feedback.reaction != reaction,
                        Feedback.comment.is_distinct_from(comment)))
                    .values(**values)).rowcount == 1

    def feedback_for(self, session: FlowSession) -> Feedback | None:
        """Feedback given on the session's current end step, if any."""
        with self._connection() as conn:
            rows = _FEEDBACK_AT.run(conn, {"sid": session.id, "revision": session.revision})
        return _from_row(Feedback, _FEEDBACK_AT, rows[0]) if rows else None

    def create_handoff(self, session: FlowSession, flow_version: str, reason: str,
                       transcript: list[dict], contact: str | None, message: str | None,
                       *, created_by: int | None = None,
                       also: Callable[[Handoff], object | None] | None = None) -> Handoff:
        """Record a request for a human with a snapshot of the transcript, once per session
        revision: if one exists already (a double submit), that one is returned.

        ``created_by`` is the staff member who made it (reason ``agent``). ``also`` is called
        with the new row (its id known) inside the same transaction and may return another
        row to store with it (the webhook delivery announcing it): both or neither are stored.

        Raises:
            sqlalchemy.exc.IntegrityError: for any other constraint (e.g. no such session).
        """
        row = Handoff(session_id=session.id, revision=session.revision, flow_id=session.flow_id,
                      flow_version=flow_version, step=session.step, reason=reason,
                      contact=contact, message=message, transcript=transcript, status="open",
                      created_by=created_by, created_at=utcnow(),
                      session_started_at=session.created_at,
                      session_version=session.flow_version, language=session.language)
        try:
            with self.Session.begin() as s:
                s.add(row)
                if also is not None:
                    s.flush()
                    extra = also(row)
                    if extra is not None:
                        s.add(extra)
        except IntegrityError:
            existing = self.handoff_at(session)
            if existing is None:
                raise
            return existing
        return row

    def add_to_handoff(self, handoff: Handoff, contact: str | None, message: str | None
                       ) -> tuple[Handoff, bool]:
        """Add what a later form (another tab) said to an existing handoff, so it is not lost:
        its contact if the handoff had none (another address goes into the message, "Also
        reachable at …", for staff to see), and its message unless the handoff has it already
        (a double submit). Each is one UPDATE computed by the database, so additions made at
        the same moment are all kept (a read, then a write, lost one of them). Returns the
        handoff as it is now and whether this call changed it (of identical submits at the
        same moment, only one did)."""
        h = Handoff
        changed = 0
        with self.Session.begin() as s:
            if contact:
                added = s.execute(update(h).where(h.id == handoff.id, h.contact.is_(None))
                                  .values(contact=contact)).rowcount
                changed += added
                kept = None if added else s.scalar(select(h.contact).where(h.id == handoff.id))
                if kept and kept.casefold() != contact.casefold():
                    also = f"Also reachable at {contact}"
                    message = f"{message}\n\n{also}" if message else also
            if message:
                changed += s.execute(update(h).where(h.id == handoff.id, or_(
                    h.message.is_(None), ~h.message.contains(message, autoescape=True)))
                    .values(message=case((h.message.is_(None), message),
                                         else_=h.message + "\n\n" + message))).rowcount
            row = s.get(h, handoff.id, populate_existing=True)
        return row, changed > 0

    def handoff_at(self, session: FlowSession) -> Handoff | None:
        """The handoff made at the session's current revision, if any."""
        with self._connection() as conn:
            rows = _HANDOFF_AT.run(conn, {"sid": session.id, "revision": session.revision})
        return _from_row(Handoff, _HANDOFF_AT, rows[0]) if rows else None

    def handoffs_for(self, session_id: str) -> list[Handoff]:
        """The session's handoffs, oldest first."""
        with self.Session() as s:
            return list(s.scalars(select(Handoff).where(Handoff.session_id == session_id)
                                  .order_by(Handoff.id)))
