"""What an article is read into: its :class:`Block` s (headings, paragraphs, list items, as
Markdown), and the text helpers every format's reader shares."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class Block:
    """One block of an article.

    ``kind`` is ``heading``, ``paragraph`` or ``item`` (a list item); ``text`` is Markdown.
    ``level``: a heading's level (1–6; 0 in plain text, where it is unknown). ``ordered`` and
    ``number``: a numbered item and its number as shown. ``line``: 1-based source line (0 when
    unknown)."""

    kind: str
    text: str
    level: int = 0
    ordered: bool = False
    number: int | None = None
    line: int = 0


@dataclass
class Article:
    """An article read from a file: its blocks, its ``title`` (HTML ``<title>``, when there is
    one) and ``url`` (canonical address, when the file says it)."""

    blocks: list[Block]
    title: str | None = None
    url: str | None = None
    format: str = "text"


def escape(text: str) -> str:
    """``text`` with the characters Markdown reads as markup backslash-escaped."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def space(text: str) -> str:
    """``text`` with each run of white space one space, stripped."""
    return re.sub(r"\s+", " ", text).strip()
