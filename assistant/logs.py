"""Logs never hold a customer's session id in full: it is the key to their session (anyone
with ``/s/<id>`` can open it), so log lines show its first 4 characters only (``/s/Ab3x…``).
Nor a launch token: until it expires it starts a session bound to the customer's connection,
so ``launch=<token>`` in a logged URL (request line, Referer) becomes ``launch=…``.

:class:`RedactingFilter` rewrites a record's message (and its traceback) before any handler
formats it; the app puts it on its own loggers (:func:`redact_app_logs`), and
:class:`GunicornLogger` on gunicorn's access and error logs (``gunicorn -c
python:assistant.gunicorn_conf``, which names it).
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger as _GunicornLogger

SESSION_PATH = re.compile(r"(/s/)([A-Za-z0-9_-]{4})[A-Za-z0-9_-]{6,}")
"""A session URL's id part: ``/s/`` and 10 or more id characters (ids have 22)."""

LAUNCH_PARAM = re.compile(r"([?&;]launch=)[^&;#\s\"']+")
"""A launch token in a URL's query (the start page's ``?launch=``)."""


def redact(text: str) -> str:
    """``text`` with each ``/s/<session id>`` cut to its first 4 characters and ``…``, and
    each ``launch=<token>`` to ``launch=…``."""
    return LAUNCH_PARAM.sub(r"\1…", SESSION_PATH.sub(r"\1\2…", text))


class RedactingFilter(logging.Filter):
    """A logging filter that cuts session ids and launch tokens out of a record's message
    and traceback (the record is formatted here, once; handlers then format the result as
    usual)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def redact_app_logs(app) -> None:
    """Put a :class:`RedactingFilter` on the Flask app's logger (its error log: "Exception on
    /s/…") and on Werkzeug's request log (``assistant serve``)."""
    for logger in (app.logger, logging.getLogger("werkzeug")):
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


class GunicornLogger(_GunicornLogger):
    """Gunicorn's logger, with session ids and launch tokens cut out of its access log
    (request line, Referer)
    and error log ("Error handling request /s/…")."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            logger.addFilter(RedactingFilter())
