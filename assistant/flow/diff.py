"""What changed between two versions of a flow, step by step: steps added and removed, and
for each step in both, what about it changed (its title, text, kind, outcome, live check) and
which answers were added, removed or changed (label or where they lead)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Answer, Flow, Step


@dataclass(frozen=True)
class AnswerChange:
    """An answer of a step in both versions whose label or destination changed; ``label``
    and ``to`` are (old, new) pairs, None where that part did not change."""

    id: str
    label: tuple[str, str] | None
    to: tuple[str, str] | None


@dataclass(frozen=True)
class StepChange:
    """A step in both versions that changed. ``fields`` names what changed about the step
    itself (``title``, ``text``, ``script``, ``kind``, ``outcome``, ``probe``, ``recheck``,
    ``causes``); ``title`` is the (old, new) title."""

    id: str
    title: tuple[str, str]
    fields: tuple[str, ...]
    answers_added: tuple[Answer, ...] = ()
    answers_removed: tuple[Answer, ...] = ()
    answers_changed: tuple[AnswerChange, ...] = ()


@dataclass(frozen=True)
class FlowDiff:
    """``old`` → ``new``: steps added (in the new version's order), removed (in the old
    version's order) and changed; ``start`` is (old, new) if the first step changed."""

    old: Flow
    new: Flow
    added: tuple[Step, ...] = ()
    removed: tuple[Step, ...] = ()
    changed: tuple[StepChange, ...] = ()
    start: tuple[str, str] | None = None
    unchanged: int = field(default=0)

    @property
    def empty(self) -> bool:
        """True if no step, answer or start changed (e.g. only the summary did)."""
        return not (self.added or self.removed or self.changed or self.start)


def _destination(answer: Answer) -> str:
    """Where an answer leads, as text: ``step`` or ``a if n < 3, else b``."""
    parts = [f"{b.to} while {b.counter} < {b.below}" if b.counter else b.to
             for b in answer.branches]
    return ", else ".join(parts)


def _step_fields(old: Step, new: Step) -> tuple[str, ...]:
    pairs = {"title": (old.title, new.title), "text": (old.body_html, new.body_html),
             "script": (old.script_html, new.script_html), "kind": (old.kind, new.kind),
             "outcome": (old.outcome, new.outcome), "probe": (old.probe, new.probe),
             "recheck": (old.recheck, new.recheck),
             "causes": ([c.id for c in old.causes], [c.id for c in new.causes])}
    return tuple(name for name, (a, b) in pairs.items() if a != b)


def _answers(old: Step, new: Step) -> tuple[tuple, tuple, tuple]:
    before = {a.id: a for a in old.answers}
    after = {a.id: a for a in new.answers}
    added = tuple(a for a in new.answers if a.id not in before)
    removed = tuple(a for a in old.answers if a.id not in after)
    changed = []
    for a in new.answers:
        b = before.get(a.id)
        if b is None:
            continue
        label = (b.label, a.label) if a.label != b.label else None
        to = ((_destination(b), _destination(a))
              if _destination(a) != _destination(b) else None)
        if label or to or a.count != b.count:
            changed.append(AnswerChange(a.id, label, to))
    return added, removed, tuple(changed)


def diff_flows(old: Flow, new: Flow) -> FlowDiff:
    """The steps and answers that differ from ``old`` to ``new`` (two versions of one flow)."""
    added = tuple(s for sid, s in new.steps.items() if sid not in old.steps)
    removed = tuple(s for sid, s in old.steps.items() if sid not in new.steps)
    changed, unchanged = [], 0
    for sid, step in new.steps.items():
        before = old.steps.get(sid)
        if before is None:
            continue
        fields = _step_fields(before, step)
        answers = _answers(before, step)
        if fields or any(answers):
            changed.append(StepChange(sid, (before.title, step.title), fields, *answers))
        else:
            unchanged += 1
    return FlowDiff(old, new, added, removed, tuple(changed),
                    (old.start, new.start) if old.start != new.start else None, unchanged)
