"""Free text as the answer to a step: "yes it's connected now", "still red X's", "listo".

Each of the step's answers is scored by the terms its label (and id) shares with the text
(typos corrected, stems, as for routing) and by polarity: the text and a label each say yes,
no, or neither, by the routing data's ``answers`` words ("still", "not", "todavía" say no).
Agreeing polarity adds 2, opposite polarity takes 2 away, each shared term adds 1. The best
answer is chosen when it scores above 0 and at least 1 more than the next; otherwise the
answers that scored above 0 (or all of them, when none did) are the ones to ask about. Text
that says no never chooses an answer whose label says neither: "it does not say connected"
shares its words with "It says Connected", and only the no tells them apart, so it asks.

A step with a single answer ("I clicked Disconnect") takes any text that does not say no; one
that says no matches nothing (the customer needs something else: support, or the list).
Probe and end steps take no free text.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..flow import Step
from .schema import CommonFile
from .text import Analyser, words


@dataclass(frozen=True)
class AnswerMatch:
    """``answer``: the chosen answer id, or None. When None, ``candidates`` are the answer
    ids the text may mean (ask which one), best first; empty when no answer fits."""

    answer: str | None
    candidates: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"answer": self.answer, "candidates": list(self.candidates)}


def _polarity(bag: set[str], yes: set[str], no: set[str]) -> int:
    """+1 when the words say yes, -1 when they say no (no wins: "yes, still red"), else 0."""
    if bag & no:
        return -1
    return 1 if bag & yes else 0


def match_answer(step: Step, text: str, analyser: Analyser, common: CommonFile) -> AnswerMatch:
    """The answer of ``step`` that ``text`` means (see the module docstring)."""
    if step.is_probe or step.is_end or not step.answers:
        return AnswerMatch(None)
    yes = {w for p in common.answers.yes for w in words(p)}
    no = {w for p in common.answers.no for w in words(p)}
    said = _polarity(set(words(text)), yes, no)
    terms = set(analyser.terms(text))
    if len(step.answers) == 1:
        only = step.answers[0]
        if said < 0:
            return AnswerMatch(None)
        shared = terms & set(analyser.terms(f"{only.label} {only.id}"))
        if said > 0 or shared:
            return AnswerMatch(only.id)
        return AnswerMatch(None, (only.id,))
    scored = []
    for answer in step.answers:
        label = f"{answer.label} {answer.id}"
        score = len(terms & set(analyser.terms(label)))
        means = _polarity(set(words(label)), yes, no)
        if said and means:
            score += 2 if said == means else -2
        scored.append((score, answer.id, means))
    scored.sort(key=lambda s: -s[0])
    best, runner_up = scored[0][0], scored[1][0]
    if said < 0 and scored[0][2] == 0:  # the no may be about that very label: ask
        return AnswerMatch(None, tuple(a.id for a in step.answers))
    if best > 0 and best - runner_up >= 1:
        return AnswerMatch(scored[0][1])
    positive = tuple(a for s, a, _ in scored if s > 0)
    return AnswerMatch(None, positive or tuple(a for _, a, _ in scored))
