"""Outbound webhook deliveries in the database: enqueue, claim, and record every attempt.

A delivery's ``state`` goes ``pending`` → ``sending`` (claimed by one sender) → ``delivered``,
back to ``pending`` (a retry at ``next_attempt_at``) or ``failed``. Staff may put a failed
delivery back to ``pending`` ("Retry now").

Claiming is a conditional ``UPDATE … WHERE state = <seen> AND attempts = <seen> AND
next_attempt_at <= now``: the database serialises concurrent senders (threads or processes), so
exactly one of them gets each attempt. A claim is a lease: ``next_attempt_at`` is moved to the
end of the lease, and a ``sending`` delivery whose lease has run out (its sender died or hung)
is due again and is claimed like a pending one. The attempt row is written at the claim, so an
attempt whose sender never came back still shows ("no result").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine

from .models import WebhookAttempt, WebhookDelivery, utcnow
from .repository import as_utc

_deliveries = WebhookDelivery.__table__
_attempts = WebhookAttempt.__table__

LOST = "No result: the sender stopped or took longer than its claim"


@dataclass(frozen=True)
class Claim:
    """One attempt this sender now owns: the delivery (``id``, ``event``, ``url``, ``body``
    as stored), this attempt's ``number`` (1 = first) and its attempt row ``attempt_id``."""

    id: int
    event: str
    url: str
    body: str
    number: int
    attempt_id: int


@dataclass(frozen=True)
class AttemptView:
    """One recorded attempt: its number, when it started (UTC), the HTTP status answered (None
    if none), the error text of a failure, and how long it took in milliseconds (None while it
    is running or if its sender never came back)."""

    number: int
    at: datetime
    status: int | None
    error: str | None
    duration_ms: int | None


@dataclass(frozen=True)
class DeliveryView:
    """A delivery with its attempts (first first), for the console. Times are UTC;
    ``handoff_id`` is the handoff it announces (None for other events)."""

    id: int
    handoff_id: int | None
    event: str
    url: str
    state: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    tries: list[AttemptView] = field(default_factory=list)


def new_delivery(event: str, handoff_id: int | None, url: str, body: str) -> WebhookDelivery:
    """An unsaved delivery row, due now, to add in the caller's own transaction (so the
    delivery is stored if and only if what it announces is)."""
    now = utcnow()
    return WebhookDelivery(event=event, handoff_id=handoff_id, url=url, body=body,
                           state="pending", attempts=0, next_attempt_at=now, created_at=now)


class WebhookDeliveries:
    """The delivery queue of the outbound webhook, shared by every process through the
    database."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def enqueue(self, event: str, handoff_id: int | None, url: str, body: str) -> int:
        """Store a delivery due now; returns its id."""
        row = new_delivery(event, handoff_id, url, body)
        with self.engine.begin() as conn:
            return conn.execute(insert(_deliveries).values(
                event=row.event, handoff_id=row.handoff_id, url=row.url, body=row.body,
                state=row.state, attempts=0, next_attempt_at=row.next_attempt_at,
                created_at=row.created_at)).inserted_primary_key[0]

    def claim(self, owner: str, lease_seconds: float, now: datetime | None = None
              ) -> Claim | None:
        """Claim the delivery that has been due longest, for one attempt by ``owner``
        (``host:pid``…), for ``lease_seconds``; None if nothing is due (or others won every
        due one). A reclaimed delivery's unfinished attempt is marked as having no result."""
        now = now or utcnow()
        with self.engine.connect() as conn:
            due = conn.execute(
                select(_deliveries.c.id, _deliveries.c.state, _deliveries.c.attempts)
                .where(_deliveries.c.state.in_(("pending", "sending")),
                       _deliveries.c.next_attempt_at <= now)
                .order_by(_deliveries.c.next_attempt_at, _deliveries.c.id).limit(5)).all()
        for seen in due:
            number = seen.attempts + 1
            with self.engine.begin() as conn:
                won = conn.execute(
                    update(_deliveries)
                    .where(_deliveries.c.id == seen.id, _deliveries.c.state == seen.state,
                           _deliveries.c.attempts == seen.attempts,
                           _deliveries.c.next_attempt_at <= now)
                    .values(state="sending", owner=owner, attempts=number,
                            next_attempt_at=now + timedelta(seconds=lease_seconds))
                    .returning(_deliveries.c.event, _deliveries.c.url, _deliveries.c.body)
                ).first()
                if won is None:
                    continue
                if seen.state == "sending":  # its sender never finished that attempt
                    conn.execute(update(_attempts).where(
                        _attempts.c.delivery_id == seen.id, _attempts.c.number == seen.attempts,
                        _attempts.c.duration_ms.is_(None), _attempts.c.error.is_(None)
                    ).values(error=LOST))
                attempt_id = conn.execute(insert(_attempts).values(
                    delivery_id=seen.id, number=number, at=now)).inserted_primary_key[0]
            return Claim(seen.id, won.event, won.url, won.body, number, attempt_id)
        return None

    def finish(self, claim: Claim, owner: str, *, status: int | None, error: str | None,
               duration_ms: int, state: str, next_attempt_at: datetime | None = None,
               now: datetime | None = None) -> bool:
        """Record the result of a claimed attempt and move the delivery on: ``state`` is
        ``delivered``, ``pending`` (retry at ``next_attempt_at``) or ``failed``.

        The attempt is always recorded; the delivery only changes if ``owner`` still holds this
        attempt's claim (a sender that outlived its lease changes nothing). Returns whether it
        did.
        """
        now = now or utcnow()
        with self.engine.begin() as conn:
            conn.execute(update(_attempts).where(_attempts.c.id == claim.attempt_id)
                         .values(status=status, error=error, duration_ms=duration_ms))
            changed = conn.execute(
                update(_deliveries)
                .where(_deliveries.c.id == claim.id, _deliveries.c.state == "sending",
                       _deliveries.c.owner == owner, _deliveries.c.attempts == claim.number)
                .values(state=state, owner=None,
                        next_attempt_at=next_attempt_at or now,
                        delivered_at=now if state == "delivered" else None)).rowcount
        return changed == 1

    def retry_now(self, delivery_id: int, now: datetime | None = None) -> bool:
        """Make a failed (or waiting) delivery due now; False if it is being sent or was
        delivered already. A failed delivery gets one more attempt; a waiting one keeps its
        remaining attempts."""
        with self.engine.begin() as conn:
            return conn.execute(
                update(_deliveries)
                .where(_deliveries.c.id == delivery_id,
                       _deliveries.c.state.in_(("failed", "pending")))
                .values(state="pending", next_attempt_at=now or utcnow())).rowcount == 1

    def next_due(self) -> datetime | None:
        """When the next pending delivery is due, or the next claim runs out (UTC); None if
        nothing waits."""
        with self.engine.connect() as conn:
            when = conn.execute(select(func.min(_deliveries.c.next_attempt_at)).where(
                _deliveries.c.state.in_(("pending", "sending")))).scalar()
        return as_utc(when) if when else None

    def for_handoff(self, handoff_id: int) -> list[DeliveryView]:
        """The deliveries about a handoff, oldest first, each with its attempts."""
        return self._views(_deliveries.c.handoff_id == handoff_id)

    def get(self, delivery_id: int) -> DeliveryView | None:
        """One delivery with its attempts, or None."""
        found = self._views(_deliveries.c.id == delivery_id)
        return found[0] if found else None

    def _views(self, where) -> list[DeliveryView]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(_deliveries).where(where).order_by(_deliveries.c.id)
                                ).all()
            tries = conn.execute(select(_attempts).where(_attempts.c.delivery_id.in_(
                [r.id for r in rows])).order_by(_attempts.c.number)).all() if rows else []
        by_delivery: dict[int, list[AttemptView]] = {}
        for t in tries:
            by_delivery.setdefault(t.delivery_id, []).append(AttemptView(
                t.number, as_utc(t.at), t.status, t.error, t.duration_ms))
        return [DeliveryView(r.id, r.handoff_id, r.event, r.url, r.state, r.attempts,
                             as_utc(r.next_attempt_at), as_utc(r.created_at),
                             as_utc(r.delivered_at) if r.delivered_at else None,
                             by_delivery.get(r.id, [])) for r in rows]
