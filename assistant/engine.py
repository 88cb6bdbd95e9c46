"""The flow engine: each flow compiled once into a shared ``transitions.Machine``.

A request holds a session's position (step id and counter values, loaded from the store), asks
:meth:`CompiledFlow.answer` to fire one answer, and stores the :class:`Move` it gets back.
The machine is never given a model of its own (``model=None``) and never given callback names:
conditions and counter updates are Python callables built here from the flow's data, so a flow
file cannot name code. ``auto_transitions=False`` so no ``to_<state>`` trigger exists.

Cost per answer does not depend on the number of steps: one dict lookup for the event, then the
transitions of that one step (see ``bench/``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from transitions import Machine, MachineError

from .flow import Branch, Flow
from .flow.model import OTHERWISE


class InvalidAnswer(ValueError):
    """The answer is not one the current step offers. Nothing changed."""


@dataclass
class Position:
    """Where a session is: a step id and its loop counters (``{counter: count}``)."""

    step: str
    counters: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Move:
    """The result of one answer: from which step, by which answer, to which position."""

    from_step: str
    answer: str
    to: Position


def _trigger(step_id: str, answer_id: str) -> str:
    # ':' cannot occur in an id, so each (step, answer) pair gets its own event.
    return f"{step_id}:{answer_id}"


def _holds(branch: Branch):
    # The same rule the flow checker walks with (Branch.holds): one interpreter of conditions.
    return lambda event: branch.holds(event.model.counters)


def _count(counter: str):
    def add_one(event) -> None:
        event.model.counters[counter] = event.model.counters.get(counter, 0) + 1
    return add_one


class CompiledFlow:
    """A :class:`Flow` and its ``transitions.Machine``. Safe to share between threads."""

    def __init__(self, flow: Flow):
        self.flow = flow
        self.machine = Machine(model=None, states=list(flow.steps), initial=flow.start,
                               auto_transitions=False, send_event=True,
                               model_attribute="step")
        for step in flow.steps.values():
            for answer in step.answers:
                after = [_count(answer.count)] if answer.count else []
                for branch in answer.branches:
                    conditions = [_holds(branch)] if branch.counter else []
                    self.machine.add_transition(_trigger(step.id, answer.id), step.id, branch.to,
                                                conditions=conditions, after=after)

    def start(self) -> Position:
        """The position of a new session."""
        return Position(self.flow.start, {})

    def answer(self, position: Position, answer_id: str) -> Move:
        """Fire ``answer_id`` at ``position``; ``position`` itself is not changed.

        Raises:
            InvalidAnswer: the step does not exist, is an end, or does not offer this answer.
        """
        step = self.flow.steps.get(position.step)
        if step is None or step.answer(answer_id) is None:
            raise InvalidAnswer(f"step '{position.step}' offers no answer '{answer_id}'")
        walker = Position(position.step, dict(position.counters))
        try:
            fired = self.machine.events[_trigger(step.id, answer_id)].trigger(walker)
        except MachineError as e:  # pragma: no cover - guarded by the check above
            raise InvalidAnswer(str(e)) from None
        if not fired:  # pragma: no cover - the last branch is unconditional (checked at load)
            raise InvalidAnswer(f"no branch of '{answer_id}' applies")
        return Move(step.id, answer_id, walker)


    def probe_outcome(self, position: Position, outcome: str) -> Move:
        """Go on from a probe step by the outcome of its check (``connected``, a cause id,
        ``unknown``, ``timeout`` or ``unavailable``): the step listed for that outcome, else the
        step's ``otherwise``. The move's ``answer`` is the outcome itself, for the transcript.

        Raises:
            InvalidAnswer: the position is not at a probe step.
        """
        step = self.flow.steps.get(position.step)
        if step is None or not step.is_probe:
            raise InvalidAnswer(f"step '{position.step}' is not a probe step")
        move = self.answer(position, outcome if step.answer(outcome) else OTHERWISE)
        return Move(move.from_step, outcome, move.to)


def compile_flows(flows: dict[str, Flow]) -> dict[str, CompiledFlow]:
    """Compile every flow (once, at start-up)."""
    return {fid: CompiledFlow(flow) for fid, flow in flows.items()}
