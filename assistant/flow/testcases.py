"""Flow tests: cases an author writes beside a flow, run on the engine, with transition coverage.

``flows/NAME.tests.yaml`` belongs to ``flows/NAME.yaml``::

    tests:
      - name: The agent is offline; the reset fixes it at step 3
        start: detect                  # optional: the flow's start
        counters: {repeats: 0}         # optional: loop counters at the start (0 if not given)
        steps:
          - probe: quickbooks_desktop.agent_offline   # what the live check found
            then: step-1-check-marks                  # the step it must lead to
          - answer: two-green-check-marks             # the answer id the customer picks
            then: step-2-connect
          - answer: clicked-connect
            then: step-3-refresh
          - answer: connected
            ends: resolved                            # an end step with this outcome

Each item gives ``answer`` (an answer id of the step the case is at) or ``probe`` (an outcome of
the live check at a probe step: ``connected``, a cause id, ``unknown``, ``timeout`` or
``unavailable``), and ``then`` (a step id), ``ends`` (``resolved``, ``unresolved`` or
``escalated``) or both. Problems are :class:`~assistant.flow.load.FlowProblem` (file, line, key).

A *transition* is one way out of a step: each branch of each answer (a counter's branches are
separate transitions), each outcome a probe step lists, and its ``otherwise``. Coverage is the
share of a flow's transitions that its cases take.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..engine import CompiledFlow, InvalidAnswer, Position
from . import schema
from .load import (
    FLOW_SUFFIXES,
    FlowError,
    FlowProblem,
    _Locator,
    _schema_problems,
    is_flow_file,
    load_flow,
    read_yaml_mapping,
)
from .model import OTHERWISE, Flow

TESTS_KIND = "tests"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaseStep(_Strict):
    """One move of a case and what must follow it."""

    answer: schema.Identifier | None = Field(default=None, description="An answer id.")
    probe: Annotated[str, Field(pattern=schema.PROBE_OUTCOME_PATTERN)] | None = Field(
        default=None, description="What the live check found: connected, a cause id, unknown, "
                                  "timeout or unavailable.")
    then: schema.Identifier | None = Field(default=None, description="The step it leads to.")
    ends: schema.Outcome | None = Field(default=None,
                                        description="The outcome of the end step it leads to.")


class Case(_Strict):
    """A named walk through a flow."""

    name: str = Field(min_length=1, max_length=200)
    start: schema.Identifier | None = Field(default=None,
                                            description="Step to start at (the flow's start).")
    counters: dict[schema.Identifier, Annotated[int, Field(ge=0, le=100, strict=True)]] = Field(
        default_factory=dict, description="Loop counters at the start (missing ones are 0).")
    steps: list[CaseStep] = Field(min_length=1)


class CasesFile(_Strict):
    """The top level of a ``NAME.tests.yaml`` file."""

    tests: list[Case] = Field(min_length=1)


@dataclass(frozen=True)
class Transition:
    """One way out of a step: ``answer`` (an answer id, a probe outcome or ``otherwise``) and,
    for an answer with counter branches, which branch (0-based)."""

    step: str
    answer: str
    branch: int
    to: str
    condition: str = ""  # "while repeats below 1", "otherwise", or "" for a single branch

    def __str__(self) -> str:
        cond = f" ({self.condition})" if self.condition else ""
        return f"{self.step} --{self.answer}--> {self.to}{cond}"


def transitions(flow: Flow) -> list[Transition]:
    """Every transition of ``flow``, in file order."""
    out: list[Transition] = []
    for step in flow.steps.values():
        for answer in step.answers:
            several = len(answer.branches) > 1
            for i, b in enumerate(answer.branches):
                condition = ""
                if several:
                    condition = (f"while {b.counter} below {b.below}" if b.counter
                                 else "otherwise")
                out.append(Transition(step.id, answer.id, i, b.to, condition))
    return out


@dataclass
class FlowReport:
    """The result of one flow's cases. ``problems`` are failures (an empty list: all passed)."""

    flow: Flow | None
    flow_file: Path
    tests_file: Path | None
    cases: int = 0
    passed: int = 0
    problems: list[FlowProblem] = field(default_factory=list)
    covered: set[Transition] = field(default_factory=set)
    all: list[Transition] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def coverage(self) -> float:
        """Covered share of the flow's transitions, 0.0–1.0 (0.0 for a flow with none)."""
        return len(self.covered) / len(self.all) if self.all else 0.0

    @property
    def missing(self) -> list[Transition]:
        return [t for t in self.all if t not in self.covered]


def tests_file_for(flow_file: Path) -> Path | None:
    """``NAME.tests.yaml`` (or ``.yml``) beside ``NAME.yaml``, if there is one."""
    for suffix in FLOW_SUFFIXES:
        candidate = flow_file.with_name(f"{flow_file.stem}.{TESTS_KIND}{suffix}")
        if candidate.is_file():
            return candidate
    return None


def is_tests_file(path: Path) -> bool:
    return path.suffix in FLOW_SUFFIXES and path.stem.endswith(f".{TESTS_KIND}")


def flow_file_for(tests_file: Path) -> Path:
    """The flow a tests file belongs to: ``NAME.yaml`` (or ``.yml``) beside ``NAME.tests.yaml``."""
    name = tests_file.stem[: -len(f".{TESTS_KIND}")]
    for suffix in FLOW_SUFFIXES:
        candidate = tests_file.with_name(name + suffix)
        if candidate.is_file():
            return candidate
    return tests_file.with_name(name + ".yaml")


def pairs(paths: list[str | Path]) -> list[tuple[Path, Path | None]]:
    """``(flow file, tests file or None)`` for the flows and tests files ``paths`` name: a folder
    gives every flow in it and every tests file (a tests file without its flow is kept, to be
    reported); a flow file gives its tests file; a tests file gives its flow."""
    out: dict[Path, Path | None] = {}
    for path in map(Path, paths):
        if path.is_dir():
            for q in sorted(path.iterdir()):
                if is_flow_file(q):
                    out.setdefault(q, tests_file_for(q))
                elif is_tests_file(q):
                    out[flow_file_for(q)] = q
        elif is_tests_file(path):
            out[flow_file_for(path)] = path
        else:
            out.setdefault(path, tests_file_for(path))
    return list(out.items())


def parse_cases(raw: bytes, file: str) -> tuple[CasesFile, _Locator]:
    """Read a tests file's structure.

    Raises:
        FlowError: YAML or structure problems, with file, line and key.
    """
    value, loc = read_yaml_mapping(raw, file, what="a tests file")
    try:
        return CasesFile.model_validate(value), loc
    except ValidationError as e:
        raise FlowError(_schema_problems(e, loc)) from None


def check_names(cases: CasesFile, flow: Flow, loc: _Locator) -> list[FlowProblem]:
    """Every name a case uses exists in ``flow``: steps, counters, probe outcomes; each item
    makes one move and says what follows it; case names are unique."""
    from ..probes.diagnosis import OUTCOMES_EXTRA, causes_for
    out: list[FlowProblem] = []
    counted = {a.count for s in flow.steps.values() for a in s.answers if a.count}
    outcomes = set(OUTCOMES_EXTRA) | set(causes_for(flow.system))
    names: set[str] = set()
    for i, case in enumerate(cases.tests):
        at = ("tests", i)
        if case.name in names:
            out.append(loc.problem(at + ("name",), f"another test is named '{case.name}'"))
        names.add(case.name)
        if case.start is not None and case.start not in flow.steps:
            out.append(loc.problem(at + ("start",), f"step '{case.start}' does not exist"))
        for counter in case.counters:
            if counter not in counted:
                out.append(loc.problem(at + ("counters", counter),
                                       f"the flow counts no counter '{counter}'"))
        for j, item in enumerate(case.steps):
            here = at + ("steps", j)
            if (item.answer is None) == (item.probe is None):
                out.append(loc.problem(here, "give either 'answer' (an answer id) or 'probe' "
                                             "(what the live check found)"))
            if item.then is None and item.ends is None:
                out.append(loc.problem(here, "say what must follow: 'then' (a step id) or "
                                             "'ends' (resolved, unresolved, escalated)"))
            if item.then is not None and item.then not in flow.steps:
                out.append(loc.problem(here + ("then",), f"step '{item.then}' does not exist"))
            if item.probe is not None and item.probe not in outcomes:
                out.append(loc.problem(here + ("probe",),
                                       f"'{item.probe}' is not an outcome of a {flow.system} "
                                       "check: use connected, unknown, timeout, unavailable "
                                       f"or a cause id of {flow.system}"))
    return out


def _branch(flow: Flow, step_id: str, answer_id: str, counters: dict[str, int]) -> int:
    answer = flow.steps[step_id].answer(answer_id)
    return next(i for i, b in enumerate(answer.branches) if b.holds(counters))


def run_cases(cases: CasesFile, compiled: CompiledFlow, loc: _Locator,
              report: FlowReport) -> None:
    """Walk every case on the engine; add failures and covered transitions to ``report``.

    A case stops at its first failure (what follows depends on where it is)."""
    flow = compiled.flow
    by_key = {(t.step, t.answer, t.branch): t for t in report.all}
    for i, case in enumerate(cases.tests):
        report.cases += 1
        position = Position(case.start or flow.start, dict(case.counters))
        failed = False
        for j, item in enumerate(case.steps):
            here = ("tests", i, "steps", j)
            step = flow.steps[position.step]
            try:
                if item.probe is not None:
                    if not step.is_probe:
                        raise InvalidAnswer(f"step '{step.id}' is not a probe step: give the "
                                            "customer's 'answer'")
                    listed = item.probe if step.answer(item.probe) else OTHERWISE
                    key = (step.id, listed, 0)
                    move = compiled.probe_outcome(position, item.probe)
                else:
                    if step.is_probe:
                        raise InvalidAnswer(f"step '{step.id}' is a probe step: give what the "
                                            "live check found ('probe')")
                    if step.answer(item.answer) is None:
                        offered = ", ".join(a.id for a in step.answers) or "nothing (an end)"
                        raise InvalidAnswer(f"step '{step.id}' offers no answer "
                                            f"'{item.answer}' (it offers {offered})")
                    key = (step.id, item.answer,
                           _branch(flow, step.id, item.answer, position.counters))
                    move = compiled.answer(position, item.answer)
            except InvalidAnswer as e:
                report.problems.append(loc.problem(here + (
                    "probe" if item.probe is not None else "answer",), str(e)))
                failed = True
                break
            report.covered.add(by_key[key])
            position = move.to
            reached = flow.steps[position.step]
            if item.then is not None and position.step != item.then:
                report.problems.append(loc.problem(here + ("then",), (
                    f"expected step '{item.then}', but '{move.answer}' at '{move.from_step}' "
                    f"led to '{position.step}'")))
                failed = True
                break
            if item.ends is not None and reached.outcome != item.ends:
                got = (f"the end '{reached.id}' ({reached.outcome})" if reached.is_end
                       else f"step '{reached.id}', which is not an end")
                report.problems.append(loc.problem(here + ("ends",), (
                    f"expected an end with outcome '{item.ends}', but '{move.answer}' at "
                    f"'{move.from_step}' led to {got}")))
                failed = True
                break
        if not failed:
            report.passed += 1


def run_flow_tests(flow_file: Path, tests_file: Path | None) -> FlowReport:
    """Load the flow and its cases, check them and run them.

    Problems of the flow, of the tests file's YAML and structure, and of its names are
    reported in that order (the first stage that finds any stops)."""
    try:
        flow = load_flow(flow_file)
    except FlowError as e:
        report = FlowReport(None, flow_file, tests_file)
        if not flow_file.exists() and tests_file is not None:
            report.problems.append(FlowProblem(
                str(tests_file), 1, "", f"no flow {flow_file.name} beside this tests file"))
        else:
            report.problems.extend(e.problems)
        return report
    return run_cases_on(flow, flow_file, tests_file)


def run_cases_on(flow: Flow, flow_file: Path, tests_file: Path | None,
                 raw: bytes | None = None) -> FlowReport:
    """Check and run the cases of ``tests_file`` (its bytes ``raw``, read here if None) on a
    flow already loaded, e.g. the one a preview shows (so both come from the same edit)."""
    report = FlowReport(flow, flow_file, tests_file, all=transitions(flow))
    if tests_file is None:
        return report
    try:
        cases, loc = parse_cases(tests_file.read_bytes() if raw is None else raw,
                                 str(tests_file))
    except FlowError as e:
        report.problems.extend(e.problems)
        return report
    except OSError as e:
        report.problems.append(FlowProblem(str(tests_file), 1, "",
                                           f"cannot read: {e.strerror}"))
        return report
    problems = check_names(cases, flow, loc)
    if problems:
        report.problems.extend(problems)
        return report
    run_cases(cases, CompiledFlow(flow), loc, report)
    return report
