"""Import a help-center article as draft flows, one per product section (``assistant import``).

:func:`import_article` reads the file (:mod:`.read`), finds its sections, steps and causes
(:mod:`.sections`), builds each draft (:mod:`.draft`) and checks it with the flow loader: a
draft that would not validate is a bug here, raised as :class:`~assistant.flow.FlowError`.
"""

from __future__ import annotations

from pathlib import Path

from ..flow import parse_flow
from .draft import TODO, Draft, build, slug
from .read import parse_article, read_article
from .render import render
from .sections import outline

__all__ = ["Draft", "import_article", "import_text"]


def import_article(path: str | Path, flow_id: str | None = None) -> list[Draft]:
    """Drafts for the article at ``path`` (format from its suffix, else from its text).

    ``flow_id`` names the flow of a one-section article, and prefixes the ids of several
    (``ID-quickbooks-online``); by default each id comes from its section's name.

    Raises:
        OSError, UnicodeDecodeError: the file cannot be read as UTF-8 text.
        ValueError: the article has no text to import.
    """
    return _drafts(read_article(path), Path(path).name, flow_id)


def import_text(text: str, fmt: str, name: str = "article", flow_id: str | None = None
                ) -> list[Draft]:
    """Drafts for ``text`` in format ``fmt`` (``html``, ``markdown`` or ``text``)."""
    return _drafts(parse_article(text, fmt), name, flow_id)


def _drafts(article, name: str, flow_id: str | None) -> list[Draft]:
    if not article.blocks:
        raise ValueError(f"{name}: no text to import")
    found = outline(article)
    drafts: list[Draft] = []
    used: set[str] = set()
    for section in found.sections:
        base = slug(section.name or found.title or Path(name).stem)
        fid = (flow_id if len(found.sections) == 1 else f"{flow_id}-{base}") if flow_id else base
        fid, n = fid[:64].strip("-") or "imported", 2
        while fid in used:
            fid, n = f"{fid.rsplit('-', 1)[0] if n > 2 else fid}-{n}", n + 1
        used.add(fid)
        built = build(section, found, fid, name)
        text = render(built)
        flow = parse_flow(text, f"{fid}.yaml")   # raises FlowError: a bug of the importer
        drafts.append(Draft(fid, text, section, steps=len(flow.steps),
                            causes=len(flow.causes), todos=text.count(TODO),
                            notes=built["notes"]))
    return drafts
