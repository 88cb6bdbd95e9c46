"""``assistant serve`` and ``assistant simulate``: the wizard with Flask's development
server, the demo's simulator and help center beside it, and the demo admin's login."""

from __future__ import annotations

import os

import click


@click.command()
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
    from ..config import embed_origins
    from ..web import create_app
    app = create_app()
    services = app.extensions["assistant"]
    connections = services.connections
    if connections.demo and simulator and not os.environ.get("WERKZEUG_RUN_MAIN"):
        start_simulator(connections.simulator_url)
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

    from ..store.staff import StaffError
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


def start_simulator(url: str) -> str:
    """Serve the simulator at ``url`` (loopback only; port 0: any free port) on a daemon
    thread. Returns its URL."""
    import threading
    from urllib.parse import urlsplit

    from werkzeug.serving import make_server

    from ..simulator import create_simulator
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = 80 if parts.port is None else parts.port  # 0: any free port (not "no port")
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


def _start_help_center(url: str, assistant_url: str) -> None:
    """Serve the demo help center at ``url`` (loopback only) on a daemon thread, embedding the
    assistant at ``assistant_url``."""
    import threading
    from urllib.parse import urlsplit

    from werkzeug.serving import make_server

    from ..helpcenter import create_help_center
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = 80 if parts.port is None else parts.port
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


@click.command()
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
    from ..simulator import create_simulator
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Simulator at http://{shown}:{port}/ (scenarios: /_sim/scenarios)")
    create_simulator(delay=delay).run(host=host, port=port, threaded=True)
