"""The flow author's commands: ``validate``, ``test``, ``import``, ``schema`` and
``preview`` (one flow served and reloaded on each save)."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import click

from ..flow import flow_files, flow_json_schema
from ..resources import flows_dir
from .servers import start_simulator


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
def validate(paths: tuple[str, ...]) -> None:
    """Check flow files (default: the shipped flows). Prints each problem as FILE:LINE: KEY: ..."""
    from ..flow.translate import translation_language
    files = flow_files(list(paths) or [flows_dir()])
    for path in paths:
        if not os.path.isdir(path) and Path(path) not in files \
                and not translation_language(path):  # checked beside its flow
            click.echo(f"skip {path}: not a flow file (a flow is NAME.yaml; NAME.KIND.yaml "
                       "files beside it, such as NAME.tests.yaml, are not flows)", err=True)
    if not files:
        click.echo("no flow files found", err=True)
        sys.exit(1)
    from ..config import _positive_int
    from ..flow_status import validate_flows
    max_bytes = _positive_int(os.environ, "FLOW_MAX_BYTES", 1_000_000)
    # The server's own rules (duplicate flow ids and FLOW_MAX_BYTES included), the
    # translations (NAME.LANG.yaml beside each flow) and the routing data (which names them).
    checked = validate_flows(files, max_bytes)
    for flow in checked.flows.values():
        click.echo(f"ok   {flow.file}  ({flow.id}, {len(flow.steps)} steps, "
                   f"version {flow.version})")
    for t in checked.translations.values():
        click.echo(f"{t.language:<4} {t.file}  ({len(t.texts)} texts of {t.flow_id}, all there)")
    for language, count in checked.routing_flows.items():
        click.echo(f"routing data ({language}) checked for {count} flow(s) in "
                   f"{', '.join(map(str, checked.routing_folders)) or 'no folder'}")
    errors = checked.errors
    for error in errors:
        click.echo(str(error), err=True)
    if errors:
        count = sum(len(e.problems) for e in errors)
        click.echo(f"rejected: {count} problem(s) (checked {len(files)} flow file(s) and "
                   "what lies beside them)", err=True)
        sys.exit(1)


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--min-coverage", default=0, show_default=True, type=click.IntRange(0, 100),
              help="Also fail when a flow's cases cover less than this percentage of its "
                   "transitions.")
def test_command(paths: tuple[str, ...], min_coverage: int) -> None:
    """Run the flow tests (NAME.tests.yaml beside NAME.yaml; default: the shipped flows).

    Prints per flow the cases passed and the transitions covered, and each failure as
    FILE:LINE: KEY: message; exit 1 on any failure."""
    from ..flow.testcases import pairs, run_flow_tests
    found = pairs(list(paths) or [flows_dir()])
    if not found:
        click.echo("no flow files found", err=True)
        sys.exit(1)
    failed = 0
    for flow_file, tests_file in found:
        report = run_flow_tests(flow_file, tests_file)
        name = report.flow.id if report.flow else flow_file.name
        percent = 100 * report.coverage
        if report.flow is None:
            summary = "not run"
        elif tests_file is None:
            summary = f"no tests ({flow_file.stem}.tests.yaml); 0 of {len(report.all)} " \
                      "transitions covered"
        else:
            summary = (f"{report.passed} of {report.cases} tests passed; "
                       f"{len(report.covered)} of {len(report.all)} transitions covered "
                       f"({percent:.0f} %)")
        short = report.flow is not None and percent < min_coverage
        mark = "ok  " if report.ok and not short else "FAIL"
        click.echo(f"{mark} {name}: {summary}")
        if report.flow is not None and report.missing and report.ok:
            for t in report.missing:
                click.echo(f"       not covered: {t}")
        for problem in report.problems:
            click.echo(str(problem), err=True)
        if short and report.ok:
            click.echo(f"{flow_file}: coverage {percent:.0f} % is below --min-coverage "
                       f"{min_coverage} %", err=True)
        failed += not report.ok or short
    if failed:
        click.echo(f"{failed} of {len(found)} flow(s) failed", err=True)
        sys.exit(1)


@click.command("import")
@click.argument("article", type=click.Path(dir_okay=False))
@click.option("--id", "flow_id", default=None,
              help="Flow id (with several product sections: the prefix of each id).")
@click.option("--out", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write the drafts to (NAME.yaml each).")
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
def import_command(article: str, flow_id: str | None, out: str, force: bool) -> None:
    """Import a help-center article (HTML, Markdown or plain text) as draft flows, one per
    product section. Each draft validates; what could not be placed is marked TODO."""
    from ..flow import FlowError
    from ..flow.schema import IDENTIFIER_PATTERN
    from ..importer import import_article
    if flow_id is not None and not re.match(IDENTIFIER_PATTERN, flow_id):
        raise click.UsageError(f"--id '{flow_id}' is not a flow id: use lower-case letters, "
                               "digits, '-' and '_'")
    try:
        drafts = import_article(article, flow_id)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise click.ClickException(f"cannot import {article}: "
                                   f"{getattr(e, 'strerror', None) or e}") from None
    except FlowError as e:  # pragma: no cover - a draft that fails the checks is our bug
        raise click.ClickException(
            f"the draft does not validate (please report this):\n{e}") from None
    folder = Path(out)
    targets = [folder / f"{d.id}.yaml" for d in drafts]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not force:
        raise click.ClickException(f"{', '.join(existing)} exist(s): nothing written "
                                   "(--force overwrites, --out writes elsewhere)")
    folder.mkdir(parents=True, exist_ok=True)
    for draft, target in zip(drafts, targets, strict=True):
        target.write_text(draft.text, encoding="utf-8")
        click.echo(f"wrote {target}  ({draft.steps} steps, {draft.causes} causes, "
                   f"{draft.todos} TODO)")


@click.command()
def schema() -> None:
    """Print the JSON Schema of a flow file (for editors' YAML support)."""
    click.echo(json.dumps(flow_json_schema(), indent=2))


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5050, show_default=True, type=int,
              help="0: any free port (the address is printed). Not 5000, so that `make "
                   "run` can run beside it.")
def preview(file: str, host: str, port: int) -> None:
    """Serve one flow FILE for its author: its checks (FILE:LINE: KEY: message), its flow
    tests and coverage, its diagram and the guide itself, reloaded whenever the file or its
    tests file is saved. A broken edit shows its problems and keeps the last good version
    walkable. Live checks talk to the built-in simulator (on a free loopback port); sessions
    go to a throwaway SQLite database, deleted on exit. Nothing to set up."""
    import logging
    import secrets
    import signal
    import tempfile

    from werkzeug.serving import make_server

    from ..flow import is_flow_file
    from ..flow.watch import FlowWatcher
    from ..probes.connections import DEMO_PATH
    from ..store import upgrade
    from ..web import create_app
    from ..web.preview import install
    path = Path(file)
    if not is_flow_file(path):
        raise click.UsageError(f"{file} is not a flow file: give NAME.yaml (a tests file "
                               "NAME.tests.yaml beside it is previewed with it)")
    if not path.is_file():
        raise click.ClickException(f"{file}: no such file")
    with tempfile.TemporaryDirectory(prefix="assistant-preview-") as tmp:
        # The demo connections read the simulator's address from the environment; a free
        # port keeps a preview beside `make run` (which uses 5001) or another preview.
        os.environ["SIMULATOR_URL"] = start_simulator("http://127.0.0.1:0")
        url = f"sqlite:///{Path(tmp) / 'preview.db'}"
        upgrade(url)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
                          "FLOWS_PATH": [], "CONNECTIONS_PATH": str(DEMO_PATH),
                          "TOKENS_DIR": str(Path(tmp) / "tokens"),
                          # A switched simulator scenario shows at the next check.
                          "PROBE_TTL_SECONDS": 1})
        watcher = FlowWatcher(path)
        install(app, watcher)
        state = watcher.poll()
        if state.current:
            click.echo(f"ok   {path}  ({state.flow.id}, {len(state.flow.steps)} steps)")
        for problem in state.problems:
            click.echo(str(problem), err=True)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per poll
        try:
            server = make_server(host, port, app, threaded=True)
        except (OSError, SystemExit) as e:  # werkzeug exits on "address already in use"
            reason = getattr(e, "strerror", None) or "the port is in use"
            raise click.ClickException(f"cannot serve on {host}:{port}: {reason} (--port "
                                       "chooses another)") from None
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"Preview of {path} at http://{shown}:{server.server_port}/preview "
                   "(Ctrl-C to stop)")
        sys.stdout.flush()  # the address, at once, also when stdout is a pipe

        def _stop(*_):
            # Once: a second signal (timeout(1) signals the process group too) must not
            # interrupt the clean-up.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            raise KeyboardInterrupt
        signal.signal(signal.SIGTERM, _stop)  # clean up the temporary folder on kill too
        signal.signal(signal.SIGINT, _stop)
        try:
            server.serve_forever()  # returns on KeyboardInterrupt
        finally:
            server.server_close()
            app.extensions["assistant"].probes.shutdown()
