"""The shapes of the analytics (see :mod:`assistant.store.analytics`, which defines each
figure and computes them): the scope of a report, and the figures of a flow, a step, a
version, a language and a session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

REACTIONS = ("yes", "partly", "no")


@dataclass(frozen=True)
class Scope:
    """Which sessions a report is about: one flow, optionally one version, started on a UTC
    date from ``first_day`` to ``last_day`` (both included; None: no bound), optionally read
    in one ``language`` (``"es"``; None: any)."""

    flow_id: str
    version: str | None = None
    first_day: date | None = None
    last_day: date | None = None
    language: str | None = None


@dataclass(frozen=True)
class StepFigures:
    """Traffic at one step (see the module docstring): sessions that reached it, answered it,
    stopped there (abandoned), and the median time spent on it in milliseconds."""

    reached: int = 0
    answered: int = 0
    dropped: int = 0
    median_ms: float | None = None

    @property
    def dropped_share(self) -> float | None:
        """``dropped / reached`` (0–1), None when nothing reached the step."""
        return self.dropped / self.reached if self.reached else None


@dataclass(frozen=True)
class Comment:
    """A feedback comment: when (UTC), the reaction, the end step it was given at, the
    session's id and share code, and the language the session was read in when it was given
    (None: English, from before languages)."""

    at: datetime
    reaction: str
    comment: str
    end_step: str
    session_id: str
    code: str | None
    language: str | None = None


@dataclass(frozen=True)
class FlowReport:
    """The figures of one :class:`Scope` (defined in the module docstring). ``steps`` maps a
    step id to its :class:`StepFigures` for every step with any traffic."""

    started: int = 0
    finished: int = 0
    resolved: int = 0
    unresolved: int = 0
    escalated: int = 0
    abandoned: int = 0
    active: int = 0
    steps: dict[str, StepFigures] = field(default_factory=dict)
    causes: list[tuple[str, int]] = field(default_factory=list)
    reactions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REACTIONS, 0))
    comments: list[Comment] = field(default_factory=list)
    handoff_sessions: int = 0

    @property
    def handoff_share(self) -> float | None:
        """Share (0–1) of the sessions started that have a handoff; None if none started."""
        return self.handoff_sessions / self.started if self.started else None

    def step(self, step_id: str) -> StepFigures:
        """The figures of ``step_id`` (all zero if it had no traffic)."""
        return self.steps.get(step_id) or StepFigures()


@dataclass(frozen=True)
class VersionInfo:
    """One version of a flow seen in sessions: how many sessions have it, first and last
    start (UTC)."""

    version: str
    sessions: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class LanguageFigures:
    """The sessions of a scope read in one language: started, resolved, and the "Did this
    answer your question?" replies given in them."""

    language: str
    started: int = 0
    resolved: int = 0
    feedback: int = 0


@dataclass(frozen=True)
class SessionRow:
    """One session in scope, for an export. ``state`` is ``ended``, ``abandoned`` or
    ``active``; ``answers`` the length of its current path; ``reaction`` and ``comment`` its
    latest feedback (None: none); ``handoffs`` how many handoffs it has."""

    code: str | None
    started_at: datetime
    last_answer_at: datetime
    ended_at: datetime | None
    flow_version: str
    state: str
    outcome: str | None
    step: str
    answers: int
    cause: str | None
    reaction: str | None
    comment: str | None
    handoffs: int
    guided: bool
