"""The handoff queue: lists by status, one handoff with everything it carries, and the changes
staff make (take, take over, release, close, reopen).

Every change is one conditional ``UPDATE … WHERE status = <seen> AND taken_by IS <seen>``: the
form carries the state its page showed, and only the first of two agents clicking at once
changes anything. The other gets :class:`QueueConflict` with the handoff as it is now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, false, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from .models import Event, Feedback, FlowSession, Handoff, Staff, utcnow
from .repository import as_utc

STATUSES = ("open", "taken", "closed")
ACTIONS = ("take", "take_over", "release", "close", "reopen")

_h = Handoff.__table__
_taker = aliased(Staff.__table__, name="taker")
_maker = aliased(Staff.__table__, name="maker")
_f = Feedback.__table__
_s = FlowSession.__table__


class QueueConflict(Exception):
    """The handoff is no longer as the page showed it (someone else acted first), or the
    action does not apply to it. ``current`` is the handoff as it is now (a
    :class:`HandoffView`), None if it no longer exists."""

    def __init__(self, current: HandoffView | None):
        super().__init__("the handoff changed")
        self.current = current


@dataclass(frozen=True)
class HandoffView:
    """A handoff with what the queue and its page show beside it. Times are UTC.

    ``transcript`` is the snapshot taken when it was made (see
    :meth:`assistant.conversation.Handoffs.snapshot`); ``code`` the session's share code and
    ``customer_ref`` its customer reference from the launch token (None without one);
    ``reaction``/``comment`` the feedback given at the same session revision (None if none);
    ``created_by_email``/``taken_by_email`` the staff members' addresses.
    """

    id: int
    session_id: str
    revision: int
    flow_id: str
    flow_version: str
    step: str
    reason: str
    status: str
    contact: str | None
    message: str | None
    transcript: list
    created_at: datetime
    created_by: int | None
    created_by_email: str | None
    taken_by: int | None
    taken_by_email: str | None
    taken_at: datetime | None
    closed_at: datetime | None
    code: str | None
    reaction: str | None
    comment: str | None
    customer_ref: str | None = None
    language: str | None = None  # the session's language when it was made (None: English)

    @property
    def reference(self) -> str:
        """The reference customers are given, e.g. ``H-00042``."""
        return f"H-{self.id:05d}"

    @property
    def checks(self) -> list[dict]:
        """The live checks of the path (each line's ``check``), first first."""
        return [line["check"] for line in self.transcript or [] if line.get("check")]

    @property
    def cause(self) -> str | None:
        """The cause the last live check of the path diagnosed (a catalogue id such as
        ``salesforce.oauth_incomplete``), or None (no check, or none found a cause)."""
        causes = [c["cause"] for c in self.checks if "." in (c.get("cause") or "")]
        return causes[-1] if causes else None


def _select():
    return (select(_h, _s.c.code, _s.c.customer_ref, _f.c.reaction, _f.c.comment,
                   _maker.c.email.label("created_by_email"),
                   _taker.c.email.label("taken_by_email"))
            .select_from(_h)
            .outerjoin(_s, _s.c.id == _h.c.session_id)
            .outerjoin(_f, and_(_f.c.session_id == _h.c.session_id,
                                _f.c.revision == _h.c.revision))
            .outerjoin(_maker, _maker.c.id == _h.c.created_by)
            .outerjoin(_taker, _taker.c.id == _h.c.taken_by))


def _view(r) -> HandoffView:
    def utc(value):
        return as_utc(value) if value else None
    return HandoffView(
        id=r.id, session_id=r.session_id, revision=r.revision, flow_id=r.flow_id,
        flow_version=r.flow_version, step=r.step, reason=r.reason, status=r.status,
        contact=r.contact, message=r.message, transcript=list(r.transcript or []),
        created_at=as_utc(r.created_at), created_by=r.created_by,
        created_by_email=r.created_by_email, taken_by=r.taken_by,
        taken_by_email=r.taken_by_email, taken_at=utc(r.taken_at), closed_at=utc(r.closed_at),
        code=r.code, reaction=r.reaction, comment=r.comment, customer_ref=r.customer_ref,
        language=r.language)


class HandoffQueue:
    """Reads and changes of the handoff queue (the handoffs themselves are made by
    :meth:`assistant.store.repository.Store.create_handoff`)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def counts(self) -> dict[str, int]:
        """How many handoffs have each status: ``{"open": n, "taken": n, "closed": n}``."""
        with self.engine.connect() as conn:
            found = dict(conn.execute(select(_h.c.status, func.count()).group_by(_h.c.status))
                         .all())
        return {status: found.get(status, 0) for status in STATUSES}

    def page(self, status: str, page: int = 1, per_page: int = 25) -> list[HandoffView]:
        """One page (1 = first) of the handoffs with ``status``, newest first."""
        query = (_select().where(_h.c.status == status).order_by(_h.c.id.desc())
                 .limit(per_page).offset((max(page, 1) - 1) * per_page))
        with self.engine.connect() as conn:
            return [_view(r) for r in conn.execute(query).all()]

    def get(self, handoff_id: int) -> HandoffView | None:
        """One handoff, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(_select().where(_h.c.id == handoff_id)).first()
        return _view(row) if row else None

    def for_session(self, session_id: str) -> list[HandoffView]:
        """The session's handoffs, newest first."""
        with self.engine.connect() as conn:
            return [_view(r) for r in conn.execute(
                _select().where(_h.c.session_id == session_id).order_by(_h.c.id.desc()))]

    def change(self, handoff_id: int, action: str, staff_id: int, seen_status: str,
               seen_taken_by: int | None, now: datetime | None = None) -> HandoffView:
        """Apply ``action`` by ``staff_id`` to a handoff the page showed as ``seen_status``,
        taken by ``seen_taken_by``; returns the handoff as changed.

        ``take``: an open handoff becomes taken by me. ``take_over``: one taken by someone
        else becomes mine. ``release``: mine goes back to open. ``close``: an open one, or
        mine, is closed (and recorded as handled by me). ``reopen``: a closed one is open again.

        Raises:
            ValueError: ``action`` is not one of :data:`ACTIONS`.
            QueueConflict: the handoff is not as seen any more (someone acted first), the
                action does not apply to what was seen, or there is no such handoff.
        """
        now = now or utcnow()
        mine, taken = seen_taken_by == staff_id, seen_taken_by is not None
        allowed = {
            "take": seen_status == "open" and not taken,
            "take_over": seen_status == "taken" and taken and not mine,
            "release": seen_status == "taken" and mine,
            "close": (seen_status == "open" and not taken) or (seen_status == "taken" and mine),
            "reopen": seen_status == "closed",
        }
        if action not in allowed:
            raise ValueError(f"unknown action {action!r}")
        if not allowed[action]:
            raise QueueConflict(self.get(handoff_id))
        values = {
            "take": {"status": "taken", "taken_by": staff_id, "taken_at": now},
            "take_over": {"status": "taken", "taken_by": staff_id, "taken_at": now},
            "release": {"status": "open", "taken_by": None, "taken_at": None},
            "close": {"status": "closed", "taken_by": staff_id, "closed_at": now,
                      **({} if mine else {"taken_at": now})},
            "reopen": {"status": "open", "taken_by": None, "taken_at": None,
                       "closed_at": None},
        }[action]
        guard = (_h.c.taken_by.is_(None) if seen_taken_by is None
                 else _h.c.taken_by == seen_taken_by)
        with self.engine.begin() as conn:
            changed = conn.execute(update(_h).where(_h.c.id == handoff_id,
                                                    _h.c.status == seen_status, guard)
                                   .values(**values)).rowcount
        current = self.get(handoff_id)
        if changed != 1:
            raise QueueConflict(current)
        return current

    def time_spent(self, session_id: str) -> dict[int, int | None]:
        """Time spent before each answer of the session's current path, in ms, by position."""
        e = Event.__table__
        with self.engine.connect() as conn:
            return dict(conn.execute(select(e.c.position, e.c.spent_ms).where(
                e.c.session_id == session_id, e.c.superseded == false())).all())
