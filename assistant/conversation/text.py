"""Customer-facing text made by the application layer, translatable by whoever shows it.

The application layer imports no Flask, so it cannot know the page's language: it says things
in English and keeps how it said them. A :class:`Text` *is* the English string (the JSON API
and the logs use it as it is) and also carries its ``parts``, each a gettext message id and
its parameters, so a view can say the same in the customer's language
(:func:`assistant.web.i18n.translated`). :func:`_l` marks a message for extraction into the
catalogues (``babel.cfg``; the keyword ``_l``).
"""

from __future__ import annotations


class Text(str):
    """English text with its gettext ``parts``: ``((msgid, params), …)``, joined by one space.
    ``params`` fill ``%(name)s`` placeholders; integers are shown with thousands separators
    (``1,234`` in English; the view formats them for the page's locale)."""

    parts: tuple[tuple[str, dict], ...]

    def __new__(cls, parts: tuple[tuple[str, dict], ...]):
        english = " ".join(msgid % {k: _english(v) for k, v in params.items()} if params
                           else msgid for msgid, params in parts)
        text = super().__new__(cls, english)
        text.parts = parts
        return text

    def then(self, other: str) -> Text:
        """This sentence followed by ``other`` (a Text, or plain text kept as it is)."""
        more = other.parts if isinstance(other, Text) else ((str(other), {}),)
        return Text(self.parts + more)


def _english(value):
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value


def _l(msgid: str, **params) -> Text:
    """The message ``msgid`` (English, with ``%(name)s`` placeholders) and its ``params``."""
    return Text(((msgid, params),))
