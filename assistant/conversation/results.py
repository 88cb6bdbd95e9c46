"""What the application layer answers with: a session shown at a step (:class:`StepView`),
what a poll found (:class:`Polled`), what typed text did (:class:`Said`) and a session
started (:class:`Started`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine import CompiledFlow
from ..flow import Flow, Step
from ..store import CheckRecord, Feedback, FlowSession


@dataclass
class StepView:
    """A session shown at path index ``n`` (0 = the first step; at most its position).

    ``chosen``: the answer once given at ``n`` if ``n`` is in the past. ``transcript``: the
    answers before ``n`` (dicts from :func:`~.transcript.labelled`), at most
    :data:`~.service.TRANSCRIPT_TAIL` unless all were asked for; ``earlier``: how many are left out.
    ``finding``: the check that led to this step ("What we found"), or a past probe step's
    check. At the current probe step, ``checking`` is the check it waits for (``ready``: it is
    done, and a :meth:`~.service.Conversations.poll` applies its outcome) and ``previous`` the last
    result while a re-check waits for the TTL. ``feedback`` at a current end; ``closed``: the
    session is finished (no more answers)."""

    session: FlowSession
    compiled: CompiledFlow
    n: int
    step: Step
    chosen: str | None
    transcript: list[dict]
    finding: CheckRecord | None = None
    checking: CheckRecord | None = None
    previous: CheckRecord | None = None
    feedback: Feedback | None = None
    closed: bool = False

    @property
    def flow(self) -> Flow:
        return self.compiled.flow

    @property
    def current(self) -> bool:
        return self.n == self.session.position

    @property
    def earlier(self) -> int:
        return self.n - len(self.transcript)

    @property
    def ready(self) -> bool:
        """The check this probe step waits for is done: a poll goes on by its outcome."""
        return self.checking is not None and self.checking.done and self.previous is None


@dataclass
class Polled:
    """What a poll found: the session as it is now, the check, and whether this poll applied
    its outcome (the session moved on to the step it leads to)."""

    session: FlowSession
    check: CheckRecord
    applied: bool
    previous: CheckRecord | None = None


@dataclass
class Said:
    """Free text typed at a step: ``applied`` when it clearly meant one answer (``view``:
    the step to show next, as from :meth:`~.service.Conversations.answer`; ``session`` and
    ``show`` its session and index); otherwise ``candidates``, the answer ids it may mean
    (best first; every answer when none fits), to ask which one."""

    session: FlowSession
    show: int
    applied: bool
    candidates: tuple[str, ...] = ()
    view: StepView | None = None


@dataclass
class Started:
    """A session started, or (``resumed``) the one a launch token started already."""

    session: FlowSession
    resumed: bool = False
