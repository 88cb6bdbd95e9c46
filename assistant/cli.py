"""The ``assistant`` command line.

::

    assistant serve [--host H] [--port N]   run the wizard (development server)
    assistant validate [PATH ...]           check flow files; exit 1 on any problem
    assistant db upgrade                    apply migrations to DATABASE_URL
    assistant schema                        print the JSON Schema of a flow file
    assistant simulate [--host H] [--port N] serve the vendor-endpoint simulator (loopback only)
    assistant diagnose [FILE|-]             diagnose one case of probe observations (YAML/JSON);
                                            exit 2 on malformed input
    assistant staff add EMAIL --role R      create a console account (password prompted, or
                                            read from stdin when it is not a terminal)
    assistant staff password EMAIL          set a new password (and reactivate the account)
    assistant staff list                    list the console accounts
"""

from __future__ import annotations

import json
import os
import sys
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
def serve(host: str, port: int, debug: bool, simulator: bool) -> None:
    """Serve the wizard with Flask's development server (use gunicorn in production).

    Without CONNECTIONS_PATH the demo connections are used, and the simulator they point at
    (SIMULATOR_URL, a loopback address) is started in the same process, so the live checks
    work with nothing to configure."""
    from .web import create_app
    app = create_app()
    services = app.extensions["assistant"]
    connections = services.connections
    if connections.demo and simulator and not os.environ.get("WERKZEUG_RUN_MAIN"):
        _start_simulator(connections.simulator_url)
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


def _start_simulator(url: str) -> None:
    """Serve the simulator at ``url`` (loopback only) on a daemon thread."""
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


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
def validate(paths: tuple[str, ...]) -> None:
    """Check flow files (default: the shipped flows). Prints each problem as FILE:LINE: KEY: ..."""
    files = flow_files(list(paths) or [flows_dir()])
    if not files:
        click.echo("no flow files found", err=True)
        sys.exit(1)
    from .config import _positive_int
    max_bytes = _positive_int(os.environ, "FLOW_MAX_BYTES", 1_000_000)
    # The server's own rules: duplicate flow ids and FLOW_MAX_BYTES included.
    flows, errors = load_flows(files, max_bytes)
    for flow in flows.values():
        click.echo(f"ok   {flow.file}  ({flow.id}, {len(flow.steps)} steps, "
                   f"version {flow.version})")
    for error in errors:
        click.echo(str(error), err=True)
    if errors:
        click.echo(f"{len(errors)} of {len(files)} flow file(s) rejected", err=True)
        sys.exit(1)


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


if __name__ == "__main__":  # pragma: no cover
    main()
