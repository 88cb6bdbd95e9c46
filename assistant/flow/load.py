"""Read flow files: YAML → schema check → graph check → :class:`~assistant.flow.model.Flow`.

Every problem is reported as a :class:`FlowProblem` naming the file, the line and the key path
(``steps.confirm.answers[1].next``), so an author can go straight to it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..probes.diagnosis import cause_title as outcome_title
from . import graph, schema
from .markdown import render_markdown
from .model import OTHERWISE, Answer, Branch, Cause, Flow, Step

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class FlowProblem:
    """One thing wrong with a flow file. ``line`` is 1-based; ``key`` is a dotted key path;
    ``kind`` sorts some problems for a summary (a translation's ``missing`` and ``extra``
    keys), empty for the rest."""

    file: str
    line: int
    key: str
    message: str
    kind: str = field(default="", compare=False)

    def __str__(self) -> str:
        where = f" {self.key}:" if self.key else ""
        return f"{self.file}:{self.line}:{where} {self.message}"


class FlowError(Exception):
    """A flow file was rejected. ``problems`` lists every problem found (at least one)."""

    def __init__(self, problems: list[FlowProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def key_path(path: Path_) -> str:
    """``('steps', 'a', 'answers', 1, 'next')`` → ``'steps.a.answers[1].next'``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _positions(node: yaml.Node, path: Path_, out: dict[Path_, int], dupes: list,
               loader: yaml.SafeLoader, texts: dict[Path_, str]) -> None:
    """Record the line of every key and item under ``node``; collect duplicate mapping keys.

    Keys are recorded as YAML constructs them (``no:`` is the key ``False``), as the schema
    check will name them; ``texts`` keeps each key as written, for messages.
    """
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key_node, value_node in node.value:
            try:
                key = loader.construct_object(key_node, deep=True)
                hash(key)
            except Exception:  # a key YAML cannot construct or hash: yaml.safe_load reports it
                key = key_node.value
            if key in seen:
                dupes.append((path + (key,), key_node.start_mark.line + 1))
            seen.add(key)
            out[path + (key,)] = key_node.start_mark.line + 1
            texts[path + (key,)] = key_node.value
            _positions(value_node, path + (key,), out, dupes, loader, texts)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = item.start_mark.line + 1
            _positions(item, path + (i,), out, dupes, loader, texts)


_PYDANTIC_TAGS = ("str", "int", "bool", "float")


def _real_path(loc: tuple, positions: dict[Path_, int]) -> Path_:
    """The error location without the names pydantic adds for union members and dict keys
    (``constrained-str``, ``list[Branch]``, ``[key]``), unless the file really has such a key."""
    path: list = []
    for i, part in enumerate(loc):
        looks_like_tag = isinstance(part, str) and (
            part in _PYDANTIC_TAGS or "[" in part or part.startswith(("constrained-",
                                                                       "function-")))
        if looks_like_tag and (*path, part) not in positions and i > 0:
            continue
        path.append(part)
    return tuple(path)


_PATTERN_HINTS = {
    schema.IDENTIFIER_PATTERN: "is not a valid id: use lower-case letters, digits, '-' and '_' "
                               "(e.g. step-2)",
    schema.CAUSE_PATTERN: "is not a valid cause id: write it as system.cause "
                          "(e.g. salesforce.oauth_incomplete)",
    schema.URL_PATTERN: "is not an http(s) address",
}


class _Locator:
    def __init__(self, file: str, positions: dict[Path_, int], texts: dict[Path_, str]):
        self.file = file
        self.positions = positions
        self.texts = texts

    def problem(self, path: Path_, message: str, kind: str = "") -> FlowProblem:
        """A problem at the deepest part of ``path`` that exists in the file."""
        known = [p for p in path if isinstance(p, (str, int))]
        while known and tuple(known) not in self.positions:
            known.pop()
        line = self.positions.get(tuple(known), 1)
        # Name keys as written: pydantic reports the key `no` (False) as 0.
        shown = tuple(self.texts.get(tuple(path[:i + 1]), part) for i, part in enumerate(path))
        return FlowProblem(self.file, line, key_path(shown), message, kind)


def _schema_problems(err: ValidationError, loc: _Locator) -> list[FlowProblem]:
    problems: dict[str, FlowProblem] = {}
    for e in err.errors(include_url=False):
        path = _real_path(e["loc"], loc.positions)
        if e["type"] == "extra_forbidden":
            message = f"unknown key '{path[-1]}'"
        elif e["type"] in ("string_type", "invalid_key", "int_type") and isinstance(
                e["input"], bool):
            wanted = "a whole number" if e["type"] == "int_type" else "text"
            message = (f"expected {wanted}, but YAML read this as {str(e['input']).lower()} "
                       "(yes/no/on/off are booleans in YAML)"
                       + ("" if wanted == "a whole number" else ": put it in quotes"))
        elif path[-1:] == ("next",) and (
                (e["type"] == "string_type" and isinstance(e["input"], list))
                or (e["type"] == "list_type" and isinstance(e["input"], str))):
            continue  # the other member of `next`'s union: its own errors say what is wrong
        elif e["type"] in ("model_type", "dict_type", "model_attributes_type"):
            found = "nothing" if e["input"] is None else type(e["input"]).__name__
            message = f"expected a mapping of keys (key: value lines), found {found}"
        elif e["type"] == "missing":
            message = f"missing required key '{path[-1]}'"
        elif e["type"] == "string_pattern_mismatch":
            hint = _PATTERN_HINTS.get(e["ctx"]["pattern"], f"does not match {e['ctx']['pattern']}")
            message = f"'{e['input']}' {hint}"
        elif path[-1:] == ("next",) and e["type"] in ("list_type", "string_type"):
            message = "must be a step id, or a list of branches [{when: …, to: …}, {to: …}]"
        else:
            message = e["msg"]
        key = key_path(path)
        problems.setdefault(key, loc.problem(path, message))
    return list(problems.values())


def _build(data: schema.FlowFile, file: str, text: bytes) -> Flow:
    causes = {cid: Cause(cid, c.title, render_markdown(c.detail)) for cid, c in data.causes.items()}
    steps: dict[str, Step] = {}
    for sid, s in data.steps.items():
        answers = []
        for a in s.answers:
            if isinstance(a.next, str):
                branches: tuple[Branch, ...] = (Branch(a.next),)
            else:
                branches = tuple(Branch(b.to, b.when.counter if b.when else None,
                                        b.when.below if b.when else 0) for b in a.next)
            answers.append(Answer(a.id, a.label, branches, a.count))
        if s.kind == "probe":
            # A probe's outcomes are its answers; "otherwise" is the last (see engine).
            answers = [Answer(outcome, outcome_title(outcome), (Branch(to),))
                       for outcome, to in s.outcomes.items()]
            if s.otherwise:
                answers.append(Answer(OTHERWISE, "Anything else", (Branch(s.otherwise),)))
        steps[sid] = Step(
            id=sid, kind=s.kind, title=s.title, body_html=render_markdown(s.body),
            script_html=render_markdown(s.script) if s.script else None,
            causes=tuple(causes[c] for c in s.causes if c in causes),
            answers=tuple(answers), outcome=s.outcome, probe=s.probe,
            recheck=s.recheck)
    return Flow(
        id=data.id, title=data.title, system=data.system, summary=data.summary,
        keywords=tuple(data.keywords), source_title=data.source.title,
        source_section=data.source.section, source_url=data.source.url, start=data.start,
        steps=steps, causes=causes, version=hashlib.sha256(text).hexdigest()[:12], file=file,
        remaining=graph.distances_to_end(steps), text=text.decode("utf-8"))


MAX_DEPTH = 32  # a flow nests about 8 deep; PyYAML slows down quadratically with depth


def _refuse_aliases_and_depth(text: str, file: str) -> None:
    """Flows need no YAML aliases (an alias can expand to a huge or endless document) and no
    deep nesting; stop reading at the first of either."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise FlowError([FlowProblem(
                file, event.start_mark.line + 1, "",
                f"YAML aliases (*{event.anchor}) are not allowed in flow files: "
                "write the value out")])
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise FlowError([FlowProblem(
                    file, event.start_mark.line + 1, "",
                    f"nested more than {MAX_DEPTH} levels deep: too deep to be a flow")])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def read_yaml_mapping(raw: bytes, file: str, what: str = "a flow file") -> tuple[dict, _Locator]:
    """Read YAML that must be a mapping, keeping the line of every key and item.

    Returns ``(value, locator)``; the locator names file, line and key path of a problem.

    Raises:
        FlowError: not UTF-8, YAML syntax, aliases, nesting over :data:`MAX_DEPTH`, not a
            mapping, duplicate keys.
    """
    try:
        decoded = raw.decode("utf-8")
        _refuse_aliases_and_depth(decoded, file)
        node = yaml.compose(decoded, Loader=yaml.SafeLoader)
        value = yaml.safe_load(decoded)
        positions: dict[Path_, int] = {}
        texts: dict[Path_, str] = {}
        dupes: list = []
        if node is not None:
            _positions(node, (), positions, dupes, yaml.SafeLoader(""), texts)
    except UnicodeDecodeError as e:
        raise FlowError([FlowProblem(file, 1, "", f"not UTF-8 text ({e.reason})")]) from None
    except yaml.YAMLError as e:
        # The problem's line; where it is the end of the file (an unclosed quote), the line
        # where the broken construct starts.
        mark = getattr(e, "problem_mark", None)
        context_mark = getattr(e, "context_mark", None)
        if context_mark and (mark is None or mark.index >= len(decoded.rstrip())):
            mark = context_mark
        line = mark.line + 1 if mark else 1
        msg = getattr(e, "problem", None) or str(e)
        context = getattr(e, "context", None)
        msg = f"{context}: {msg}" if context else msg
        raise FlowError([FlowProblem(file, line, "", f"invalid YAML: {msg}")]) from None
    if node is None or not isinstance(value, dict):
        raise FlowError([FlowProblem(file, 1, "", f"{what} must be a YAML mapping")])
    if dupes:
        raise FlowError([FlowProblem(file, line, key_path(p), f"duplicate key '{p[-1]}'")
                         for p, line in dupes])
    return value, _Locator(file, positions, texts)


def parse_flow(text: bytes | str, file: str = "<flow>") -> Flow:
    """Parse and check one flow from YAML text.

    Raises:
        FlowError: with every problem found (YAML syntax, duplicate keys, schema, graph).
    """
    raw = text.encode() if isinstance(text, str) else text
    value, loc = read_yaml_mapping(raw, file)
    try:
        data = schema.FlowFile.model_validate(value)
    except ValidationError as e:
        raise FlowError(_schema_problems(e, loc)) from None
    problems = [loc.problem(path, msg) for path, msg in graph.check_references(data)]
    if problems:
        raise FlowError(problems)
    flow = _build(data, file, raw)
    problems = [loc.problem(path, msg) for path, msg in graph.check_paths(flow)]
    if problems:
        raise FlowError(problems)
    return flow


MAX_FLOW_BYTES = 1_000_000
"""The largest flow file read by default (the shipped ones are 10–20 kB): a bigger one is
refused before it is parsed, which for a 10 MB file would take about a minute."""


def load_flow(path: str | Path, max_bytes: int = MAX_FLOW_BYTES) -> Flow:
    """Read and check one flow file of at most ``max_bytes`` bytes. Raises :class:`FlowError`
    (also for an unreadable or too large file)."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(max_bytes + 1)
            size = max(len(raw), os.fstat(f.fileno()).st_size)
    except OSError as e:
        raise FlowError([FlowProblem(str(p), 1, "", f"cannot read: {e.strerror}")]) from None
    if size > max_bytes:
        raise FlowError([FlowProblem(str(p), 1, "", (
            f"the file is {size:,} bytes; a flow file may be at most {max_bytes:,} bytes "
            "(FLOW_MAX_BYTES), so it was not read"))])
    return parse_flow(raw, str(p))


FLOW_SUFFIXES = (".yaml", ".yml")


def is_flow_file(path: str | Path) -> bool:
    """True for a flow file's name: ``NAME.yaml`` or ``NAME.yml`` with no other dot in NAME.

    Files beside a flow that belong to it are named ``NAME.KIND.yaml`` (``salesforce.tests.yaml``,
    later ``salesforce.es.yaml`` or ``salesforce.synonyms.yaml``): a flow id has no dot, so such
    a name is never a flow's and the loader leaves it to the tool that reads that kind.
    """
    p = Path(path)
    return p.suffix in FLOW_SUFFIXES and "." not in p.stem


def flow_files(paths: list[str | Path]) -> list[Path]:
    """The flow files named by ``paths``: directories expand to their flow files (sorted),
    files are kept as given unless their name is not a flow's (see :func:`is_flow_file`)."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            out.extend(sorted(q for q in path.iterdir() if q.is_file() and is_flow_file(q)))
        elif is_flow_file(path) or path.suffix not in FLOW_SUFFIXES:
            out.append(path)
    return out


def load_flows(paths: list[str | Path], max_bytes: int = MAX_FLOW_BYTES
               ) -> tuple[dict[str, Flow], list[FlowError]]:
    """Load every flow under ``paths`` (each file at most ``max_bytes``, see
    :func:`load_flow`); return ``(flows by id, errors)``.

    A broken file does not stop the others from loading. Two files with the same flow id: the
    second is rejected.
    """
    flows: dict[str, Flow] = {}
    errors: list[FlowError] = []
    for file in flow_files(paths):
        try:
            flow = load_flow(file, max_bytes)
        except FlowError as e:
            errors.append(e)
            continue
        if flow.id in flows:
            message = f"flow id '{flow.id}' is already used by {flows[flow.id].file}"
            text = Path(file).read_text(encoding="utf-8")
            found = re.search(r"^id\s*:", text, re.M)
            line = text.count("\n", 0, found.start()) + 1
            errors.append(FlowError([FlowProblem(str(file), line, "id", message)]))
            continue
        flows[flow.id] = flow
    return flows, errors
