"""The flow file format, as pydantic models: the single source of truth for its structure.

A flow file is YAML. ``assistant schema`` prints :func:`flow_json_schema` so that editors can
offer completion and inline checks. Graph rules (reachability, loops, dangling references) are
not expressible here; they live in :mod:`assistant.flow.graph`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

IDENTIFIER_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
CAUSE_PATTERN = r"^[a-z0-9_]+\.[a-z0-9_]+$"
PROBE_OUTCOME_PATTERN = r"^([a-z0-9_]+\.[a-z0-9_]+|connected|unknown|timeout|unavailable)$"
URL_PATTERN = r"^https?://\S+$"
Identifier = Annotated[
    str,
    Field(pattern=IDENTIFIER_PATTERN, max_length=64,
          description="Lower-case letters, digits, '-' and '_'."),
]
CauseId = Annotated[
    str,
    Field(pattern=CAUSE_PATTERN, max_length=96,
          description="'system.cause', as in the cause catalogue "
                      "(e.g. salesforce.daily_api_limit_exceeded)."),
]
Outcome = Literal["resolved", "unresolved", "escalated"]
StepKind = Literal["question", "instruction", "end", "probe"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """``{counter: rounds, below: 1}`` holds while the counter's value is less than ``below``."""

    counter: Identifier
    below: int = Field(ge=1, le=100, strict=True)


class Branch(_Strict):
    """One possible destination of an answer; the first branch whose ``when`` holds is taken.

    The last branch of a list must have no ``when`` (it is the fallback).
    """

    to: Identifier
    when: Condition | None = None


class Answer(_Strict):
    """A choice offered by a step. ``next`` is a step id, or a list of branches."""

    id: Identifier
    label: str = Field(min_length=1, max_length=200)
    next: Identifier | list[Branch] = Field(
        description="Step id, or branches [{when: {counter, below}, to}, …, {to}].")
    count: Identifier | None = Field(
        default=None, description="Counter to add one to when this answer is taken.")


class Step(_Strict):
    """A state of the flow. ``end`` steps carry an ``outcome`` and no answers; ``probe`` steps
    name a live check and go on by its outcome (``outcomes``, else ``otherwise``)."""

    kind: StepKind
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=20_000, description="Markdown.")
    script: str | None = Field(
        default=None, max_length=20_000,
        description="Markdown: what a support agent says at this step.")
    causes: list[CauseId] = Field(
        default_factory=list,
        description="Ids from the flow's causes, shown as 'Why this happens'.")
    answers: list[Answer] = Field(default_factory=list)
    outcome: Outcome | None = None
    probe: str | None = Field(
        default=None, max_length=96,
        description="Probe steps only: the live check to run, e.g. salesforce.api.")
    outcomes: dict[Annotated[str, Field(pattern=PROBE_OUTCOME_PATTERN)], Identifier] = Field(
        default_factory=dict,
        description="Probe steps only: outcome → step id. An outcome is 'connected', a cause "
                    "id of the probe's system, 'unknown', 'timeout' or 'unavailable'.")
    recheck: bool = Field(
        default=False,
        description="Probe steps only: wait for a check that starts after the step is reached "
                    "(at most the probe TTL) instead of reusing a recent result — for checking "
                    "again after a fix.")
    otherwise: Identifier | None = Field(
        default=None,
        description="Probe steps only (required there): the step for any outcome not listed "
                    "in 'outcomes' — the flow's manual path.")


class Cause(_Strict):
    """A possible reason for the problem, quoted or paraphrased from the article."""

    title: str = Field(min_length=1, max_length=300)
    detail: str = Field(default="", max_length=5_000, description="Markdown: what to do about it.")


class Source(_Strict):
    """The help-center article the flow was written from."""

    title: str = Field(min_length=1, max_length=300)
    section: str | None = Field(default=None, max_length=300)
    url: str | None = Field(default=None, max_length=2_000, pattern=URL_PATTERN,
                            description="http(s) address of the article.")


class FlowFile(_Strict):
    """The top level of a flow file."""

    id: Identifier
    title: str = Field(min_length=1, max_length=200)
    system: Identifier = Field(description="quickbooks_desktop, quickbooks_online, salesforce, …")
    summary: str = Field(min_length=1, max_length=1_000)
    keywords: list[str] = Field(default_factory=list)
    source: Source
    start: Identifier
    causes: dict[CauseId, Cause] = Field(default_factory=dict)
    steps: dict[Identifier, Step] = Field(min_length=1)


def flow_json_schema() -> dict:
    """Return the JSON Schema (draft 2020-12) of a flow file, as a JSON-serialisable dict."""
    schema = FlowFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Troubleshooting flow"
    return schema
