"""What the application layer refuses, as typed errors: each carries a stable ``code``, the
HTTP ``status`` a view answers with and a ``message`` in the customer's words. Nothing was
changed when one is raised."""

from __future__ import annotations

from .text import _l


class ConversationError(Exception):
    """A request the session cannot take; nothing was changed."""

    code = "refused"
    status = 400
    message = _l("That can't be done, so nothing was changed.")

    def __init__(self, message: str | None = None, *, errors: dict[str, str] | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.errors = errors or {}  # field → what is wrong with it (Invalid)


class SessionNotFound(ConversationError):
    code, status = "not_found", 404
    message = _l("There is no such session. If you followed a link, it may have been mistyped.")


class FlowNotFound(ConversationError):
    code, status = "not_found", 404
    message = _l("There is no such guide.")


class FlowChanged(ConversationError):
    """No version of the session's flow that has its step can be found."""

    code, status = "flow_changed", 410
    message = _l("The guide you were following has been changed or removed since you started. "
                 "Please start again from the list of guides.")


class Incomplete(ConversationError):
    """The request lacked the session revision it was made at."""

    code, status = "incomplete", 400
    message = _l("The form was incomplete, so nothing was changed. Please choose again.")


class Stale(ConversationError):
    """The request was made at another revision than the session's (another tab, a double
    click, Back): it is never applied twice."""

    code, status = "stale", 409
    message = _l("This page was out of date: the session had already moved on (another tab, "
                 "a double click or the browser's Back button). Nothing was applied twice. "
                 "This is where you are now.")


class Closed(ConversationError):
    """The session has ended and been given feedback or handed to a person."""

    code, status = "closed", 409
    message = _l("This guide has ended; start again to go through it once more. Nothing was "
                 "changed: your answers, feedback and message to support stay as they were.")


class CheckedAutomatically(ConversationError):
    """An answer was posted to a probe step, which only its check decides."""

    code, status = "checked_automatically", 400
    message = _l("This step is checked automatically, so there is nothing to answer. Nothing "
                 "was changed.")


class NotAChoice(ConversationError):
    code, status = "invalid_answer", 400
    message = _l("That answer isn't one of the choices for this step, so nothing was changed.")


class NotAtEnd(ConversationError):
    """Feedback for an end the session is no longer at."""

    code, status = "moved_on", 409
    message = _l("Your feedback was not saved: the guide had moved on in another tab or window. "
                 "This is where you are now.")


class Invalid(ConversationError):
    """One or more fields are not acceptable: ``errors`` maps each to what is wrong."""

    code, status = "invalid", 400
    message = _l("Some of what was sent can't be used; nothing was saved.")


class LaunchRefused(ConversationError):
    """A launch token that cannot bind a connection (expired, forged, for another guide, its
    session ended). ``status`` is 410 for an expired or used-up token, else 400."""

    code = "launch_refused"

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class NotAProbeStep(ConversationError):
    """A check was polled where the session is not waiting for one."""

    code, status = "not_checking", 409
    message = _l("The session is not waiting for a check here. This is where you are now.")
