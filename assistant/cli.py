"""The ``assistant`` command line.

::

    assistant serve [--host H] [--port N]   run the wizard (development server)
    assistant preview FILE [--port N]       serve one flow for its author, reloaded on each save
    assistant validate [PATH ...]           check flow files; exit 1 on any problem
    assistant test [PATH ...]               run flow tests (NAME.tests.yaml), print coverage
    assistant import ARTICLE [--id ID] [--out DIR]  draft flows from a help-center article
    assistant db upgrade                    apply migrations to DATABASE_URL
    assistant schema                        print the JSON Schema of a flow file
    assistant simulate [--host H] [--port N] serve the vendor-endpoint simulator (loopback only)
    assistant diagnose [FILE|-]             diagnose one case of probe observations (YAML/JSON);
                                            exit 2 on malformed input
    assistant route [TEXT|-]                the guide, step and cause free text leads to (JSON);
                                            exit 2 on unreadable input
    assistant staff add EMAIL --role R      create a console account (password prompted, or
                                            read from stdin when it is not a terminal)
    assistant staff password EMAIL          set a new password (and reactivate the account)
    assistant staff list                    list the console accounts
    assistant staff token EMAIL             print a new API token for the JSON API's staff
                                            endpoints (shown once; only its hash is kept)
    assistant launch-link --connection ID --customer REF [--flow ID] [--minutes N]
                                            print a signed launch link (PUBLIC_URL + path)
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import NoReturn

import click

from .flow import flow_files, flow_json_schema, load_flows
from .resources import flows_dir


class _Group(click.Group):
    """Turns a configuration error into a one-line message and exit status 2, and a database
    that cannot be opened into one with exit status 1."""

    def invoke(self, ctx):
        from sqlalchemy.exc import OperationalError

        from .config import ConfigError
        try:
            return super().invoke(ctx)
        except ConfigError as e:
            raise click.UsageError(str(e)) from None
        except OperationalError as e:
            raise click.ClickException(f"cannot use the database: {e.orig}") from None


@click.group(cls=_Group)
def main() -> None:
    """Troubleshooting assistant: guided flows for customer support."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="Reload on code changes, show tracebacks.")
@click.option("--simulator/--no-simulator", default=True, show_default=True,
              help="With the demo connections, also serve the simulator they point at.")
@click.option("--help-center/--no-help-center", default=True, show_default=True,
              help="With the demo connections, also serve the demo help center "
                   "(DEMO_HELP_CENTER_URL) that embeds the guide.")
def serve(host: str, port: int, debug: bool, simulator: bool, help_center: bool) -> None:
    """Serve the wizard with Flask's development server (use gunicorn in production).

    Without CONNECTIONS_PATH the demo connections are used, and the simulator they point at
    (SIMULATOR_URL, a loopback address) is started in the same process, so the live checks
    work with nothing to configure."""
    from .config import embed_origins
    from .web import create_app
    app = create_app()
    services = app.extensions["assistant"]
    connections = services.connections
    if connections.demo and simulator and not os.environ.get("WERKZEUG_RUN_MAIN"):
        _start_simulator(connections.simulator_url)
    if connections.demo and help_center:
        url = app.config["DEMO_HELP_CENTER_URL"]
        if not os.environ.get("WERKZEUG_RUN_MAIN"):
            _start_help_center(url, f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}"
                                    f":{port}")
        origin = embed_origins(url)[0]
        if origin not in app.config["EMBED_ORIGINS"]:
            app.config["EMBED_ORIGINS"] = [*app.config["EMBED_ORIGINS"], origin]
        app.config["DEMO_HELP_CENTER_PAGE"] = f"{origin}/articles/how-to-reset-your-connection"
        click.echo(f"Demo help center (the guide inside an article): "
                   f"{app.config['DEMO_HELP_CENTER_PAGE']}")
    if connections.demo:
        click.echo("Demo mode: the live checks talk to the simulator, not to real accounts. "
                   f"Switch scenarios at {connections.simulator_url}/")
        email, password = _demo_login(app)
        click.echo(f"Staff console: http://{host}:{port}/console/ — log in as {email} with "
                   f"password {password} (a demo admin; the password is kept in "
                   f"{os.path.join(app.instance_path, DEMO_PASSWORD_FILE)})")
    else:
        click.echo(f"{len(connections)} connection(s) from {connections.path}")
    click.echo(f"Serving {len(services.flows)} flow(s) at http://{host}:{port}/")
    app.run(host=host, port=port, debug=debug)


DEMO_EMAIL = "demo-admin@example.com"
DEMO_PASSWORD_FILE = "demo-admin-password"


def _demo_login(app) -> tuple[str, str]:
    """The demo admin's email and password, creating the account (and a random password,
    kept 0600 in the instance folder) on first use."""
    import secrets

    from .store.staff import StaffError
    path = os.path.join(app.instance_path, DEMO_PASSWORD_FILE)
    os.makedirs(app.instance_path, exist_ok=True)  # kept there: made only now
    try:
        with open(path) as f:
            password = f.read().strip()
    except FileNotFoundError:
        password = ""
    fresh = len(password) < 12
    if fresh:
        password = secrets.token_urlsafe(12)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
    staff = app.extensions["assistant"].staff
    if staff.by_email(DEMO_EMAIL) is None:
        try:
            staff.add(DEMO_EMAIL, password, "admin")
        except StaffError:  # made at the same moment by another process
            pass
    elif fresh:
        staff.set_password(DEMO_EMAIL, password)
    return DEMO_EMAIL, password


def _is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    import ipaddress
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _start_simulator(url: str) -> str:
    """Serve the simulator at ``url`` (loopback only; port 0: any free port) on a daemon
    thread. Returns its URL."""
    import threading
    from urllib.parse import urlsplit

    from werkzeug.serving import make_server

    from .simulator import create_simulator
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if not _is_loopback(host):
        raise click.UsageError(f"SIMULATOR_URL {url} is not a loopback address: the simulator "
                               "accepts any credentials, so it only runs on 127.0.0.1")
    try:
        server = make_server(host, port, create_simulator(), threaded=True)
    except (OSError, SystemExit) as e:  # werkzeug exits on "address already in use"
        reason = getattr(e, "strerror", None) or "the port is in use"
        raise click.ClickException(
            f"cannot start the simulator at {url}: {reason}. Set SIMULATOR_URL to a free "
            "port (e.g. http://127.0.0.1:5002), or run with --no-simulator if `assistant "
            "simulate` already serves it") from None
    threading.Thread(target=server.serve_forever, daemon=True, name="simulator").start()
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme or 'http'}://{shown}:{server.server_port}"


@main.command()
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

    from .flow import is_flow_file
    from .flow.watch import FlowWatcher
    from .probes.connections import DEMO_PATH
    from .store import upgrade
    from .web import create_app
    from .web.preview import install
    path = Path(file)
    if not is_flow_file(path):
        raise click.UsageError(f"{file} is not a flow file: give NAME.yaml (a tests file "
                               "NAME.tests.yaml beside it is previewed with it)")
    if not path.is_file():
        raise click.ClickException(f"{file}: no such file")
    with tempfile.TemporaryDirectory(prefix="assistant-preview-") as tmp:
        # The demo connections read the simulator's address from the environment; a free
        # port keeps a preview beside `make run` (which uses 5001) or another preview.
        os.environ["SIMULATOR_URL"] = _start_simulator("http://127.0.0.1:0")
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


def _start_help_center(url: str, assistant_url: str) -> None:
    """Serve the demo help center at ``url`` (loopback only) on a daemon thread, embedding the
    assistant at ``assistant_url``."""
    import threading
    from urllib.parse import urlsplit

    from werkzeug.serving import make_server

    from .helpcenter import create_help_center
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port or 80
    if not _is_loopback(host):
        raise click.UsageError(f"DEMO_HELP_CENTER_URL {url} is not a loopback address: the "
                               "demo help center only runs on this machine")
    try:  # "localhost" is another site than 127.0.0.1 to the browser, served on 127.0.0.1
        server = make_server("127.0.0.1" if host == "localhost" else host, port,
                             create_help_center(assistant_url), threaded=True)
    except (OSError, SystemExit) as e:
        reason = getattr(e, "strerror", None) or "the port is in use"
        raise click.ClickException(
            f"cannot start the demo help center at {url}: {reason}. Set DEMO_HELP_CENTER_URL "
            "to a free port (e.g. http://localhost:5003), or run with --no-help-center"
        ) from None
    threading.Thread(target=server.serve_forever, daemon=True, name="help-center").start()


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
def validate(paths: tuple[str, ...]) -> None:
    """Check flow files (default: the shipped flows). Prints each problem as FILE:LINE: KEY: ..."""
    from .flow.translate import translation_language
    files = flow_files(list(paths) or [flows_dir()])
    for path in paths:
        if not os.path.isdir(path) and Path(path) not in files \
                and not translation_language(path):  # checked beside its flow
            click.echo(f"skip {path}: not a flow file (a flow is NAME.yaml; NAME.KIND.yaml "
                       "files beside it, such as NAME.tests.yaml, are not flows)", err=True)
    if not files:
        click.echo("no flow files found", err=True)
        sys.exit(1)
    from .config import _positive_int
    from .flow_status import validate_flows
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
        click.echo(f"{len(errors)} of {len(files)} flow file(s) rejected", err=True)
        sys.exit(1)


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--min-coverage", default=0, show_default=True, type=click.IntRange(0, 100),
              help="Also fail when a flow's cases cover less than this percentage of its "
                   "transitions.")
def test_command(paths: tuple[str, ...], min_coverage: int) -> None:
    """Run the flow tests (NAME.tests.yaml beside NAME.yaml; default: the shipped flows).

    Prints per flow the cases passed and the transitions covered, and each failure as
    FILE:LINE: KEY: message; exit 1 on any failure."""
    from .flow.testcases import pairs, run_flow_tests
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


@main.command("import")
@click.argument("article", type=click.Path(dir_okay=False))
@click.option("--id", "flow_id", default=None,
              help="Flow id (with several product sections: the prefix of each id).")
@click.option("--out", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write the drafts to (NAME.yaml each).")
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
def import_command(article: str, flow_id: str | None, out: str, force: bool) -> None:
    """Import a help-center article (HTML, Markdown or plain text) as draft flows, one per
    product section. Each draft validates; what could not be placed is marked TODO."""
    from .flow import FlowError
    from .flow.schema import IDENTIFIER_PATTERN
    from .importer import import_article
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


@main.group()
def db() -> None:
    """Database commands."""


@db.command()
def upgrade() -> None:
    """Apply all migrations to the database (DATABASE_URL, or SQLite in the instance folder)."""
    from .store import upgrade as run_upgrade
    from .web import configured_app
    url = configured_app().config["DATABASE_URL"]
    run_upgrade(url)
    click.echo(f"database is up to date: {_safe_url(url)}")


@main.group()
def staff() -> None:
    """Console accounts for support staff."""


def _read_password(confirm: bool = True) -> str:
    """The new password: prompted (hidden, twice) on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return sys.stdin.readline().rstrip("\r\n")


def _staff_accounts():
    from .store import is_current, make_engine
    from .store.staff import StaffAccounts
    from .web import configured_app
    url = configured_app().config["DATABASE_URL"]
    if not is_current(url):
        raise click.ClickException("the database is not migrated: run `assistant db upgrade`")
    return StaffAccounts(make_engine(url))


@staff.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["agent", "admin"]), default="agent",
              show_default=True, help="agent: sessions and handoffs; admin: also analytics "
              "and staff accounts.")
def staff_add(email: str, role: str) -> None:
    """Create a console account for EMAIL. The password (at least 12 characters) is prompted
    for, or read from the first line of stdin when stdin is not a terminal."""
    from .store.staff import StaffError, check_password
    accounts = _staff_accounts()
    password = _read_password()
    try:
        check_password(password)
        row = accounts.add(email, password, role)
    except StaffError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"created {row.role} {row.email}")


@staff.command("password")
@click.argument("email")
def staff_password(email: str) -> None:
    """Set a new password for EMAIL (prompted, or the first line of stdin), and reactivate
    the account if it was deactivated."""
    from .store.staff import StaffError
    try:
        row = _staff_accounts().set_password(email, _read_password())
    except StaffError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"password changed for {row.email}")


@staff.command("list")
def staff_list() -> None:
    """List the console accounts: email, role, active or not, last login."""
    for row in _staff_accounts().all():
        last = row.last_login_at.strftime("%Y-%m-%d %H:%M") if row.last_login_at else "never"
        click.echo(f"{row.email}\t{row.role}\t{'active' if row.active else 'inactive'}\t"
                   f"last login {last}")


@staff.command("token")
@click.argument("email")
def staff_token(email: str) -> None:
    """Print a new API token of the account EMAIL for the JSON API's staff endpoints
    (``Authorization: Bearer TOKEN``). It is shown once; only its SHA-256 is stored."""
    from .store.staff import StaffError
    try:
        click.echo(_staff_accounts().create_api_token(email))
    except StaffError as e:
        raise click.ClickException(str(e)) from None


@main.command("launch-link")
@click.option("--connection", "connection_id", required=True, metavar="ID",
              help="The connection the visitor may check (an id from CONNECTIONS_PATH).")
@click.option("--customer", required=True, metavar="REF",
              help="Your opaque reference for the customer, shown to support.")
@click.option("--flow", "flow_id", default=None, metavar="ID",
              help="Open this guide (else the list of guides).")
@click.option("--minutes", default=15, show_default=True, type=click.IntRange(1, 24 * 60),
              help="How long the link can be used to start a guide.")
def launch_link(connection_id: str, customer: str, flow_id: str | None, minutes: int) -> None:
    """Print a signed launch link: whoever opens it can start a guide that checks CONNECTION
    live, on behalf of CUSTOMER, within MINUTES. It starts with PUBLIC_URL when that is set
    (else it is a path). Signed with the first LAUNCH_SECRET (in demo mode without one, the
    demo's own secret)."""
    from urllib.parse import urlencode

    from .config import instance_secret_key
    from .launch import sign
    from .probes.connections import ConnectionsError, load_connections
    from .web import configured_app, use_demo_launch_secret
    app = configured_app()
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    try:
        connections = load_connections(app.config["CONNECTIONS_PATH"])
    except ConnectionsError as e:
        raise click.UsageError(f"CONNECTIONS_PATH: {e}") from None
    use_demo_launch_secret(app.config, connections)
    if not app.config["LAUNCH_SECRET"]:
        raise click.UsageError("LAUNCH_SECRET is not set: it signs the links (the app needs "
                               "the same value to check them)")
    connection = connections.get(connection_id)
    if connection is None:
        raise click.UsageError(f"no connection {connection_id!r} in {connections.path} (there "
                               f"are: {', '.join(connections) or 'none'})")
    if flow_id is not None:
        flows, _ = load_flows(app.config["FLOWS_PATH"])
        flow = flows.get(flow_id)
        if flow is None:
            raise click.UsageError(f"no guide {flow_id!r} (there are: {', '.join(sorted(flows))})")
        if flow.system != connection.system:
            raise click.UsageError(f"guide {flow_id!r} is about {flow.system}, connection "
                                   f"{connection_id!r} is {connection.system}")
    try:
        token = sign(app.config["LAUNCH_SECRET"], connection=connection_id, customer=customer,
                     flow=flow_id, minutes=minutes)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    path = (f"/flows/{flow_id}" if flow_id else "/") + "?" + urlencode({"launch": token})
    click.echo((app.config["PUBLIC_URL"] or "").rstrip("/") + path)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


@main.command()
def schema() -> None:
    """Print the JSON Schema of a flow file (for editors' YAML support)."""
    click.echo(json.dumps(flow_json_schema(), indent=2))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True, type=int)
@click.option("--delay", default=2.0, show_default=True, type=float,
              help="Seconds the 'slow' scenario waits before answering.")
def simulate(host: str, port: int, delay: float) -> None:
    """Serve fake QuickBooks / Salesforce endpoints with switchable scenarios (demo, tests).

    It accepts any credentials, so it refuses to listen on anything but a loopback address."""
    if not _is_loopback(host):
        raise click.UsageError(f"--host {host} is not a loopback address: the simulator accepts "
                               "any credentials, so it only listens on 127.0.0.1, ::1 or "
                               "localhost")
    from .simulator import create_simulator
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Simulator at http://{shown}:{port}/ (scenarios: /_sim/scenarios)")
    create_simulator(delay=delay).run(host=host, port=port, threaded=True)


DIAGNOSE_MAX_BYTES = 5 * 1024 * 1024   # a case is a few kB; vendor bodies are kept short
DIAGNOSE_MAX_DEPTH = 32                 # a case nests about 6 deep (plus a JSON body inline)


def _diagnose_refusal(text: str) -> str | None:
    """Why ``text`` is refused before it is loaded: a YAML alias (an alias bomb expands to a
    huge document) or nesting deeper than DIAGNOSE_MAX_DEPTH (PyYAML and the JSON encoder
    recurse); None when neither. Stops reading at the first of either."""
    import yaml
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            return (f"YAML aliases (*{event.anchor}, line {event.start_mark.line + 1}) are not "
                    "allowed: write the value out")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > DIAGNOSE_MAX_DEPTH:
                return (f"nested more than {DIAGNOSE_MAX_DEPTH} levels deep (line "
                        f"{event.start_mark.line + 1}): too deep to be a case")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


@main.command()
@click.argument("source", default="-", metavar="[FILE|-]")
def diagnose(source: str) -> None:
    """Diagnose one case ({system, observations}) read as YAML or JSON from FILE or stdin.

    Prints the diagnosis as one JSON object; exit 0 for any diagnosis (unknown too), exit 2
    with a one-line message for input that cannot be read or does not follow the format, is
    larger than 5 MB, nests more than 32 levels deep or uses YAML aliases."""
    import yaml

    from .probes.diagnosis import diagnose as run_diagnosis
    from .probes.observations import ObservationError, parse_case

    def _refuse(message: str) -> NoReturn:
        click.echo(f"assistant diagnose: {message}", err=True)
        sys.exit(2)

    name = "stdin" if source == "-" else source
    limit = DIAGNOSE_MAX_BYTES
    try:
        # read one character more than the limit allows: never the whole of a huge input
        if source == "-":
            text = sys.stdin.read(limit + 1)
        else:
            with open(source, encoding="utf-8") as f:
                text = f.read(limit + 1)
    except (OSError, UnicodeDecodeError) as e:
        _refuse(f"cannot read {name}: {getattr(e, 'strerror', None) or e}")
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        _refuse(f"{name}: larger than the limit of {limit // (1024 * 1024)} MB for one case")
    try:
        refusal = _diagnose_refusal(text)
        if refusal:
            _refuse(f"{name}: {refusal}")
        data = yaml.safe_load(text)
    except RecursionError:
        _refuse(f"{name}: nested too deeply to read")
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or "syntax error"
        _refuse(f"{name}: not valid YAML/JSON{where}: {problem}")
    try:
        system, observations = parse_case(data)
    except ObservationError as e:
        _refuse(f"{name}: {e}")
    except RecursionError:
        _refuse(f"{name}: nested too deeply to read")
    try:
        result = run_diagnosis(system, observations).to_json()
    except RecursionError:
        _refuse(f"{name}: nested too deeply to read")
    click.echo(json.dumps(result, indent=2, ensure_ascii=False))


ROUTE_MAX_BYTES = 256 * 1024   # as much as the web app accepts in one request


@main.command()
@click.argument("text", default="-", metavar="[TEXT|-]")
@click.option("--lang", "language", type=click.Choice(["en", "es"]), default="en",
              show_default=True, help="The language the customer writes in: their words, "
              "and what the router answers, are read and said in it.")
def route(text: str, language: str) -> None:
    """Route free text (a description, or a pasted error) to a guide: TEXT, or stdin for -.

    Prints one JSON object: flow (or null), step, cause (or null), confidence (0-1), question
    (a clarifying question, or null), message (for the customer), signal (a vendor code
    recognised, or null) and alternatives. Exit 0 for any answer ("no guide fits" too), 2 for
    input that cannot be read: not UTF-8, empty, or over 256 KB. The flows are FLOWS_PATH's."""
    from .config import settings
    from .flow import FlowError
    from .routing import load_router

    def _refuse(message: str) -> NoReturn:
        click.echo(f"assistant route: {message}", err=True)
        sys.exit(2)

    if text == "-":
        raw = sys.stdin.buffer.read(ROUTE_MAX_BYTES + 1)
        if len(raw) > ROUTE_MAX_BYTES:
            _refuse("stdin: larger than the limit of 256 KB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            _refuse(f"stdin: not UTF-8 text ({e.reason} at byte {e.start})")
    elif len(text.encode("utf-8", "surrogatepass")) > ROUTE_MAX_BYTES:
        _refuse("TEXT: larger than the limit of 256 KB")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):  # undecodable bytes in the argument
        _refuse("TEXT: not UTF-8 text")
    if not text.strip():
        _refuse("nothing to route: the text is empty")
    flows, errors = load_flows(flow_files(settings("instance")["FLOWS_PATH"]))
    for error in errors:  # route with the flows that load, as the server does
        click.echo(str(error), err=True)
    if not flows:
        raise click.ClickException("no flow could be loaded")
    try:
        router = load_router(flows, language)
    except FlowError as e:
        raise click.ClickException(f"the routing data is broken:\n{e}") from None
    click.echo(json.dumps(router.route(text).to_json(), indent=2, ensure_ascii=False))


if __name__ == "__main__":  # pragma: no cover
    main()
