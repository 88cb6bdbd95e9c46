"""Settings, read from the environment with safe defaults for a laptop.

| variable | meaning | default |
|---|---|---|
| ``INSTANCE_PATH`` | the instance folder: the app's own files (SQLite database, secret key, | see |
|                   | tokens, demo password); made only when something is kept there     | below |
| ``DATABASE_URL`` | any SQLAlchemy URL | SQLite file ``assistant.db`` in the instance folder |
| ``DATABASE_TIMEOUT_SECONDS`` | longest wait for a busy or unreachable database (then 503) | 0.75 |
| ``FLOW_MAX_BYTES`` | a larger flow file is refused unread | 1000000 |
| ``SECRET_KEY`` | signs the CSRF cookie | a random key kept in ``instance/secret_key`` |
| ``FLOWS_PATH`` | flow files or folders, separated by ``:`` | the shipped ``flows/`` |
| ``COMMENT_MAX_CHARS`` | longest feedback comment | 1000 |
| ``HANDOFF_MESSAGE_MAX_CHARS`` | longest message to support | 4000 |
| ``SESSION_COOKIE_SECURE`` | ``1`` behind TLS: the cookie goes over HTTPS only | off |
| ``CONNECTIONS_PATH`` | the connections config (YAML) the probes check | demo connections |
| ``SIMULATOR_URL`` | where the demo connections' simulator listens | http://127.0.0.1:5001 |
| ``PROBE_TTL_SECONDS`` | a connection is checked upstream at most once per this | 60 |
| ``PROBE_WORKERS`` | threads per process that run probe checks | 4 |
| ``TOKENS_DIR`` | OAuth tokens (rotated refresh tokens), one 0600 file each | ``instance/tokens`` |
| ``STAFF_LOGIN_HOURS`` | a console login ends this long after it began | 12 |
| ``LOGIN_RATE_LIMIT`` | failed staff logins allowed per client address | 10 per minute |
| ``LOGIN_EMAIL_RATE_LIMIT`` | failed staff logins allowed per email address | 20 per hour |
| ``RATELIMIT_STORAGE_URI`` | login counters: ``database`` (shared by every process) | database |
|                           | or a ``limits`` storage URI (``redis://…``)             |          |
| ``ABANDONED_AFTER_MINUTES`` | an active session with no answer for this long is abandoned | 30 |
| ``WEBHOOK_URL`` | handoffs are POSTed here as signed JSON, ``http://`` or ``https://`` | none |
|                 | (empty: no webhook; see :mod:`assistant.webhooks`)                   |      |
| ``WEBHOOK_SECRET`` | the HMAC-SHA256 key that signs each delivery; needed with a URL, | none |
|                    | at least 16 characters                                            |      |
| ``WEBHOOK_MAX_ATTEMPTS`` | attempts per webhook delivery before it is marked failed | 8 |
| ``WEBHOOK_BACKOFF_SECONDS`` | wait before the first retry; doubles each retry, at most 1 h | 30 |
| ``WEBHOOK_TIMEOUT_SECONDS`` | connect and read timeout of each delivery attempt | 10 |
| ``AGENT_SETUP_GUIDE_URL`` | the Agent Setup Guide that flows link to | Autofy's help center |
|                           | (``/help/agent-setup-guide`` redirects there)  |                     |
| ``TRUSTED_PROXIES`` | proxies in front whose ``X-Forwarded-For``/``-Proto`` are trusted | 0 |
| ``PUBLIC_URL`` | the app's address for links sent elsewhere (the webhook's console | none |
|                | link, ``assistant launch-link``), like ``https://help.example.com``; |      |
|                | without it they are paths                                            |      |
| ``LAUNCH_SECRET`` | the secret(s) of launch tokens (HS256), comma-separated, each | none (demo: |
|                   | at least 32 characters; the first signs, all verify           | derived)    |
| ``EMBED_ORIGINS`` | origins whose pages may embed the wizard (``/embed.js``), separated | none |
|                   | by spaces or commas, like ``https://help.example.com``; the CSP     |      |
|                   | ``frame-ancestors`` of the wizard's pages (the console: never)      |      |
| ``DEMO_HELP_CENTER_URL`` | demo mode: ``assistant serve`` serves a help-center | localhost:5002 |
|                          | page embedding the guide here (loopback only)       |                |

``INSTANCE_PATH`` defaults to Flask's instance folder: ``instance/`` in a source checkout,
``<venv>/var/assistant.web-instance`` for an installed package. It is made only when something
is kept in it (the default SQLite file, a generated secret key, the default token folder), so
a service user running a root-installed package with ``DATABASE_URL``, ``SECRET_KEY`` and
``TOKENS_DIR`` set (or an ``INSTANCE_PATH`` it may write) writes nothing in the installation.

Raises :class:`ConfigError` (with the variable's name) for a value that cannot be used.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

from .launch import LaunchSecretError, parse_secrets
from .resources import flows_dir


class ConfigError(ValueError):
    """A setting from the environment cannot be used; the message names the variable."""


def _positive_int(env, name: str, default: int, maximum: int = 10**9) -> int:
    raw = env.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise ConfigError(f"{name} must be a whole number from 1 to {maximum:,}, not {raw!r}")
    return value


def _count(env, name: str, default: int, maximum: int) -> int:
    raw = env.get(name, str(default))
    if not raw.strip().isdigit() or not 0 <= int(raw) <= maximum:
        raise ConfigError(f"{name} must be a whole number from 0 to {maximum}, not {raw!r}")
    return int(raw)


def _positive_seconds(env, name: str, default: float, minimum: float, maximum: float
                      ) -> float:
    raw = env.get(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not minimum <= value <= maximum:  # also refuses nan
        raise ConfigError(f"{name} must be a number of seconds from {minimum:g} to "
                          f"{maximum:g}, not {raw!r}")
    return value


def _is_http_url(url) -> bool:
    """True for an absolute ``http(s)://`` URL with a host, a numeric port if any, and no
    space or control character."""
    try:
        parts = urlsplit(str(url))  # raises ValueError for a broken [IPv6] host
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and not any(c.isspace() or ord(c) < 32 for c in str(url)))


# Where the article's "Agent Setup Guide" lives; a deployment sets its own help center's page.
DEFAULT_AGENT_SETUP_GUIDE_URL = "https://help.autofy.com/agent-setup-guide"


def _http_url(env, name: str, default: str) -> str:
    url = env.get(name) or default
    if not _is_http_url(url):
        raise ConfigError(f"{name} must be an http:// or https:// URL with a host, "
                          f"not {url!r}")
    return url


def check_webhook(config) -> None:
    """Check the webhook settings of an app config (a mapping): ``WEBHOOK_URL`` must be an
    absolute ``http(s)://`` URL with a host, and needs a ``WEBHOOK_SECRET`` of at least 16
    characters; ``PUBLIC_URL`` (the start of the console links it sends), if set, is an
    ``http(s)://`` host with nothing after it.

    Raises:
        ConfigError: naming the variable; the URL itself is not repeated (it may hold a token).
    """
    public = config.get("PUBLIC_URL")
    if public and (not _is_http_url(public) or urlsplit(public).path.strip("/")
                   or urlsplit(public).query or urlsplit(public).fragment):
        raise ConfigError("PUBLIC_URL must be the app's address: http:// or https://, a host "
                          "and maybe a port, nothing after it (like https://help.example.com)")
    url = config.get("WEBHOOK_URL")
    if not url:
        return
    if not _is_http_url(url):
        raise ConfigError("WEBHOOK_URL must be an http:// or https:// URL with a host "
                          "(like https://hooks.example.com/assistant), or empty for no webhook")
    secret = config.get("WEBHOOK_SECRET") or ""
    if len(secret) < 16:
        raise ConfigError("WEBHOOK_SECRET must be set, at least 16 characters, when "
                          "WEBHOOK_URL is (it signs every delivery)")


def check_launch(config) -> None:
    """Turn an app config's ``LAUNCH_SECRET`` (a comma-separated string or a list) into the
    tuple of its secrets, in place (see :func:`assistant.launch.parse_secrets`).

    Raises:
        ConfigError: a secret is too short (the value is not repeated).
    """
    try:
        config["LAUNCH_SECRET"] = parse_secrets(config.get("LAUNCH_SECRET"))
    except LaunchSecretError as e:
        raise ConfigError(f"LAUNCH_SECRET: {e}") from None


def demo_launch_secret(secret_key: str) -> str:
    """The launch secret of demo mode when ``LAUNCH_SECRET`` is not set: derived from the app's
    ``SECRET_KEY`` (HMAC-SHA256), so it is stable across restarts and never written down."""
    return hmac.new(secret_key.encode(), b"assistant demo launch links", "sha256").hexdigest()
def embed_origins(raw: str | None) -> list[str]:
    """``EMBED_ORIGINS`` as a list of origins (``scheme://host[:port]``, lower-case, in the
    order given, without repeats); empty for none.

    Raises:
        ConfigError: an entry is not an ``http(s)://`` origin with nothing after the host (a
            path, ``*`` or a quoted CSP keyword would widen or break ``frame-ancestors``).
    """
    origins: list[str] = []
    for entry in (raw or "").replace(",", " ").split():
        parts = urlsplit(entry)
        if (not _is_http_url(entry) or parts.path.strip("/") or parts.query
                or parts.fragment or parts.username or "*" in entry):
            raise ConfigError(f"EMBED_ORIGINS: {entry[:100]!r} is not an origin: give "
                              "http:// or https://, a host and maybe a port, nothing after "
                              "it (like https://help.example.com)")
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        if origin not in origins:
            origins.append(origin)
    return origins


def instance_secret_key(instance_path: str) -> str:
    """Read the instance's secret key, creating it (mode 0600) on first use.

    Safe when several processes start at once: the key is written to a private file first and
    linked into place, so nobody reads a half-written key and the first one written wins.
    """
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        try:
            key = path.read_text().strip()
        except FileNotFoundError:
            draft = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            try:
                os.link(draft, path)  # atomic, and fails if another process was first
            except FileExistsError:
                pass
            finally:
                os.unlink(draft)
            continue
        if key:
            return key
        time.sleep(0.01)  # an empty file: written by hand or by an older version
    raise ConfigError(f"{path} is empty: delete it or set SECRET_KEY")


def settings(instance_path: str) -> dict:
    """The app settings from the environment (see the module docstring)."""
    env = os.environ
    db_file = Path(instance_path) / "assistant.db"
    return {
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{db_file}",
        "DATABASE_TIMEOUT_SECONDS": _positive_seconds(env, "DATABASE_TIMEOUT_SECONDS", 0.75,
                                                      0.05, 60),
        "FLOW_MAX_BYTES": _positive_int(env, "FLOW_MAX_BYTES", 1_000_000),
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        "FLOWS_PATH": [p for p in env.get("FLOWS_PATH", "").split(os.pathsep) if p]
        or [str(flows_dir())],
        "COMMENT_MAX_CHARS": _positive_int(env, "COMMENT_MAX_CHARS", 1000),
        "HANDOFF_MESSAGE_MAX_CHARS": _positive_int(env, "HANDOFF_MESSAGE_MAX_CHARS", 4000),
        "CONNECTIONS_PATH": env.get("CONNECTIONS_PATH") or None,
        "PROBE_TTL_SECONDS": _positive_int(env, "PROBE_TTL_SECONDS", 60, maximum=86_400),
        "PROBE_WORKERS": _positive_int(env, "PROBE_WORKERS", 4, maximum=64),
        "TOKENS_DIR": env.get("TOKENS_DIR") or str(Path(instance_path) / "tokens"),
        "STAFF_LOGIN_HOURS": _positive_int(env, "STAFF_LOGIN_HOURS", 12, maximum=24 * 30),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT") or "10 per minute",
        "LOGIN_EMAIL_RATE_LIMIT": env.get("LOGIN_EMAIL_RATE_LIMIT") or "20 per hour",
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or "database",
        "ABANDONED_AFTER_MINUTES": _positive_int(env, "ABANDONED_AFTER_MINUTES", 30,
                                                 maximum=60 * 24 * 30),
        "WEBHOOK_URL": env.get("WEBHOOK_URL") or None,
        "PUBLIC_URL": env.get("PUBLIC_URL") or None,
        "AGENT_SETUP_GUIDE_URL": _http_url(env, "AGENT_SETUP_GUIDE_URL",
                                           DEFAULT_AGENT_SETUP_GUIDE_URL),
        "LAUNCH_SECRET": env.get("LAUNCH_SECRET") or None,
        "TRUSTED_PROXIES": _count(env, "TRUSTED_PROXIES", 0, maximum=10),
        "EMBED_ORIGINS": embed_origins(env.get("EMBED_ORIGINS")),
        "DEMO_HELP_CENTER_URL": env.get("DEMO_HELP_CENTER_URL") or "http://localhost:5002",
        "WEBHOOK_SECRET": env.get("WEBHOOK_SECRET") or None,
        "WEBHOOK_MAX_ATTEMPTS": _positive_int(env, "WEBHOOK_MAX_ATTEMPTS", 8, maximum=50),
        "WEBHOOK_BACKOFF_SECONDS": _positive_seconds(env, "WEBHOOK_BACKOFF_SECONDS", 30,
                                                     0.01, 3600),
        "WEBHOOK_TIMEOUT_SECONDS": _positive_seconds(env, "WEBHOOK_TIMEOUT_SECONDS", 10,
                                                     0.05, 120),
        # Forms are small: refuse bigger requests (413) before reading them.
        "MAX_CONTENT_LENGTH": 256 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,  # a customer may keep a step open for hours
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        # The cookie holds the CSRF secret: set SESSION_COOKIE_SECURE=1 when served over TLS.
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "") in ("1", "true", "yes"),
    }
