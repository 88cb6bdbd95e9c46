"""Feedback on help-center articles, outside any session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


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
