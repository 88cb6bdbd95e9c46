"""The routing files' format: the words customers use, kept as YAML beside the flows
(``flows/routing/``), and reading one file with its problems located.

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
    activity_words: [sync]                           # the work itself: trouble with no system
                                                     # named, but "X sync works" is healthy
    healthy_words: [fine, works, …]                  # "X works but Y …": X's clause is dropped
    contrast_words: [but, however, pero, …]
    exception_words: [except, salvo, …]              # "all down except X": X is fine
    stop_words: [please, …]                          # besides the English and Spanish lists
    keep_words: [not, down, …]                       # stop words that phrases need
    answers: {"yes": [yes, yeah, sí, …], "no": [no, still, todavía, …]}
    messages:                                        # the router's sentences (defaults: English)
      recognised: "We recognised {signal}: {cause}"  # {signal}: a code; {cause}: a cause sentence
      …                                              # see :class:`Messages`

``routing/<flow id>.yaml`` (one per flow, optional)::

    flow: salesforce
    names: [salesforce, sfdc, sales force]      # phrases that name this flow's system
    synonyms: [api calls, integration user, …]  # other words for this flow's problems
    causes:
      salesforce.daily_api_limit_exceeded:
        recognised: your org has used up its daily Salesforce API requests  # to the customer
        phrases: [api limit, daily limit, límite diario]                     # the cause in words

Phrases are matched as whole words after normalising (lower case, accents removed, typos
corrected, stems, stop words left out), in order, with at most two other terms between two of
them (:func:`.text.contains`), so ``"api limit"`` matches "API request limit" but not "limit of
API calls".

Other languages add to these files as :mod:`.data` describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from string import Formatter
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..flow import FlowError, FlowProblem
from ..flow.schema import CAUSE_PATTERN, IDENTIFIER_PATTERN

COMMON_FILE = "_common.yaml"
ROUTING_DIR = "routing"
BASE_LANGUAGE = "en"   # the language of the files without a language in their name

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


class Messages(_Strict):
    """The router's own sentences, with ``{name}`` fields filled in by the router."""

    recognised: str = Field("We recognised {signal}: {cause}", min_length=1, max_length=300,
                            description="{signal}: the code; {cause}: the cause's sentence")
    recognised_open: str = Field(
        "We recognised {signal}, but not which problem it points to: the guide's check will "
        "find out.", min_length=1, max_length=300)
    this_message: str = Field("this message", min_length=1, max_length=100,
                              description="{signal} when only a vendor's wording was known")
    sounds_like: str = Field("It sounds like {cause}", min_length=1, max_length=300)
    guide: str = Field("This guide should help: {title}.", min_length=1, max_length=300)

    @model_validator(mode="after")
    def _fields_known(self):
        allowed = {"recognised": {"signal", "cause"}, "recognised_open": {"signal"},
                   "this_message": set(), "sounds_like": {"cause"}, "guide": {"title"}}
        for key, names in allowed.items():
            try:
                used = {f for _, f, _, _ in Formatter().parse(getattr(self, key)) if f}
            except ValueError as e:
                raise ValueError(f"{key}: {e}") from None
            if used - names:
                fields = ", ".join("{" + n + "}" for n in sorted(names)) or "none"
                raise ValueError(f"{key}: unknown field {{{sorted(used - names)[0]}}} "
                                 f"(it may use {fields})")
        return self


class CommonFile(_Strict):
    families: list[Family] = Field(default_factory=list)
    question_any: str = Field(min_length=1, max_length=300)
    no_guide: str = Field(min_length=1, max_length=300)
    other_products: Phrases = Field(default_factory=list)
    problem_words: Phrases = Field(default_factory=list)
    activity_words: Phrases = Field(default_factory=list)
    healthy_words: Phrases = Field(default_factory=list)
    contrast_words: Phrases = Field(default_factory=list)
    exception_words: Phrases = Field(default_factory=list)
    stop_words: Phrases = Field(default_factory=list)
    keep_words: Phrases = Field(default_factory=list)
    answers: Answers
    messages: Messages = Field(default_factory=Messages)


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
    """Everything the router reads besides the flows: ``common`` and ``flows`` by flow id,
    for customers writing in ``language``."""

    common: CommonFile
    flows: dict[str, FlowWords] = field(default_factory=dict)
    language: str = BASE_LANGUAGE


def line_of(node: yaml.Node | None, loc: tuple) -> int:
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
            problems.append(FlowProblem(name, line_of(node, loc), _key(loc), message))
        raise FlowError(problems) from None
