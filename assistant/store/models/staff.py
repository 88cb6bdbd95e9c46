"""Support staff: accounts, logins and API tokens, their notes on sessions, and the counters
that limit failed logins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


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


class StaffNote(Base):
    """A note a staff member wrote on a session (plain text, shown in the console only)."""

    __tablename__ = "staff_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RateLimitCounter(Base):
    """A fixed-window counter of the ``limits`` library (failed console logins), shared by
    every process through the database: ``count`` hits until ``expires_at`` (Unix seconds)."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
