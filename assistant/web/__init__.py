"""The web layer: the app factory (:func:`create_app`), the :class:`Services` the views use
and the check that the database is migrated. Error pages are in :mod:`.errors`, the security
headers of every response in :mod:`.headers`, the views in the blueprints' modules."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from flask import Flask, current_app, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from ..config import (
    ConfigError,
    check_launch,
    check_webhook,
    demo_launch_secret,
    embed_origins,
    instance_secret_key,
    settings,
)
from ..conversation import Conversations, Handoffs
from ..engine import CompiledFlow, compile_flows
from ..flow import Flow, load_flows
from ..flow_library import FlowLibrary
from ..logs import redact_app_logs
from ..probes.connections import ConnectionsError, load_connections
from ..probes.runner import ProbeRunner
from ..probes.tokens import TokenStore
from ..resources import PACKAGE, templates_dir
from ..store import ProbeChecks, Store, is_current, make_engine
from ..store.article_feedback import ArticleFeedbacks
from ..store.flow_versions import FlowVersions
from ..store.health import health_of, is_unavailable
from ..store.staff import StaffAccounts
from ..store.webhooks import WebhookDeliveries
from ..webhooks import WebhookSender
from . import delivery
from .errors import install_error_pages, install_refusals, unavailable_page
from .headers import security_headers

HTMX_FILE = "htmx-2.0.11.min.js"
csrf = CSRFProtect()


@dataclass
class Services:
    """What the views need: the valid flows (by id), their compiled machines, the store, the
    connections the probes may check, the runner of those checks, the staff accounts and
    the library of every flow version a session may be pinned to."""

    flows: dict[str, Flow]
    compiled: dict[str, CompiledFlow]
    store: Store
    connections: object  # assistant.probes.connections.Connections
    probes: object  # assistant.probes.runner.ProbeRunner
    staff: StaffAccounts
    library: FlowLibrary
    conversations: Conversations | None = None  # the application layer over all of the above

    def compiled_for(self, session) -> CompiledFlow | None:
        """The flow a session (``flow_id``, ``flow_version``, ``step``) walks: its pinned
        version (see :meth:`FlowLibrary.for_session`), or None if none can show it."""
        return self.library.for_session(session.flow_id, session.flow_version, session.step)


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in this app's URLs: 0 to 2**31 - 1, the largest row id an INTEGER column
    holds in PostgreSQL (SQLite's limit is higher). A bigger number in an address is a 404,
    never a database error (an overflow in SQLite, "integer out of range" in PostgreSQL)."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = 2**31 - 1, signed: bool = False):
        super().__init__(url_map, fixed_digits, min, max, signed)


def services() -> Services:
    """The current app's :class:`Services`."""
    return current_app.extensions["assistant"]


def configured_app(test_config: dict | None = None) -> Flask:
    """A Flask app with its settings only (no flows, no database connection yet).

    Raises:
        ConfigError: a setting from the environment cannot be used.
    """
    app = Flask(__name__, instance_relative_config=True, template_folder=str(templates_dir()),
                static_folder=str(PACKAGE / "static"),
                instance_path=os.path.abspath(os.environ["INSTANCE_PATH"])
                if os.environ.get("INSTANCE_PATH") else None)
    app.config.from_mapping(settings(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    if (app.config["DATABASE_URL"].startswith(f"sqlite:///{app.instance_path}")
            or not app.config.get("SECRET_KEY")):
        # Something is kept in the instance folder: make it (only then, and only here).
        try:
            os.makedirs(app.instance_path, exist_ok=True)
            if not os.access(app.instance_path, os.W_OK):
                raise PermissionError(13, "Permission denied")
        except OSError as e:
            raise ConfigError(
                f"INSTANCE_PATH {app.instance_path}: {e.strerror}. Set INSTANCE_PATH to a "
                "folder this user may write, or set DATABASE_URL and SECRET_KEY") from None
    try:
        make_url(app.config["DATABASE_URL"])
    except ArgumentError:
        raise ConfigError("DATABASE_URL is not a SQLAlchemy URL (e.g. sqlite:///file.db or "
                          "postgresql+psycopg://user@host/db)") from None
    check_webhook(app.config)
    check_launch(app.config)
    if isinstance(app.config.get("EMBED_ORIGINS"), str):  # given as text, as in the environment
        app.config["EMBED_ORIGINS"] = embed_origins(app.config["EMBED_ORIGINS"])
    return app


DEMO_PROBE_TTL_SECONDS = 3
def use_demo_launch_secret(config, connections) -> None:
    """In demo mode without ``LAUNCH_SECRET``, sign and verify launch links with a secret
    derived from ``SECRET_KEY``, so the demo's signed links work with nothing to set."""
    if not config["LAUNCH_SECRET"] and connections.demo:
        config["LAUNCH_SECRET"] = (demo_launch_secret(config["SECRET_KEY"]),)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. ``test_config`` overrides settings (e.g. ``DATABASE_URL``, ``FLOWS_PATH``).

    A broken flow file is logged with its file, line and key and left out; the valid flows are
    served.

    Raises:
        ConfigError: a setting from the environment cannot be used, or the database is not
            migrated (``assistant db upgrade``).
    """
    app = configured_app(test_config)
    delivery.install(app, versioned=frozenset({HTMX_FILE}))  # first: its hooks run last
    redact_app_logs(app)
    if app.config["TRUSTED_PROXIES"]:
        # X-Forwarded-For/-Proto from that many proxies in front (the client's address for the
        # login limits, https for HSTS and secure cookies); without the setting, never.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)

    engine = make_engine(app.config["DATABASE_URL"], app.config["DATABASE_TIMEOUT_SECONDS"])
    migrations = MigrationCheck(engine)
    if migrations.check() is False:
        raise ConfigError("the database is not migrated: run `assistant db upgrade`")
    flows, errors = load_flows(app.config["FLOWS_PATH"], max_bytes=app.config["FLOW_MAX_BYTES"])
    from ..flow.translate import load_translations
    translations, refused = load_translations(flows)
    for error in errors + refused:
        app.logger.error("flow refused:\n%s", error)
    connections = _connections(app)
    if connections.demo and not os.environ.get("PROBE_TTL_SECONDS") \
            and "PROBE_TTL_SECONDS" not in (test_config or {}):
        # A demo switches simulator scenarios: show a switch at the next check, not a minute on.
        app.config["PROBE_TTL_SECONDS"] = DEMO_PROBE_TTL_SECONDS
    use_demo_launch_secret(app.config, connections)
    if not app.config["LAUNCH_SECRET"] and len(connections):
        app.logger.warning("LAUNCH_SECRET is not set: no visitor can be bound to a connection, "
                           "so every probe step takes its manual path")
    try:
        tokens = TokenStore(app.config["TOKENS_DIR"])
    except OSError as e:
        raise ConfigError(f"TOKENS_DIR {app.config['TOKENS_DIR']}: {e.strerror} (set "
                          "TOKENS_DIR or INSTANCE_PATH to a folder this user may write)"
                          ) from None
    runner = ProbeRunner(ProbeChecks(engine), connections, tokens,
                         ttl=app.config["PROBE_TTL_SECONDS"],
                         workers=app.config["PROBE_WORKERS"])
    versions = FlowVersions(engine)
    # Before serving, so sessions started now can be resumed; a worker started while the
    # database was down records them once it answers (below).
    unrecorded = list(flows.values())
    if migrations.ok:
        versions.record(unrecorded)
        unrecorded.clear()
    compiled = compile_flows(flows)
    services = Services(flows, compiled, Store(engine), connections, runner,
                        StaffAccounts(engine), FlowLibrary(compiled, versions))
    app.extensions["assistant"] = services
    app.extensions["article_feedback"] = ArticleFeedbacks(engine)
    from .i18n import FlowTexts
    app.extensions["flow_texts"] = FlowTexts(translations)
    app.jinja_env.globals["htmx_file"] = HTMX_FILE
    # The webhook's sender thread (none without WEBHOOK_URL); requests only wake it.
    app.extensions["webhooks"] = WebhookSender.from_config(WebhookDeliveries(engine), app.config)
    app.extensions["webhooks"].start()
    from .handoff import console_link
    services.conversations = Conversations(
        flows=flows, compiled=compiled, library=services.library, store=services.store,
        probes=runner, connections=connections, staff=services.staff,
        handoffs=Handoffs(services.store, services.library, runner, services.staff,
                          app.extensions["webhooks"], console_link),
        launch_secret=app.config["LAUNCH_SECRET"],
        comment_max=app.config["COMMENT_MAX_CHARS"],
        message_max=app.config["HANDOFF_MESSAGE_MAX_CHARS"])

    @app.before_request  # first: nothing else runs against a database not known migrated
    def _database_migrated():
        # Started while the database was down: it is checked once it answers (each request
        # tries, at most once a second); until then, and if it turns out not migrated, 503.
        if (migrations.ok and not unrecorded) or request.endpoint == "static":
            return None
        if not migrations.ok and migrations.check() is False:
            app.logger.error("the database is not migrated: run `assistant db upgrade`")
            return unavailable_page()
        if not migrations.ok:
            return unavailable_page()
        versions.record(unrecorded)  # a database error here: install_error_pages' 503
        unrecorded.clear()
        return None

    install_refusals(app)   # before CSRFProtect's, which reads the form
    csrf.init_app(app)
    from .i18n import install as install_languages
    install_languages(app)

    app.url_map.converters["int"] = RowIdConverter  # before any view's rule is added
    from . import (
        endings,  # noqa: F401 - its views join the wizard's blueprint
        free_text,  # noqa: F401 - its views join the wizard's blueprint
        starting,  # noqa: F401 - its views join the wizard's blueprint
    )
    from .console import bp as console_bp
    from .console.auth import login_limits, login_manager
    from .embed import bp as embed_bp
    from .presenting import bp as presenting_bp
    from .wizard import bp, render_csrf_error
    app.register_blueprint(presenting_bp)
    app.register_blueprint(bp)
    app.register_blueprint(embed_bp)
    from .api import bp as api_bp
    app.register_blueprint(api_bp)
    # Templates get ``current_user`` as the lazy proxy rather than Flask-Login's context
    # processor, which loads the user (the session cookie, the staff table) for every page
    # rendered, a customer's step included; now only a template that reads it pays.
    login_manager.init_app(app, add_context_processor=False)
    app.jinja_env.globals["current_user"] = current_user
    login_manager.session_protection = None  # logins end by time and password instead
    app.extensions["login_limits"] = login_limits(app, engine)
    app.register_blueprint(console_bp)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        return render_csrf_error(error)

    install_error_pages(app)
    app.after_request(security_headers)
    return app


def _connections(app: Flask):
    """The connections config named by ``CONNECTIONS_PATH``, or the demo connections.

    Raises:
        ConfigError: the file cannot be read or is not a valid connections config.
    """
    try:
        return load_connections(app.config["CONNECTIONS_PATH"])
    except ConnectionsError as e:
        raise ConfigError(f"CONNECTIONS_PATH: {e}") from None


class MigrationCheck:
    """Whether the database is migrated, checked at start-up and, if the database did not
    answer then, again later (at most once a second) instead of failing the start."""

    def __init__(self, engine):
        self.engine = engine
        self.ok = False
        self._next = 0.0

    def check(self) -> bool | None:
        """True (migrated), False (not), or None (the database did not answer; logged once
        per outage by its health)."""
        now = time.monotonic()
        if now < self._next:
            return None
        self._next = now + 1.0
        try:
            self.ok = is_current(self.engine)
        except SQLAlchemyError as e:
            if not is_unavailable(e):
                raise
            health_of(self.engine).failed(e)
            return None
        return self.ok
