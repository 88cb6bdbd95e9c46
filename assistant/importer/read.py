"""Read a help-center article — HTML, Markdown or plain text — into a flat list of blocks.

HTML is parsed by BeautifulSoup (Python's own ``html.parser``; :mod:`.read_html`), Markdown by
markdown-it-py (:mod:`.read_markdown`); inline markup becomes Markdown (links, bold, italics,
code kept). Plain text has no markup: its lines are read as help centers' copy-and-paste gives
them (numbered lines, bullet lines, headings alone on a line; :mod:`.read_text`). The blocks
are :class:`~.blocks.Block` s of an :class:`~.blocks.Article`.
"""

from __future__ import annotations

import re
from pathlib import Path

from .blocks import Article
from .read_html import read_html
from .read_markdown import read_markdown
from .read_text import read_text


def read_article(path: str | Path) -> Article:
    """Read ``path``; the format comes from the suffix (.html/.htm, .md/.markdown, else a look
    at the text). Raises OSError or UnicodeDecodeError for an unreadable file."""
    p = Path(path)
    text = p.read_text(encoding="utf-8-sig")
    return parse_article(text, guess_format(p.suffix.lower(), text))


def guess_format(suffix: str, text: str) -> str:
    """``html``, ``markdown`` or ``text``."""
    if suffix in (".html", ".htm", ".xhtml"):
        return "html"
    if suffix in (".md", ".markdown", ".mdown"):
        return "markdown"
    head = text.lstrip()[:2000].lower()
    if head.startswith(("<!doctype html", "<html")) or re.search(
            r"<(p|h[1-6]|ol|ul|div|article|body)[\s>]", head):
        return "html"
    if re.search(r"^#{1,6} \S", text, re.M) or re.search(r"\[[^\]\n]+\]\([^)\s]+\)", text):
        return "markdown"
    return "text"


def parse_article(text: str, fmt: str) -> Article:
    """Blocks of ``text`` in format ``fmt`` (``html``, ``markdown`` or ``text``)."""
    reader = {"html": read_html, "markdown": read_markdown, "text": read_text}[fmt]
    article = reader(text)
    article.format = fmt
    article.blocks = [b for b in article.blocks if b.text.strip()]
    return article
