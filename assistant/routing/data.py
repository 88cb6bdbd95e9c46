"""Routing data: the words customers use, kept as YAML beside the flows (``flows/routing/``).

Two kinds of file, both checked by pydantic and reported as ``FILE:LINE: KEY: message``
(:class:`~assistant.flow.FlowError`, as for flows):

``routing/_common.yaml`` (one; the leading ``_`` keeps it apart from flow ids)::

    families:            # a name that fits several flows: the question that tells them apart
      - {names: [quickbooks, qb], flows: [quickbooks-desktop, quickbooks-online],
         question: "Is it QuickBooks Desktop … or QuickBooks Online?"}
    question_any: Which connection is it about?     # trouble named, but no system
    no_guide: None of our guides fits this. …        # out of scope
    other_products: [xero, shopify, …]               # systems we have no guide for
    problem_words: [error, broken, "won't", …]       # trouble words (any language)
    healthy_words: [fine, works, …]                  # "X works but Y …": X's clause is dropped
    contrast_words: [but, however, pero, …]
    stop_words: [please, …]                          # besides the English and Spanish lists
    keep_words: [not, down, …]                       # stop words that phrases need
    answers: {"yes": [yes, yeah, sí, …], "no": [no, still, todavía, …]}

``routing/<flow id>.yaml`` (one per flow, optional)::

    flow: salesforce
    names: [salesforce, sfdc, sales force]      # phrases that name this flow's system
    synonyms: [api calls, integration user, …]  # other words for this flow's problems
    causes:
      salesforce.daily_api_limit_exceeded:
        recognised: your org has used up its daily Salesforce API requests  # to the customer
        phrases: [api limit, daily limit, límite diario]                     # the cause in words

Phrases are matched as whole words in any order after normalising (lower case, accents
removed, typos corrected, stems), so ``"api limit"`` matches "limit of API calls".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..flow import Flow, FlowError, FlowProblem
from ..flow.schema import CAUSE_PATTERN, IDENTIFIER_PATTERN

COMMON_FILE = "_common.yaml"
ROUTING_DIR = "routing"

Phrase = Annotated[str, Field(min_length=1, max_length=120)]
Phrases = list[Phrase]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Family(_Strict):
    """Names that fit several flows, and the question that tells them apart."""

    names: Phrases = Field(min_length=1)
    flows: list[Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]] = Field(min_length=2)
    question: str = Field(min_length=1, max_length=300)


class Answers(_Strict):
    """Words that say yes or no, for choosing a step's answer from free text."""

    yes: Phrases = Field(min_length=1)
    no: Phrases = Field(min_length=1)


class CommonFile(_Strict):
    families: list[Family] = Field(default_factory=list)
    question_any: str = Field(min_length=1, max_length=300)
    no_guide: str = Field(min_length=1, max_length=300)
    other_products: Phrases = Field(default_factory=list)
    problem_words: Phrases = Field(default_factory=list)
    healthy_words: Phrases = Field(default_factory=list)
    contrast_words: Phrases = Field(default_factory=list)
    stop_words: Phrases = Field(default_factory=list)
    keep_words: Phrases = Field(default_factory=list)
    answers: Answers


class CauseWords(_Strict):
    recognised: str = Field(min_length=1, max_length=300,
                            description="Said to the customer: 'We recognised X: <this>'.")
    phrases: Phrases = Field(default_factory=list)


class FlowWords(_Strict):
    flow: Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
    names: Phrases = Field(default_factory=list)
    synonyms: Phrases = Field(default_factory=list)
    causes: dict[Annotated[str, Field(pattern=CAUSE_PATTERN)], CauseWords] = Field(
        default_factory=dict)


@dataclass(frozen=True)
class RoutingData:
    """Everything the router reads besides the flows: ``common`` and ``flows`` by flow id."""

    common: CommonFile
    flows: dict[str, FlowWords] = field(default_factory=dict)


def _line_of(node: yaml.Node | None, loc: tuple) -> int:
    """The line (1-based) of the deepest part of ``loc`` found under ``node``."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            key = next((k for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            line, node = key.start_mark.line + 1, match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _key(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_file(path: Path, model: type[_Strict]):
    """One routing file validated by ``model``. Raises FlowError naming file, line and key."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        value = yaml.safe_load(text)
    except OSError as e:
        raise FlowError([FlowProblem(name, 1, "", f"cannot read: {e.strerror}")]) from None
    except UnicodeDecodeError as e:
        raise FlowError([FlowProblem(name, 1, "", f"not UTF-8 text ({e.reason})")]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise FlowError([FlowProblem(name, mark.line + 1 if mark else 1, "",
                                     f"invalid YAML: {getattr(e, 'problem', None) or e}")]
                        ) from None
    try:
        return model.model_validate(value)
    except ValidationError as e:
        problems = []
        for err in e.errors(include_url=False):
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            elif isinstance(err["input"], bool):
                message = (f"YAML read this as {str(err['input']).lower()} (yes/no/on/off are "
                           "booleans in YAML): put it in quotes")
            else:
                message = err["msg"]
            problems.append(FlowProblem(name, _line_of(node, loc), _key(loc), message))
        raise FlowError(problems) from None


def _cross_check(path: Path, words: FlowWords, flow: Flow | None,
                 system_causes: tuple[str, ...]) -> list[FlowProblem]:
    """A flow's words must name a loaded flow whose file name they share, and only causes of
    that flow's system."""
    name = str(path)
    node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    if flow is None:
        return [FlowProblem(name, _line_of(node, ("flow",)), "flow",
                            f"no flow '{words.flow}' is loaded")]
    problems = []
    if path.stem != words.flow:
        problems.append(FlowProblem(name, _line_of(node, ("flow",)), "flow",
                                    f"the file of flow '{words.flow}' must be named "
                                    f"{words.flow}.yaml"))
    for cause in words.causes:
        if cause not in system_causes:
            problems.append(FlowProblem(name, _line_of(node, ("causes", cause)),
                                        f"causes.{cause}",
                                        f"not a cause of {flow.system} in the diagnosis "
                                        "catalogue"))
    return problems


def load_routing(flows: dict[str, Flow], folders: list[Path]) -> RoutingData:
    """The routing data of ``flows``: the first ``_common.yaml`` found in ``folders`` (each a
    ``routing/`` folder beside flow files) and every ``<flow id>.yaml`` there.

    Raises FlowError with every problem (bad YAML, unknown keys, a file naming a flow that is
    not loaded, a cause of another system, a family naming an unknown flow, no common file)."""
    from ..probes.diagnosis import causes_for

    common: CommonFile | None = None
    common_path: Path | None = None
    per_flow: dict[str, FlowWords] = {}
    problems: list[FlowProblem] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")):
            try:
                if path.name == COMMON_FILE:
                    if common_path is None:
                        common_path = path
                        common = read_file(path, CommonFile)
                    continue
                words = read_file(path, FlowWords)
            except FlowError as e:
                problems.extend(e.problems)
                continue
            flow = flows.get(words.flow)
            try:
                system_causes = causes_for(flow.system) if flow else ()
            except ValueError:
                system_causes = ()
            found = _cross_check(path, words, flow, system_causes)
            problems.extend(found)
            if not found:
                per_flow.setdefault(words.flow, words)
    if common_path is None:
        # flows elsewhere (FLOWS_PATH) without their own: the shipped common words
        from ..resources import flows_dir
        common_path = flows_dir() / ROUTING_DIR / COMMON_FILE
        try:
            common = read_file(common_path, CommonFile)
        except FlowError as e:
            problems.extend(e.problems)
        own = False
    else:
        own = True
    if common is not None and common_path is not None and own:
        # the families of a common file beside these flows must name them; the shipped one
        # used for other flows keeps only the families whose flows are loaded
        node = yaml.compose(common_path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        for i, family in enumerate(common.families):
            for j, flow_id in enumerate(family.flows):
                if flow_id not in flows:
                    problems.append(FlowProblem(
                        str(common_path), _line_of(node, ("families", i, "flows", j)),
                        f"families[{i}].flows[{j}]", f"no flow '{flow_id}' is loaded"))
    if problems:
        raise FlowError(problems)
    assert common is not None
    families = [f for f in common.families if sum(1 for i in f.flows if i in flows) >= 2]
    common = common.model_copy(update={"families": [
        f.model_copy(update={"flows": [i for i in f.flows if i in flows]}) for f in families]})
    return RoutingData(common, per_flow)


def routing_folders(flows: dict[str, Flow]) -> list[Path]:
    """The ``routing/`` folders beside the loaded flows' files, in the flows' order."""
    out: list[Path] = []
    for flow in flows.values():
        folder = Path(flow.file).parent / ROUTING_DIR
        if folder not in out:
            out.append(folder)
    return out
