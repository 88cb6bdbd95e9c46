"""Running a deployment: ``db upgrade``, the console accounts (``staff ...``) and signed
launch links (``launch-link``)."""

from __future__ import annotations

import sys

import click

from ..flow import load_flows


@click.group()
def db() -> None:
    """Database commands."""


@db.command()
def upgrade() -> None:
    """Apply all migrations to the database (DATABASE_URL, or SQLite in the instance folder)."""
    from ..store import upgrade as run_upgrade
    from ..web import configured_app
    url = configured_app().config["DATABASE_URL"]
    run_upgrade(url)
    click.echo(f"database is up to date: {_safe_url(url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


@click.group()
def staff() -> None:
    """Console accounts for support staff."""


def _read_password(confirm: bool = True) -> str:
    """The new password: prompted (hidden, twice) on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return sys.stdin.readline().rstrip("\r\n")


def _staff_accounts():
    from ..store import is_current, make_engine
    from ..store.staff import StaffAccounts
    from ..web import configured_app
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
    """Create a console account for EMAIL. The password (at least 12 characters, 5 of them
    different) is prompted for, or read from the first line of stdin when stdin is not a
    terminal."""
    from ..store.staff import StaffError, check_password
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
    from ..store.staff import StaffError
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
    from ..store.staff import StaffError
    try:
        click.echo(_staff_accounts().create_api_token(email))
    except StaffError as e:
        raise click.ClickException(str(e)) from None


@click.command("launch-link")
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

    from ..config import instance_secret_key
    from ..launch import sign
    from ..probes.connections import ConnectionsError, load_connections
    from ..web import configured_app, use_demo_launch_secret
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
