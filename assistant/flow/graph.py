"""Graph rules of a flow, and the walk of its state space.

A flow's *state* is a step plus its counter values. Counters are only compared with constants
(``below: N``), so a counter at or above the largest ``below`` it is compared with behaves the
same whatever its value: the state space is finite and :func:`states` enumerates it exactly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from . import schema
from .model import Flow, Step

Problem = tuple[tuple, str]
State = tuple[str, tuple[tuple[str, int], ...]]


def check_references(data: schema.FlowFile) -> list[Problem]:
    """Rules about names: start, answer targets, branch order, counters, causes, end steps.

    Returns ``(key path, message)`` pairs; empty when all hold.
    """
    out: list[Problem] = []
    steps = data.steps
    if data.start not in steps:
        out.append((("start",), f"start step '{data.start}' does not exist"))
    counted = {a.count for s in steps.values() for a in s.answers if a.count}
    for sid, step in steps.items():
        here = ("steps", sid)
        for i, cause in enumerate(step.causes):
            if cause not in data.causes:
                out.append((here + ("causes", i), f"cause '{cause}' is not in the flow's causes"))
        if step.kind == "probe":
            out.extend(_check_probe(data, sid, step))
            continue
        for key in ("probe", "outcomes", "otherwise", "recheck"):
            if getattr(step, key):
                out.append((here + (key,), f"only a probe step has '{key}'"))
        if step.kind == "end":
            if step.outcome is None:
                out.append((here, "an end step needs an 'outcome' "
                                  "(resolved, unresolved, escalated)"))
            if step.answers:
                out.append((here + ("answers",), "an end step cannot have answers"))
            continue
        if step.outcome is not None:
            out.append((here + ("outcome",), "only an end step has an outcome"))
        if not step.answers:
            out.append((here, f"step '{sid}' has no answers and is not an end: it has no way out"))
        seen: set[str] = set()
        for i, answer in enumerate(step.answers):
            at = here + ("answers", i)
            if answer.id in seen:
                out.append((at + ("id",), f"duplicate answer id '{answer.id}'"))
            seen.add(answer.id)
            branches = answer.next if isinstance(answer.next, list) else None
            targets = [answer.next] if branches is None else [b.to for b in branches]
            for j, target in enumerate(targets):
                if target not in steps:
                    key = at + ("next",) + ((j, "to") if branches is not None else ())
                    out.append((key, f"step '{target}' does not exist"))
            if branches is not None:
                if not branches:
                    out.append((at + ("next",), "needs at least one branch"))
                for j, b in enumerate(branches):
                    last = j == len(branches) - 1
                    if last and b.when is not None:
                        out.append((at + ("next", j, "when"),
                                    "the last branch must have no 'when' (it is the fallback)"))
                    if not last and b.when is None:
                        out.append((at + ("next", j),
                                    "only the last branch may have no 'when'"))
                    if b.when is not None and b.when.counter not in counted:
                        out.append((at + ("next", j, "when", "counter"),
                                    f"counter '{b.when.counter}' is never counted by any answer"))
    return out


def _check_probe(data: schema.FlowFile, sid: str, step: schema.Step) -> list[Problem]:
    """A probe step names a known probe of the flow's system, only outcomes that probe can
    give, existing steps, and an ``otherwise`` fallback (the manual path)."""
    from ..probes.checks import PROBES
    from ..probes.diagnosis import OUTCOMES_EXTRA, causes_for
    here = ("steps", sid)
    out: list[Problem] = []
    spec = PROBES.get(step.probe) if step.probe else None
    if step.probe is None:
        out.append((here, f"a probe step needs 'probe' (one of {', '.join(sorted(PROBES))})"))
    elif spec is None:
        out.append((here + ("probe",), f"unknown probe '{step.probe}' "
                                       f"(known: {', '.join(sorted(PROBES))})"))
    elif spec.system != data.system:
        out.append((here + ("probe",), f"probe '{step.probe}' checks {spec.system}, "
                                       f"but this flow is about {data.system}"))
    if spec is not None:
        allowed = set(OUTCOMES_EXTRA) | set(causes_for(spec.system))
        for outcome in step.outcomes:
            if outcome not in allowed:
                out.append((here + ("outcomes", outcome),
                            f"'{outcome}' is not an outcome of probe '{step.probe}': use "
                            "connected, unknown, timeout, unavailable or a cause id of "
                            f"{spec.system}"))
    for outcome, target in step.outcomes.items():
        if target not in data.steps:
            out.append((here + ("outcomes", outcome), f"step '{target}' does not exist"))
        elif data.steps[target].kind == "probe":
            out.append((here + ("outcomes", outcome),
                        f"step '{target}' is another probe step: show the customer what this "
                        "check found (or what to do) before checking again"))
    if step.otherwise is None:
        out.append((here, "a probe step needs 'otherwise': the step for any outcome it does "
                          "not list (the flow's manual path)"))
    elif step.otherwise not in data.steps:
        out.append((here + ("otherwise",), f"step '{step.otherwise}' does not exist"))
    elif data.steps[step.otherwise].kind == "probe":
        out.append((here + ("otherwise",), f"step '{step.otherwise}' is another probe step: "
                                           "the fallback must be the manual path"))
    if step.answers:
        out.append((here + ("answers",), "a probe step has no answers: its outcomes choose "
                                         "the next step"))
    if step.outcome is not None:
        out.append((here + ("outcome",), "only an end step has an outcome"))
    return out


def _caps(flow: Flow) -> dict[str, int]:
    caps: dict[str, int] = {}
    for step in flow.steps.values():
        for answer in step.answers:
            for b in answer.branches:
                if b.counter:
                    caps[b.counter] = max(caps.get(b.counter, 0), b.below)
    return caps


def successors(flow: Flow, state: State, caps: dict[str, int]) -> Iterator[tuple[str, State]]:
    """``(answer id, next state)`` for every answer of the state's step."""
    sid, frozen = state
    counters = dict(frozen)
    for answer in flow.steps[sid].answers:
        to = answer.destination(counters)
        after = dict(counters)
        if answer.count and answer.count in caps:
            after[answer.count] = min(after.get(answer.count, 0) + 1, caps[answer.count])
        yield answer.id, (to, tuple(sorted(after.items())))


MAX_STATES = 20_000


class TooManyStates(ValueError):
    """The loop counters combine into more states than :data:`MAX_STATES`."""


def states(flow: Flow) -> dict[State, list[tuple[str, State]]]:
    """Every state reachable from the start, with its outgoing ``(answer, state)`` edges.

    Raises:
        TooManyStates: more than :data:`MAX_STATES` states (counters multiply them).
    """
    caps = _caps(flow)
    start: State = (flow.start, tuple(sorted((c, 0) for c in caps)))
    graph: dict[State, list[tuple[str, State]]] = {}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        if state in graph:
            continue
        if len(graph) >= MAX_STATES:
            raise TooManyStates(
                f"the loop counters ({', '.join(f'{c} up to {n}' for c, n in caps.items())}) "
                f"combine into more than {MAX_STATES:,} states to check: use fewer counters "
                "or smaller 'below' limits")
        graph[state] = list(successors(flow, state, caps))
        queue.extend(nxt for _, nxt in graph[state] if nxt not in graph)
    return graph


def _can_finish(flow: Flow, graph: dict[State, list[tuple[str, State]]]) -> set[State]:
    back: dict[State, list[State]] = {s: [] for s in graph}
    for s, edges in graph.items():
        for _, t in edges:
            back[t].append(s)
    done = {s for s in graph if flow.steps[s[0]].is_end}
    queue = deque(done)
    while queue:
        for prev in back[queue.popleft()]:
            if prev not in done:
                done.add(prev)
                queue.append(prev)
    return done


def check_paths(flow: Flow) -> list[Problem]:
    """Every step is reachable from the start, and from every reachable state an end is reachable.

    A step from which no end can be reached reports the loop it is caught in.
    """
    try:
        graph = states(flow)
    except TooManyStates as e:
        return [(("steps",), str(e))]
    out: list[Problem] = []
    reached = {s for s, _ in graph}
    for sid in flow.steps:
        if sid not in reached:
            out.append((("steps", sid), f"step '{sid}' cannot be reached from the start"))
    finishing = _can_finish(flow, graph)
    stuck_steps: dict[str, State] = {}
    for state in graph:
        if state not in finishing:
            stuck_steps.setdefault(state[0], state)
    for sid, state in stuck_steps.items():
        loop = _loop_from(graph, state, finishing)
        out.append((("steps", sid), "loop with no exit: " + " → ".join(loop)
                    + " (no answer ever leads to an end)"))
    return out


def _loop_from(graph, state: State, finishing: set[State]) -> list[str]:
    """Step ids along a cycle of stuck states reached from ``state`` (stuck states always cycle)."""
    seen: dict[State, int] = {}
    path: list[State] = []
    while state not in seen:
        seen[state] = len(path)
        path.append(state)
        state = next(t for _, t in graph[state] if t not in finishing)
    return [s[0] for s in path[seen[state]:]] + [state[0]]


def distances_to_end(steps: dict[str, Step]) -> dict[str, int]:
    """Fewest answers from each step to an end step, ignoring counters (steps from which no
    end can be reached are left out)."""
    back: dict[str, set[str]] = {s: set() for s in steps}
    for sid, step in steps.items():
        for answer in step.answers:
            for b in answer.branches:
                back[b.to].add(sid)
    dist = {sid: 0 for sid, step in steps.items() if step.is_end}
    queue = deque(dist)
    while queue:
        cur = queue.popleft()
        for prev in back[cur]:
            if prev not in dist:
                dist[prev] = dist[cur] + 1
                queue.append(prev)
    return dist


def paths(flow: Flow, max_visits: int = 2) -> Iterator[list[tuple[str, str]]]:
    """Every walk from the start to an end, as ``[(step id, answer id), …]``.

    A state may appear at most ``max_visits`` times in one walk, so loops are walked around but
    the enumeration is finite. Meant for tests: the number of walks grows fast with branching.
    """
    graph = states(flow)
    start = next(iter(graph))

    def walk(state: State, trail: list, visits: dict) -> Iterator[list]:
        if flow.steps[state[0]].is_end:
            yield list(trail)
            return
        for answer, nxt in graph[state]:
            if visits.get(nxt, 0) >= max_visits:
                continue
            visits[nxt] = visits.get(nxt, 0) + 1
            trail.append((state[0], answer))
            yield from walk(nxt, trail, visits)
            trail.pop()
            visits[nxt] -= 1

    yield from walk(start, [], {start: 1})
