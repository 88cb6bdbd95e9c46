"""A plain-text article into blocks, its lines read as help centers' copy-and-paste gives them:
numbered lines, bullet lines, headings alone on a line, lines wrapped by hand."""

from __future__ import annotations

import re

from .blocks import Article, Block, escape, space

_NUMBERED = re.compile(r"^(?:step\s+)?(\d{1,3})\s*[.):]\s+(\S.*)$", re.I)
_BULLET = re.compile(r"^[•◦▪●‣∙·*+\-–]\s+(\S.*)$")
_URL = re.compile(r"https?://[^\s<>\"')\]]+[^\s<>\"')\].,;:!?]")


def read_text(text: str) -> Article:
    blocks: list[Block] = []
    standalone: list[bool] = []   # a one-line block with blank lines around it
    blank_before = True
    lines = text.splitlines()
    for n, raw in enumerate(lines, 1):
        line = space(raw)
        if not line:
            blank_before = True
            continue
        blank_after = n == len(lines) or not lines[n].strip()
        numbered, bullet = _NUMBERED.match(line), _BULLET.match(line)
        if numbered:
            blocks.append(Block("item", _plain_md(numbered[2]), 1, True, int(numbered[1]), n))
            standalone.append(False)
        elif bullet:
            blocks.append(Block("item", _plain_md(bullet[1]), 1, line=n))
            standalone.append(False)
        elif (blocks and not blank_before and not re.search(r"[.:!?]$", blocks[-1].text)
              and line[0].islower()):
            blocks[-1].text += " " + _plain_md(line)  # a line wrapped by hand
            standalone[-1] = False
        else:
            blocks.append(Block("paragraph", _plain_md(line), line=n))
            standalone.append(blank_before and blank_after)
        blank_before = False
    for block, alone in zip(blocks, standalone, strict=True):
        if alone and _looks_like_heading(block.text):
            block.kind = "heading"
    return Article(blocks)


def _looks_like_heading(text: str) -> bool:
    """A short line on its own, not a sentence: 'QuickBooks Online', 'How to Reset …'."""
    words = text.split()
    return (len(words) <= 10 and len(text) <= 80 and not re.search(r"[.,;:!?]$", text)
            and not text[0].islower())


def _plain_md(text: str) -> str:
    """Plain text as Markdown: characters Markdown would read as markup are escaped; web
    addresses become links."""
    out, last = [], 0
    for m in _URL.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(f"<{m.group()}>")
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(out)
