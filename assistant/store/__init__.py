"""The store: SQLAlchemy models (:mod:`.models`), queries (:mod:`.repository`) and Alembic
migrations (:mod:`.migrate`, scripts in ``assistant/migrations``)."""

from .engine import make_engine
from .migrate import is_current, upgrade
from .models import Base, Event, Feedback, FlowSession, Handoff, ProbeCheck, ProbeClaim
from .probe_checks import CheckRecord, ProbeChecks
from .repository import StaleRevision, Store, TranscriptLine

__all__ = ["Base", "CheckRecord", "Event", "Feedback", "FlowSession", "Handoff", "ProbeCheck",
           "ProbeChecks", "ProbeClaim", "StaleRevision", "Store", "TranscriptLine", "is_current",
           "make_engine", "upgrade"]
