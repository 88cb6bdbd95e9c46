"""An HTML article (parsed by BeautifulSoup with Python's own ``html.parser``) into blocks: the
article's body where help centers put it, inline markup as Markdown, links made absolute
against its canonical address."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from bs4 import BeautifulSoup, NavigableString, Tag

from ..flow.markdown import LINK_SCHEMES
from .blocks import Article, Block, escape, space

_SKIP = {"script", "style", "nav", "footer", "aside", "form", "button", "noscript",
         "svg", "template", "iframe", "select", "input", "head"}
_BLOCKS = {"p", "div", "section", "article", "main", "blockquote", "pre", "table", "figure",
           "h1", "h2", "h3", "h4", "h5", "h6", "ol", "ul", "li", "dl", "dt", "dd", "body", "hr",
           "figcaption", "details", "summary", "header"}
# Where help centers (Zendesk, Intercom, Help Scout, Freshdesk, …) put the article's text.
_BODY_SELECTORS = ("article", "main", "[itemprop=articleBody]", ".article-body",
                   ".article__body", ".article-content", ".content", "body")


def read_html(text: str) -> Article:
    """The article in HTML ``text``.

    Raises:
        ValueError: the HTML is nested too deeply to read (Python's recursion limit: some
            thousands of levels, which no article needs).
    """
    try:
        return _read_html(text)
    except RecursionError:
        raise ValueError("the HTML is nested too deeply to read (thousands of levels of "
                         "elements inside each other)") from None


def _read_html(text: str) -> Article:
    soup = BeautifulSoup(text, "html.parser")
    base = None
    link = soup.find("link", rel="canonical")
    meta = soup.find("meta", attrs={"property": "og:url"})
    if isinstance(link, Tag) and link.get("href"):
        base = str(link["href"])
    elif isinstance(meta, Tag) and meta.get("content"):
        base = str(meta["content"])
    title_tag = soup.find("title")
    title = space(title_tag.get_text()) if title_tag else None
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
            rows = [" | ".join(space(c.get_text(" ")) for c in tr.find_all(["td", "th"]))
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
            out.append(escape(str(node)))
        elif isinstance(node, Tag):
            if node.name in _SKIP:
                continue
            inner = _inline_html(node.contents, base)
            if node.name == "br":
                out.append("\n")
            elif node.name == "a" and inner.strip():
                href = _href(str(node.get("href") or ""), base)
                out.append(f"[{inner.strip()}]({href})" if href else inner)
            elif node.name in ("strong", "b") and inner.strip():
                out.append(f"**{inner.strip()}**")
            elif node.name in ("em", "i") and inner.strip():
                out.append(f"*{inner.strip()}*")
            elif node.name in ("code", "kbd") and inner.strip():
                out.append(f"`{node.get_text()}`")
            elif node.name == "img":
                alt = str(node.get("alt") or "image")
                src = _href(str(node.get("src") or ""), base)
                out.append(f"[{escape(alt)}]({src})" if src else "")
            else:
                out.append(inner)
    return "\n".join(space(line) for line in "".join(out).split("\n"))


def _href(href: str, base: str | None) -> str | None:
    """``href`` as a flow may link it: absolute (a relative one resolved against the page's
    own address ``base``), with a scheme flows keep (:data:`LINK_SCHEMES`); None for
    anything else (``javascript:``, ``data:``, a relative address with no base), whose
    text is kept without the link."""
    href = href.strip()
    if not href:
        return None
    if base and not re.match(r"^[a-z][a-z0-9+.-]*:", href, re.IGNORECASE):
        href = urljoin(base, href)
    scheme = re.match(r"^([a-z][a-z0-9+.-]*):", href, re.IGNORECASE)
    return href if scheme and scheme.group(1).lower() in LINK_SCHEMES else None


def _line(tag: Tag) -> int:
    return getattr(tag, "sourceline", None) or 0
