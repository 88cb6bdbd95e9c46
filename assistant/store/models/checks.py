"""The results of live connection checks, and the claim that lets one worker at a time call
the upstream."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


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
