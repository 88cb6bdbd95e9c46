"""Flow text in other languages: ``NAME.LANG.yaml`` beside ``NAME.yaml`` (``salesforce.es.yaml``).

A translation file holds only texts, keyed as in the flow::

    title: …                      # the flow's title and summary
    summary: …
    source: {title: …, section: …}
    causes:
      salesforce.oauth_incomplete: {title: …, detail: …}     # detail: Markdown
    steps:
      detect: {title: …, body: …}                            # body: Markdown
      confirm:
        title: …
        body: …
        answers: {connected: …, not-connected: …}            # by answer id

Every text the customer sees must be there (a missing one is refused, not shown in English),
and nothing the flow does not have (a key for a step, answer or cause that does not exist is
refused too): each problem names FILE:LINE: KEY. A step's ``script`` is what staff say and
stays in the flow's language, like the console. Markdown is rendered and sanitised exactly as
the flow's own (:func:`~assistant.flow.markdown.render_markdown`), and a translation may link
only to addresses the original text links to.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from .load import FlowError, FlowProblem, key_path, read_yaml_mapping
from .markdown import render_markdown
from .model import Cause, Flow

LANGUAGE = re.compile(r"^[a-z]{2}$")
MARKDOWN_KEYS = ("body", "detail")
_links = MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True)
class FlowTranslation:
    """One flow's texts in ``language``: ``texts`` maps a key path (``('steps', 'detect',
    'title')``, ``('steps', 'confirm', 'answers', 'connected')``) to its text."""

    flow_id: str
    language: str
    file: str
    texts: dict[tuple[str, ...], str]


def translation_language(path: str | Path) -> str | None:
    """``'es'`` for ``salesforce.es.yaml``; None for a name that is no translation's."""
    parts = Path(path).name.split(".")
    if len(parts) == 3 and parts[2] in ("yaml", "yml") and LANGUAGE.match(parts[1]):
        return parts[1]
    return None


def expected_texts(flow: Flow) -> dict[tuple[str, ...], str]:
    """Every customer-facing text of ``flow`` by key path, as written in its file (Markdown
    for bodies and details); empty texts (a step with no body) are not expected."""
    data = yaml.safe_load(flow.text) if flow.text else {}
    out: dict[tuple[str, ...], str] = {("title",): data.get("title", flow.title),
                                       ("summary",): data.get("summary", flow.summary)}
    source = data.get("source") or {}
    for key in ("title", "section"):
        if source.get(key):
            out[("source", key)] = source[key]
    for cid, cause in (data.get("causes") or {}).items():
        out[("causes", cid, "title")] = cause["title"]
        if cause.get("detail"):
            out[("causes", cid, "detail")] = cause["detail"]
    for sid, step in (data.get("steps") or {}).items():
        out[("steps", sid, "title")] = step["title"]
        if step.get("body"):
            out[("steps", sid, "body")] = step["body"]
        for answer in step.get("answers") or []:
            out[("steps", sid, "answers", answer["id"])] = answer["label"]
    return out


def _flatten(value, path: tuple, out: dict) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, path + (key,), out)
    else:
        out[path] = value


def _hrefs(markdown: str) -> set[str]:
    found = set()
    for token in _links.parse(markdown or ""):
        for child in token.children or ():
            if child.type == "link_open":
                found.add(child.attrGet("href"))
    return found


def parse_translation(raw: bytes, file: str, flow: Flow, language: str) -> FlowTranslation:
    """Check one translation file against ``flow``.

    Raises:
        FlowError: every problem, as FILE:LINE: KEY: message — YAML errors, a text missing, a
            key the flow does not have, a value that is not text, a link the original does
            not have.
    """
    value, loc = read_yaml_mapping(raw, file, "a translation file")
    given: dict[tuple, object] = {}
    _flatten(value, (), given)
    wanted = expected_texts(flow)
    prefixes = {path[:i] for path in wanted for i in range(1, len(path))}
    problems: list[FlowProblem] = []
    unknown: set[tuple] = set()
    for path, text in given.items():
        if path in prefixes and text is None:  # `verify:` with nothing under it
            continue
        if path not in wanted:
            # Name the outermost key the flow does not have, once (a whole unknown step).
            first = next(path[:i] for i in range(1, len(path) + 1)
                         if path[:i] not in prefixes or i == len(path))
            if first not in unknown:
                unknown.add(first)
                problems.append(loc.problem(first, _unknown(first, flow), "extra"))
        elif not isinstance(text, str) or not text.strip():
            problems.append(loc.problem(path, "expected the translated text"
                                        + (f", found {type(text).__name__}"
                                           if text is not None and not isinstance(text, str)
                                           else "")))
        elif path[-1] in MARKDOWN_KEYS and not _hrefs(text) <= _hrefs(wanted[path]):
            extra = ", ".join(sorted(_hrefs(text) - _hrefs(wanted[path])))
            problems.append(loc.problem(path, f"links to {extra}, which the original text "
                                        "does not link to"))
    for path in wanted:
        if path not in given:
            problems.append(loc.problem(path, f"missing the {language} text of "
                                        f"{key_path(path)} (“{_short(wanted[path])}”)",
                                        "missing"))
    problems.sort(key=lambda p: p.line)
    if problems:
        raise FlowError(problems)
    return FlowTranslation(flow.id, language, file, {p: str(t) for p, t in given.items()})


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= 50 else text[:47] + "…"


def _unknown(path: tuple, flow: Flow) -> str:
    if path[:1] == ("steps",) and len(path) > 1 and path[1] not in flow.steps:
        return f"the flow {flow.id} has no step '{path[1]}'"
    if path[:1] == ("causes",) and len(path) > 1 and path[1] not in flow.causes:
        return f"the flow {flow.id} has no cause '{path[1]}'"
    if path[:1] == ("steps",) and len(path) >= 3 and path[2] == "answers":
        if len(path) == 3:
            return f"the step '{path[1]}' has no answers to translate"
        return f"the step '{path[1]}' has no answer '{path[3]}'"
    if path[-1:] == ("script",):
        return "scripts are for staff and stay in the flow's language: remove this key"
    return f"'{key_path(path)}' is not a text of the flow {flow.id}"


def translation_files(flow: Flow) -> list[Path]:
    """The translation files beside ``flow``'s file (``NAME.LANG.yaml``), sorted."""
    here = Path(flow.file)
    if not here.parent.is_dir():
        return []
    return sorted(p for p in here.parent.glob(f"{here.stem}.*.y*ml")
                  if translation_language(p) and p.name.split(".")[0] == here.stem)


def load_translations(flows: dict[str, Flow]) -> tuple[
        dict[tuple[str, str], FlowTranslation], list[FlowError]]:
    """The translation files beside each flow: ``({(flow_id, language): translation},
    errors)``. A refused file leaves that flow in its own language for that language."""
    found: dict[tuple[str, str], FlowTranslation] = {}
    errors: list[FlowError] = []
    for flow in flows.values():
        for path in translation_files(flow):
            language = translation_language(path)
            try:
                found[(flow.id, language)] = parse_translation(
                    path.read_bytes(), str(path), flow, language)
            except FlowError as e:
                errors.append(e)
    return found, errors


def localize(flow: Flow, translation: FlowTranslation | None) -> Flow:
    """``flow`` with its texts in the translation's language. Texts the translation lacks
    (a session pinned to an older version of the flow) stay as they were."""
    if translation is None:
        return flow
    t = translation.texts

    def text(path: tuple, default: str) -> str:
        return t.get(path, default)

    causes = {cid: Cause(cid, text(("causes", cid, "title"), c.title),
                         render_markdown(t[("causes", cid, "detail")])
                         if ("causes", cid, "detail") in t else c.detail_html)
              for cid, c in flow.causes.items()}
    steps = {}
    for sid, s in flow.steps.items():
        answers = s.answers if s.is_probe else tuple(
            dataclasses.replace(a, label=text(("steps", sid, "answers", a.id), a.label))
            for a in s.answers)
        body = t.get(("steps", sid, "body"))
        steps[sid] = dataclasses.replace(
            s, title=text(("steps", sid, "title"), s.title),
            body_html=render_markdown(body) if body is not None else s.body_html,
            causes=tuple(causes.get(c.id, c) for c in s.causes), answers=answers)
    return dataclasses.replace(
        flow, title=text(("title",), flow.title), summary=text(("summary",), flow.summary),
        source_title=text(("source", "title"), flow.source_title),
        source_section=text(("source", "section"), flow.source_section)
        if flow.source_section else None,
        steps=steps, causes=causes)
