"""Immutable, validated flows as the engine and the web layer use them."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

OTHERWISE = "otherwise"  # a probe step's fallback answer: any outcome it does not list


@dataclass(frozen=True)
class Branch:
    """Go to ``to`` if ``counter`` is below ``below``; unconditional when ``counter`` is None."""

    to: str
    counter: str | None = None
    below: int = 0

    def holds(self, counters: dict[str, int]) -> bool:
        """True if this branch is taken with these counter values (missing counters are 0)."""
        return self.counter is None or counters.get(self.counter, 0) < self.below


@dataclass(frozen=True)
class Answer:
    """A choice offered by a step; ``branches`` are tried in order, the last is unconditional."""

    id: str
    label: str
    branches: tuple[Branch, ...]
    count: str | None = None

    def destination(self, counters: dict[str, int]) -> str:
        """The step this answer leads to with these counter values."""
        return next(b.to for b in self.branches if b.holds(counters))


@dataclass(frozen=True)
class Cause:
    """A possible reason for the problem; ``detail_html`` is sanitised HTML."""

    id: str
    title: str
    detail_html: Markup


@dataclass(frozen=True)
class Step:
    """One step. ``body_html`` and ``script_html`` are sanitised HTML rendered from Markdown."""

    id: str
    kind: str
    title: str
    body_html: Markup
    script_html: Markup | None
    causes: tuple[Cause, ...]
    answers: tuple[Answer, ...]
    outcome: str | None
    probe: str | None = None
    recheck: bool = False

    @property
    def is_end(self) -> bool:
        """True for an end step (it has an outcome and no answers)."""
        return self.kind == "end"

    @property
    def is_probe(self) -> bool:
        """True for a live check: its answers are probe outcomes, taken by the wizard."""
        return self.kind == "probe"

    def answer(self, answer_id: str) -> Answer | None:
        """The offered answer with this id, or None."""
        return next((a for a in self.answers if a.id == answer_id), None)


@dataclass(frozen=True)
class Flow:
    """A whole flow. ``version`` is the first 12 hex digits of the SHA-256 of the file's bytes;
    ``text`` is the file's text itself (stored with its version, see
    :class:`~assistant.store.flow_versions.FlowVersions`).

    ``remaining[step_id]`` is the fewest answers from that step to any end (0 at an end), used
    for the progress indication.
    """

    id: str
    title: str
    system: str
    summary: str
    keywords: tuple[str, ...]
    source_title: str
    source_section: str | None
    source_url: str | None
    start: str
    steps: dict[str, Step]
    causes: dict[str, Cause]
    version: str
    file: str
    remaining: dict[str, int] = field(default_factory=dict)
    text: str = field(default="", repr=False, compare=False)
