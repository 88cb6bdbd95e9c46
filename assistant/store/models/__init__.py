"""SQLAlchemy 2 models: sessions, their events (the transcript), feedback, handoffs and flow
versions (:mod:`.sessions`); the results of live connection checks (:mod:`.checks`); staff
accounts, logins, tokens and notes (:mod:`.staff`); the outbound webhook (:mod:`.webhooks`);
article feedback (:mod:`.article_feedback`).

This package is where the models are imported from: importing it puts every table on
``Base.metadata``, the schema the migrations build (``assistant/migrations/env.py``).
"""

from .article_feedback import ArticleFeedback
from .base import Base, utcnow
from .checks import ProbeCheck, ProbeClaim
from .sessions import Event, Feedback, FlowSession, FlowVersion, Handoff
from .staff import RateLimitCounter, Staff, StaffApiToken, StaffLogin, StaffNote
from .webhooks import WebhookAttempt, WebhookDelivery

__all__ = ["ArticleFeedback", "Base", "Event", "Feedback", "FlowSession", "FlowVersion",
           "Handoff", "ProbeCheck", "ProbeClaim", "RateLimitCounter", "Staff", "StaffApiToken",
           "StaffLogin", "StaffNote", "WebhookAttempt", "WebhookDelivery", "utcnow"]
