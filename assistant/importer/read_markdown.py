"""A Markdown article (CommonMark and tables, by markdown-it-py; YAML front matter for its title
and address) into blocks."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from .blocks import Article, Block, space

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
    return space("".join(out))


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


def read_markdown(text: str) -> Article:
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
