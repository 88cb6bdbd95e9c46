"""Read a help-center article — HTML, Markdown or plain text — into a flat list of blocks.

HTML is parsed by BeautifulSoup (Python's own ``html.parser``), Markdown by markdown-it-py;
inline markup becomes Markdown (links, bold, italics, code kept). Plain text has no markup: its
lines are read as help centers' copy-and-paste gives them (numbered lines, bullet lines,
headings alone on a line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from bs4 import BeautifulSoup, NavigableString, Tag
from markdown_it import MarkdownIt


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
    reader = {"html": _html, "markdown": _markdown, "text": _plain}[fmt]
    article = reader(text)
    article.format = fmt
    article.blocks = [b for b in article.blocks if b.text.strip()]
    return article


# --- Markdown ---------------------------------------------------------------------------------

_md = MarkdownIt("commonmark").enable("table")


def _inline_md(token) -> str:
    """An inline token's children back to Markdown (reference links resolved)."""
    out: list[str] = []
    links: list[str] = []
    for child in token.children or []:
        t = child.type
        if t in ("text", "html_inline"):
            out.append(child.content)
        elif t == "code_inline":
            out.append(f"`{child.content}`")
        elif t in ("softbreak", "hardbreak"):
            out.append(" ")
        elif t in ("strong_open", "strong_close"):
            out.append("**")
        elif t in ("em_open", "em_close"):
            out.append("*")
        elif t == "link_open":
            links.append(child.attrs.get("href", ""))
            out.append("[")
        elif t == "link_close":
            out.append(f"]({links.pop()})")
        elif t == "image":
            out.append(f"[{child.content or 'image'}]({child.attrs.get('src', '')})")
    return _space("".join(out))


def _front_matter(text: str) -> tuple[dict, str]:
    """YAML front matter (``---`` … ``---`` at the top) and the text after it."""
    import yaml
    m = re.match(r"\A---[ \t]*\n(.*?\n)---[ \t]*\n", text, re.S)
    if not m:
        return {}, text
    try:
        meta = yaml.safe_load(m[1])
    except yaml.YAMLError:
        return {}, text
    # keep line numbers: the front matter's lines stay, blank
    return (meta if isinstance(meta, dict) else {}), "\n" * m[0].count("\n") + text[m.end():]


def _markdown(text: str) -> Article:
    meta, text = _front_matter(text)
    blocks: list[Block] = []
    lists: list[bool] = []        # ordered? for each open list
    items: list[Block | None] = []  # the open list items (None: not yet seen its text)
    pending: tuple[str, int, int | None, int] | None = None
    tokens = _md.parse(text)
    for i, tok in enumerate(tokens):
        line = tok.map[0] + 1 if tok.map else 0
        if tok.type in ("ordered_list_open", "bullet_list_open"):
            lists.append(tok.type == "ordered_list_open")
        elif tok.type in ("ordered_list_close", "bullet_list_close"):
            lists.pop()
        elif tok.type == "list_item_open":
            number = int(tok.info) if tok.info.isdigit() else None
            pending = ("item", len(lists), number, line)
            items.append(None)
        elif tok.type == "list_item_close":
            items.pop()
        elif tok.type == "heading_open":
            blocks.append(Block("heading", _inline_md(tokens[i + 1]), int(tok.tag[1]), line=line))
        elif tok.type == "inline" and tokens[i - 1].type == "paragraph_open":
            content = _inline_md(tok)
            if items and items[-1] is None and pending is not None:
                _, depth, number, at = pending
                item = Block("item", content, depth, lists[-1], number, at)
                items[-1] = item
                pending = None
                if depth > 1 and _outer(items):
                    _nest(_outer(items), item)
                else:
                    blocks.append(item)
            elif items and items[-1] is not None:
                items[-1].text += "\n\n" + content  # a second paragraph of the same item
            else:
                blocks.append(Block("paragraph", content, line=line))
        elif tok.type == "table_open":
            end = next(k for k in range(i, len(tokens)) if tokens[k].type == "table_close")
            rows, row = [], []
            for t in tokens[i:end]:
                if t.type == "inline":
                    row.append(_inline_md(t))
                elif t.type == "tr_close":
                    rows.append(" | ".join(row))
                    row = []
            blocks.append(Block("paragraph", "TODO (a table in the article, as text): "
                                + "; ".join(rows), line=line))
        elif tok.type == "inline" and tokens[i - 1].type in ("th_open", "td_open"):
            continue
        elif tok.type in ("fence", "code_block"):
            fenced = "```\n" + tok.content.rstrip("\n") + "\n```"
            if items and items[-1] is not None:
                items[-1].text += "\n\n" + fenced
            else:
                blocks.append(Block("paragraph", fenced, line=line))
    url = str(meta.get("url") or meta.get("canonical_url") or "") or None
    title = meta.get("title")
    return Article(blocks, str(title) if title else None,
                   url if url and re.match(r"^https?://\S+$", url) else None)


def _outer(items: list[Block | None]) -> Block | None:
    return next((b for b in reversed(items[:-1]) if b is not None), None)


def _nest(parent: Block, child: Block) -> None:
    """A nested list item becomes a Markdown sub-list line of its parent item."""
    marker = f"{child.number}." if child.ordered and child.number is not None else "-"
    in_list = re.match(r"^(\d+\.|-) ", parent.text.rsplit("\n", 1)[-1])
    parent.text += ("\n" if in_list and "\n" in parent.text else "\n\n") + f"{marker} {child.text}"


# --- HTML -------------------------------------------------------------------------------------

_SKIP = {"script", "style", "nav", "footer", "aside", "form", "button", "noscript",
         "svg", "template", "iframe", "select", "input", "head"}
_BLOCKS = {"p", "div", "section", "article", "main", "blockquote", "pre", "table", "figure",
           "h1", "h2", "h3", "h4", "h5", "h6", "ol", "ul", "li", "dl", "dt", "dd", "body", "hr",
           "figcaption", "details", "summary", "header"}
# Where help centers (Zendesk, Intercom, Help Scout, Freshdesk, …) put the article's text.
_BODY_SELECTORS = ("article", "main", "[itemprop=articleBody]", ".article-body",
                   ".article__body", ".article-content", ".content", "body")


def _html(text: str) -> Article:
    soup = BeautifulSoup(text, "html.parser")
    base = None
    link = soup.find("link", rel="canonical")
    meta = soup.find("meta", attrs={"property": "og:url"})
    if isinstance(link, Tag) and link.get("href"):
        base = str(link["href"])
    elif isinstance(meta, Tag) and meta.get("content"):
        base = str(meta["content"])
    title_tag = soup.find("title")
    title = _space(title_tag.get_text()) if title_tag else None
    root = next((found for sel in _BODY_SELECTORS if (found := soup.select_one(sel))), soup)
    blocks: list[Block] = []
    _html_blocks(root, blocks, base, depth=0)
    url = base if base and re.match(r"^https?://\S+$", base) else None
    return Article(blocks, title or None, url)


def _html_blocks(node: Tag, out: list[Block], base: str | None, depth: int) -> None:
    """Append the blocks under ``node``: headings, paragraphs, list items (nested lists go into
    their item's text); loose text in a ``div`` is a paragraph."""
    loose: list = []

    def flush() -> None:
        if loose:
            for part in _inline_html(loose, base).split("\n"):
                if part.strip():
                    out.append(Block("paragraph", part.strip(), line=_line(node)))
            loose.clear()

    for child in node.children:
        if isinstance(child, Tag) and child.name in _SKIP:
            continue
        if not isinstance(child, Tag) or child.name not in _BLOCKS:
            loose.append(child)
            continue
        flush()
        name = child.name
        if name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            out.append(Block("heading", _inline_html(child.contents, base).replace("\n", " "),
                             int(name[1]), line=_line(child)))
        elif name in ("ol", "ul"):
            start = int(child["start"]) if str(child.get("start", "")).isdigit() else 1
            for n, li in enumerate(child.find_all("li", recursive=False)):
                number = int(li["value"]) if str(li.get("value", "")).isdigit() else start + n
                out.append(Block("item", _item_html(li, base), depth + 1, name == "ol",
                                 number if name == "ol" else None, _line(li)))
        elif name == "pre":
            out.append(Block("paragraph", "```\n" + child.get_text().rstrip("\n") + "\n```",
                             line=_line(child)))
        elif name == "table":
            rows = [" | ".join(_space(c.get_text(" ")) for c in tr.find_all(["td", "th"]))
                    for tr in child.find_all("tr")]
            out.append(Block("paragraph", "TODO (a table in the article, as text): "
                             + "; ".join(r for r in rows if r.strip()), line=_line(child)))
        elif name == "blockquote":
            inner: list[Block] = []
            _html_blocks(child, inner, base, depth)
            out.extend(inner)
        elif name == "hr":
            continue
        else:
            _html_blocks(child, out, base, depth)
    flush()


def _item_html(li: Tag, base: str | None) -> str:
    """A list item as Markdown: its paragraphs, and its nested lists as sub-list lines."""
    parts: list[str] = []
    loose: list = []
    for child in li.children:
        if isinstance(child, Tag) and child.name in ("ol", "ul"):
            if loose:
                parts.append(_inline_html(loose, base))
                loose = []
            for n, sub in enumerate(child.find_all("li", recursive=False), 1):
                marker = f"{n}." if child.name == "ol" else "-"
                parts.append(f"{marker} {_item_html(sub, base)}")
        elif isinstance(child, Tag) and child.name in ("p", "div"):
            if loose:
                parts.append(_inline_html(loose, base))
                loose = []
            parts.append(_item_html(child, base))
        elif not (isinstance(child, Tag) and child.name in _SKIP):
            loose.append(child)
    if loose:
        parts.append(_inline_html(loose, base))
    return "\n\n".join(p.strip() for p in parts if p.strip())


def _inline_html(nodes, base: str | None) -> str:
    """Inline HTML → Markdown; ``<br>`` becomes a newline."""
    out: list[str] = []
    for node in nodes:
        if isinstance(node, NavigableString):
            if type(node).__name__ in ("Comment", "Doctype", "Declaration",
                                       "ProcessingInstruction"):
                continue
            out.append(_escape(str(node)))
        elif isinstance(node, Tag):
            if node.name in _SKIP:
                continue
            inner = _inline_html(node.contents, base)
            if node.name == "br":
                out.append("\n")
            elif node.name == "a" and node.get("href") and inner.strip():
                out.append(f"[{inner.strip()}]({_href(str(node['href']), base)})")
            elif node.name in ("strong", "b") and inner.strip():
                out.append(f"**{inner.strip()}**")
            elif node.name in ("em", "i") and inner.strip():
                out.append(f"*{inner.strip()}*")
            elif node.name in ("code", "kbd") and inner.strip():
                out.append(f"`{node.get_text()}`")
            elif node.name == "img":
                alt = str(node.get("alt") or "image")
                out.append(f"[{_escape(alt)}]({_href(str(node.get('src', '')), base)})"
                           if node.get("src") else "")
            else:
                out.append(inner)
    return "\n".join(_space(line) for line in "".join(out).split("\n"))


def _href(href: str, base: str | None) -> str:
    href = href.strip()
    return urljoin(base, href) if base and not re.match(r"^[a-z][a-z0-9+.-]*:", href) else href


def _line(tag: Tag) -> int:
    return getattr(tag, "sourceline", None) or 0


# --- Plain text -------------------------------------------------------------------------------

_NUMBERED = re.compile(r"^(?:step\s+)?(\d{1,3})\s*[.):]\s+(\S.*)$", re.I)
_BULLET = re.compile(r"^[•◦▪●‣∙·*+\-–]\s+(\S.*)$")
_URL = re.compile(r"https?://[^\s<>\"')\]]+[^\s<>\"')\].,;:!?]")


def _plain(text: str) -> Article:
    blocks: list[Block] = []
    standalone: list[bool] = []   # a one-line block with blank lines around it
    blank_before = True
    lines = text.splitlines()
    for n, raw in enumerate(lines, 1):
        line = _space(raw)
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
        out.append(_escape(text[last:m.start()]))
        out.append(f"<{m.group()}>")
        last = m.end()
    out.append(_escape(text[last:]))
    return "".join(out)


def _escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def _space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
