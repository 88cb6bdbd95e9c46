"""An article's blocks → its title and its product sections (steps, causes, what is left).

The words this reads (``Possible causes``, ``If the problem still persists``, ``repeat steps
1-3``) are matched in plain sentences, never in markup: the blocks were parsed already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from ..probes.diagnosis import SYSTEM_NAMES
from .blocks import Article, Block

# "Possible causes:", "Common reasons", "Why does this happen?"
CAUSES_LABEL = re.compile(
    r"^(?:(?:possible|common|likely|known|probable)\s+)?(?:causes?|reasons?)"
    r"(?:\s+(?:of|for|why)\b.*)?\s*:?\s*$|^why (?:does|did|do|might|can) (?:this|it)\b", re.I)
# Headings that structure a section rather than start one.
STRUCTURE_LABEL = re.compile(
    r"^(?:steps?|solution|resolution|how to fix(?: it)?|what to do|before you (?:begin|start)|"
    r"prerequisites?|requirements?|overview|introduction|troubleshooting(?: steps)?|notes?|"
    r"tips?|summary|symptoms?|problem|issue|cause|environment)\s*:?\s*$", re.I)
# What help centers add around an article: left out, and said so in the draft's header.
CHROME = re.compile(
    r"^(?:did this (?:article )?answer your question\??|was this (?:article )?helpful\??|"
    r"(?:yes|no)(?:\s*/\s*(?:yes|no))?|related articles?|still need help\??|"
    r"(?:last )?updated\b.{0,40}|\d+ out of \d+ found this helpful|"
    r"have more questions\? submit a request|share this article|print this article)$", re.I)
FALLBACK = re.compile(
    r"^if (?:the |this |that |your )?(?:problem|issue|error|connection problem)s?\s+"
    r"(?:still |is still |continues to )?(?:persists?|continues?|remains?|is not (?:fixed|"
    r"resolved)|isn't (?:fixed|resolved))|^if (?:that|this|it|none of (?:this|these|the above)|"
    r"the steps above|these steps)\s+(?:still\s+)?(?:doesn't|does not|didn't|did not|don't|do not)"
    r"\s+(?:work|help|fix|solve)|^if (?:you(?:'re| are) )?still (?:having|seeing|getting)|"
    r"^if none of (?:this|these|the above|the steps)(?: steps)? (?:works?|helps?|fix(?:es)?)",
    re.I)


@dataclass
class Section:
    """One product's part of an article. Texts are Markdown."""

    name: str | None
    system: str | None               # a known system id, when the section names one
    line: int = 0
    intro: list[str] = field(default_factory=list)
    steps: list[Block] = field(default_factory=list)    # numbered items (or prose steps)
    bullets: list[Block] = field(default_factory=list)  # unnumbered items outside causes
    causes: list[str] = field(default_factory=list)
    closing: list[str] = field(default_factory=list)    # after the steps: "If still …, …"
    unplaced: list[str] = field(default_factory=list)   # after the causes, not a new section
    left_out: list[str] = field(default_factory=list)   # help-center chrome


@dataclass
class Outline:
    title: str | None
    intro: list[str]                 # before the first section, about all of them
    sections: list[Section]
    left_out: list[str]
    url: str | None = None           # the article's address, when the file says it


_md = MarkdownIt("commonmark")


_BLOCK_TAGS = ["p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "td", "th"]


def plain(text: str) -> str:
    """Markdown → plain words, for matching and titles (link text kept, markup dropped)."""
    soup = BeautifulSoup(_md.render(text), "html.parser")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.append(" ")  # blocks are apart; inline markup is not
    return re.sub(r"\s+", " ", soup.get_text("")).strip()


def _system_pattern(name: str) -> re.Pattern:
    words = [re.escape(w) for w in name.split()]
    return re.compile(r"\b" + r"\s+(?:for\s+)?".join(words) + r"\b", re.I)


SYSTEMS = {system: _system_pattern(name) for system, name in SYSTEM_NAMES.items()}


def systems_named(text: str) -> list[str]:
    """Known systems ``text`` names, most named first (QuickBooks for Desktop counts)."""
    counts = {s: len(p.findall(text)) for s, p in SYSTEMS.items()}
    return [s for s, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n]


def is_label(text: str) -> bool:
    t = plain(text).strip("*: ")
    return bool(CAUSES_LABEL.match(t) or STRUCTURE_LABEL.match(t))


def outline(article: Article) -> Outline:
    """Split the article into its title, shared introduction and product sections."""
    blocks = list(article.blocks)
    headings = [b for b in blocks if b.kind == "heading"]
    title_block = None
    if headings:
        top = min(h.level for h in headings)
        first = next(h for h in headings if h.level == top) if top > 0 else headings[0]
        at = blocks.index(first)
        if not systems_named(plain(first.text)) and not is_label(first.text) and (
                top > 0 or at == 0 or at < len(blocks) - 1 and blocks[at + 1].kind == "heading"):
            title_block = first
    title = plain(title_block.text) if title_block else article.title
    heads = [h for h in headings if h is not title_block and not is_label(h.text)]
    if heads:
        level = min(h.level for h in heads)
        heads = [h for h in heads if h.level == level]
    left_out: list[str] = []
    intro: list[str] = []
    sections: list[Section] = []
    current: Section | None = None
    state = "intro"
    for block in blocks:
        if block is title_block:
            continue
        words = plain(block.text)
        if block in heads:
            name = words
            named = systems_named(name)
            current = Section(name, named[0] if named else None, block.line)
            sections.append(current)
            state = "intro"
            continue
        if CHROME.match(words):
            (current.left_out if current else left_out).append(words)
            continue
        if current is None:
            if heads:  # before the first section: about all of them
                if block.kind != "heading":
                    intro.append(block.text)
                continue
            current = Section(title, None, block.line)
            sections.append(current)
        numbered = _numbered(block)
        if block.kind == "heading" and numbered is None:
            if CAUSES_LABEL.match(words.strip("*: ")):
                state = "causes"
                continue
            if is_label(block.text):
                continue
            block = Block("paragraph", f"**{words}**", line=block.line)
        label = CAUSES_LABEL.match(words.split(":")[0].strip("* ") + ":") if ":" in words \
            else CAUSES_LABEL.match(words.strip("* "))
        if block.kind == "paragraph" and label:
            state = "causes"
            rest = words.split(":", 1)[1].strip(" *") if ":" in words else ""
            if rest:
                current.causes.append(rest)
            continue
        numbered = _numbered(block)
        if state == "causes":
            if block.kind == "item":
                current.causes.append(block.text)
                continue
            others = [s for s in systems_named(words) if s != current.system]
            if others and block.kind == "paragraph":
                # a new product's part of the article that has no heading of its own
                current = Section(SYSTEM_NAMES[others[0]], others[0], block.line)
                sections.append(current)
                state = "intro"
            elif FALLBACK.match(words):
                current.closing.append(block.text)
                continue
            else:
                current.unplaced.append(block.text)
                continue
        if numbered is not None:
            current.steps.append(numbered)
            state = "steps"
        elif block.kind == "item":
            if state == "steps":
                current.steps[-1].text += "\n\n- " + block.text
            else:
                current.bullets.append(block)
        elif state == "steps":
            if FALLBACK.match(words):
                current.closing.append(block.text)
            elif current.closing:
                current.closing[-1] += "\n\n" + block.text
            else:
                current.steps[-1].text += "\n\n" + block.text
        else:
            current.intro.append(block.text)
    if not sections:
        sections.append(Section(title, None, 0, intro=intro))
        intro = []
    for section in sections:
        if section.system is None:
            named = systems_named(" ".join(map(plain, section.intro
                                               + [s.text for s in section.steps])))
            section.system = named[0] if named else None
    return Outline(title, intro, sections, left_out, article.url)


def _numbered(block: Block) -> Block | None:
    """A numbered step: an ordered list item, or a paragraph or heading written '3. …' or
    'Step 3: …'."""
    if block.kind == "item" and block.ordered and block.level <= 1:
        return block
    if block.kind in ("paragraph", "heading"):
        m = re.match(r"^(?:\*\*)?(?:step\s+)?(\d{1,3})\s*[.):](?:\*\*)?\s+(\S.*)$", block.text,
                     re.I | re.S)
        if m:
            text = f"**{plain(m[2])}**" if block.kind == "heading" else m[2]
            return Block("item", text, 1, True, int(m[1]), block.line)
    return None
