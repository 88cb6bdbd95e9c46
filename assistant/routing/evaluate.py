"""Measure routing on an evaluation set: ``python -m assistant.routing.evaluate [--lang LANG]
FILE…`` (no FILE: every set in ``tests/fixtures/routing``).

A set is routed for customers writing in ``--lang``; without it, in the language its folder is
named for (``routing/es/*.yaml``: Spanish), else English.

A set is a YAML list of ``{text, flow, cause?, among?, kind}`` (see
``tests/fixtures/routing/heldout.yaml``): ``flow`` is a flow id, ``none`` (no guide fits: no
flow and no question) or ``ask`` (a question whose alternatives include every flow in
``among``); ``cause`` is a cause id or ``none`` (no cause may be named).

Figures: flow accuracy (right guide, right "none", right question), cause accuracy (over the
cases that expect one), and *confidently wrong*: a flow was named that is not the expected one
(for ``none`` and ``ask`` cases any named flow is). Prints one block per file and exits 0.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .router import Router
from .routes import Route


@dataclass
class Report:
    """The figures of one evaluation set; ``misses`` lists (case, route) not counted right."""

    cases: int = 0
    flow_right: int = 0
    causes: int = 0
    cause_right: int = 0
    confident_wrong: int = 0
    confident_wrong_out_of_scope: int = 0
    misses: list[tuple[dict, Route]] = field(default_factory=list)

    @property
    def flow_accuracy(self) -> float:
        return self.flow_right / self.cases if self.cases else 0.0

    @property
    def cause_accuracy(self) -> float:
        return self.cause_right / self.causes if self.causes else 0.0

    def lines(self) -> list[str]:
        return [f"flow accuracy   {self.flow_right}/{self.cases} = {self.flow_accuracy:.1%}",
                f"cause accuracy  {self.cause_right}/{self.causes} = {self.cause_accuracy:.1%}",
                f"confidently wrong guides: {self.confident_wrong} "
                f"({self.confident_wrong_out_of_scope} on out-of-scope text)"]


def read_cases(path: str | Path) -> list[dict]:
    """The cases of one evaluation file (ValueError when it is not a list of cases)."""
    cases = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(cases, list) or not all(
            isinstance(c, dict) and isinstance(c.get("text"), str) and c.get("flow")
            for c in cases):
        raise ValueError(f"{path}: must be a list of {{text, flow, …}}")
    return cases


def flow_right(case: dict, route: Route) -> bool:
    """True if ``route`` is what ``case`` expects of the guide."""
    expected = case["flow"]
    if expected == "none":
        return route.flow is None and route.question is None
    if expected == "ask":
        offered = {a.flow for a in route.alternatives}
        return route.flow is None and route.question is not None \
            and set(case.get("among", ())) <= offered
    return route.flow == expected


def set_language(path: str | Path) -> str:
    """The language a set is written in: its folder's name when that is a language the
    routing speaks (``routing/es/tuning.yaml`` → ``"es"``), else English."""
    from .text import STEMMERS
    folder = Path(path).resolve().parent.name
    return folder if folder in STEMMERS else "en"


def evaluate(router: Router, cases: list[dict]) -> Report:
    """Route every case and count (see the module docstring)."""
    report = Report()
    for case in cases:
        route = router.route(case["text"])
        report.cases += 1
        right = flow_right(case, route)
        report.flow_right += right
        if route.flow is not None and route.flow != case["flow"]:
            report.confident_wrong += 1
            report.confident_wrong_out_of_scope += case["flow"] == "none"
        cause_ok = True
        if "cause" in case:
            report.causes += 1
            wanted = None if case["cause"] == "none" else case["cause"]
            cause_ok = route.cause == wanted
            report.cause_right += cause_ok
        if not (right and cause_ok):
            report.misses.append((case, route))
    return report


def main(argv: list[str]) -> int:
    """``python -m assistant.routing.evaluate [--lang LANG] [FILE…]``: each evaluation set's
    figures and misses (default: the sets in tests/fixtures/routing, each in the language of
    its folder). Exit 0, or 2 (argparse's) for unusable arguments or an unreadable set."""
    import argparse

    from ..flow import load_flows
    from ..resources import flows_dir
    from . import load_router
    parser = argparse.ArgumentParser(prog="python -m assistant.routing.evaluate",
                                     description="Route each message of evaluation sets and "
                                                 "print the figures and the misses.")
    parser.add_argument("--lang", help="read every set in this language (default: the set's "
                                       "folder's, else English)")
    parser.add_argument("files", nargs="*", help="evaluation sets (YAML)")
    args = parser.parse_args(argv)
    language = args.lang
    argv = args.files or [str(p) for p in sorted(
        (Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "routing").glob("**/*.yaml"))]
    for path in argv:
        if not Path(path).is_file():
            parser.error(f"no such evaluation set: {path}")
    flows, errors = load_flows([flows_dir()])
    for error in errors:
        print(error, file=sys.stderr)
    routers = {}
    for path in argv:
        lang = language or set_language(path)
        if lang not in routers:
            routers[lang] = load_router(flows, lang)
        report = evaluate(routers[lang], read_cases(path))
        print(f"{path} ({lang})")
        for line in report.lines():
            print("  " + line)
        for case, route in report.misses:
            got = route.flow or ("ask " + "/".join(a.flow for a in route.alternatives)
                                 if route.question else "none")
            print(f"  miss: {case['text'][:70]!r}: expected {case['flow']}"
                  f"{' ' + case['cause'] if case.get('cause') else ''}, got {got}"
                  f"{' ' + route.cause if route.cause else ''} ({route.confidence})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
