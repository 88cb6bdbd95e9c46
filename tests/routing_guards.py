"""Which entries of the routing data no test guards: ``python tests/routing_guards.py [FILE…]``.

Deletes each entry of each list of ``flows/routing/*.yaml`` (names, synonyms, phrases, word
lists, answers; not a family's flows) in turn, in a copy of the flows, and runs the routing
tests against it in-process (the test functions of tests/test_routing*.py, called with
routers built from the copy). An entry whose deletion fails no test is listed as *unguarded*;
one whose deletion changes nothing the router reads (the same terms, stems, stop words and
phrases: a duplicate after normalising) as *no-op*, without running the tests: such an entry
can go.

Tests needing an app, a database or a scratch folder (``client``, ``store``, ``flow_copy``…)
are left out, so an entry listed here may still be guarded by one of those: confirm with
``pytest tests/test_routing*.py`` on the edited file. Prints one line per unguarded entry and
the counts per file; exit 0. Takes a few minutes (each deletion builds two routers).
"""

from __future__ import annotations

import inspect
import itertools
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

import test_routing  # noqa: E402
import test_routing_es  # noqa: E402
import test_routing_pasted  # noqa: E402

import assistant.resources  # noqa: E402
from assistant.flow import load_flows  # noqa: E402
from assistant.routing import load_router  # noqa: E402

MODULES = (test_routing, test_routing_es, test_routing_pasted)
# a subprocess reading no routing words; commands (slow to start) routing texts the
# evaluation sets hold too
SKIPPED_TESTS = {"test_routing_imports_no_flask", "test_route_command_prints_one_json_object",
                 "test_route_command_takes_the_customers_language",
                 "test_the_evaluation_command_prints_figures_and_refuses_a_missing_set"}


def entries(data, path=()):
    """(key path, index, text) of every list entry of a routing file."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from entries(value, (*path, key))
    elif isinstance(data, list):
        if path[-1:] == ("flows",):
            return
        for i, item in enumerate(data):
            if isinstance(item, str):
                yield path, i, item
            else:
                yield from entries(item, (*path, i))


def without(data, path, index):
    out = yaml.safe_load(yaml.safe_dump(data))
    node = out
    for part in path:
        node = node[part]
    del node[index]
    return out


def _param_sets(fn):
    """Keyword sets of a test function's parametrize marks (their product)."""
    groups = []
    for mark in getattr(fn, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names, values = mark.args[0], mark.args[1]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        group = []
        for value in values:
            value = getattr(value, "values", value)
            if len(names) == 1 and not (isinstance(value, tuple) and len(value) == 1):
                value = (value,)
            group.append(dict(zip(names, value, strict=True)))
        groups.append(group)
    for combo in itertools.product(*groups):
        yield {k: v for part in combo for k, v in part.items()}


def run_tests(folder: Path) -> str | None:
    """The first routing test that fails on the flows in ``folder`` (``test: error``), or
    None."""
    flows, errors = load_flows([folder])
    try:
        en, es = load_router(flows), load_router(flows, "es")
    except Exception as e:  # noqa: BLE001 - a refused file fails the tests too
        return f"load: {e}"
    routers = {test_routing: en, test_routing_es: es, test_routing_pasted: en}
    for module in MODULES:
        fixtures = {"flows": flows, "router": routers[module], "english": en}
        for name, fn in vars(module).items():
            if not name.startswith("test_") or not inspect.isfunction(fn) \
                    or name in SKIPPED_TESTS:
                continue
            wanted = inspect.signature(fn).parameters
            for params in _param_sets(fn):
                needed = [p for p in wanted if p not in params]
                if any(p not in fixtures for p in needed):
                    continue
                try:
                    fn(**params, **{p: fixtures[p] for p in needed})
                except Exception as e:  # noqa: BLE001 - any failure is a failing test
                    return f"{module.__name__}::{name}: {type(e).__name__}"
    return None


def fingerprint(folder: Path, language: str):
    """Everything the router of ``language`` reads of the routing data, as sets."""
    flows, _ = load_flows([folder])
    r = load_router(flows, language)
    common = r.data.common
    from assistant.routing.text import words
    return (frozenset(r.analyser.known), frozenset(r.analyser.stop),
            {f: frozenset(p) for f, p in r._phrases.items()},
            {f: {c: frozenset(p) for c, p in cs.items()} for f, cs in r._causes.items()},
            {f: frozenset(p) for f, p in r._names.items()},
            [frozenset(p) for _, p in r._families], frozenset(r._other),
            frozenset(r._clauses.trouble), frozenset(r._clauses.activity),
            frozenset(r._clauses.healthy), frozenset(r._clauses.contrast),
            frozenset(r._clauses.exception), frozenset(r._clauses.names),
            frozenset(w for p in common.answers.yes for w in words(p)),
            frozenset(w for p in common.answers.no for w in words(p)))


def main(argv: list[str]) -> int:
    source = assistant.resources.flows_dir()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "flows"
        shutil.copytree(source, copy)
        # the tests and the commands they run read files through flows_dir(): the copy's
        for module in list(sys.modules.values()):
            if getattr(module, "flows_dir", None) is assistant.resources.flows_dir:
                module.flows_dir = lambda: copy
        baseline = run_tests(copy)
        if baseline:
            print(f"the routing tests fail before any deletion: {baseline}")
            return 1
        files = [Path(a).name for a in argv] or sorted(
            p.name for p in (source / "routing").glob("*.yaml"))
        for name in files:
            path = copy / "routing" / name
            original = path.read_text(encoding="utf-8")
            data = yaml.safe_load(original)
            languages = ["es"] if name.endswith(".es.yaml") else ["en", "es"]
            before = {lang: fingerprint(copy, lang) for lang in languages}
            found = list(entries(data))
            unguarded = noop = 0
            for key, index, text in found:
                path.write_text(yaml.safe_dump(without(data, key, index), allow_unicode=True),
                                encoding="utf-8")
                try:
                    same = all(fingerprint(copy, lang) == before[lang] for lang in languages)
                    if same or run_tests(copy) is None:
                        noop += same
                        unguarded += 1
                        print(f"  {'no-op' if same else 'unguarded'}: {name} "
                              f"{'.'.join(map(str, key))}: {text!r}", flush=True)
                finally:
                    path.write_text(original, encoding="utf-8")
            print(f"{name}: {len(found) - unguarded}/{len(found)} guarded "
                  f"({unguarded - noop} unguarded, {noop} no-op)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
