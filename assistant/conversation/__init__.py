"""The application layer: sessions walked through flows, the same for every channel (HTML
wizard, console guided mode, JSON API, chat). No Flask here (a test checks): views parse,
call :class:`Conversations` and render; errors are :mod:`.errors` with a code and a status.

Built once per app by :func:`assistant.web.create_app` (``services().conversations``); a
script or test builds one from the same parts (see ``tests/test_conversation.py``).
"""

from . import errors
from .endings import REACTIONS
from .handoffs import REASONS, Handoffs, customer_has_written, payload
from .results import Polled, Said, Started, StepView
from .service import TEXT_MAX, TRANSCRIPT_TAIL, Conversations
from .transcript import labelled, with_checks

__all__ = ["REACTIONS", "REASONS", "TEXT_MAX", "TRANSCRIPT_TAIL", "Conversations", "Handoffs",
           "Polled", "Said", "Started", "StepView", "customer_has_written", "errors", "labelled",
           "payload", "with_checks"]
