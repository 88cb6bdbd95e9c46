"""Markdown → safe HTML for flow text (markdown-it-py for CommonMark, nh3 to sanitise)."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "typographer": True}).enable(
    ["table", "strikethrough", "replacements", "smartquotes"])

_TAGS = {"p", "em", "strong", "code", "pre", "ul", "ol", "li", "a", "blockquote", "br", "hr",
         "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "del", "kbd"}


LINK_SCHEMES = frozenset({"http", "https", "mailto"})
"""The URL schemes a flow's links may use; any other link is shown as its text."""


def render_markdown(text: str) -> Markup:
    """Render Markdown to sanitised HTML (raw HTML in the source is escaped, not passed through).

    Links keep only http, https and mailto URLs and get ``rel="noopener noreferrer"``.
    """
    html = _md.render(text or "")
    return Markup(nh3.clean(html, tags=_TAGS, attributes={"a": {"href", "title"}},
                            url_schemes=set(LINK_SCHEMES),
                            link_rel="noopener noreferrer"))
