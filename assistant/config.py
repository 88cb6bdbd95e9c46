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
| ``RATELIMIT_STORAGE_URI`` | where the login counters live (shared by worker processes) | memory |
| ``ABANDONED_AFTER_MINUTES`` | an active session with no answer for this long is abandoned | 30 |
| ``WEBHOOK_URL`` | handoffs are POSTed here as signed JSON, ``http://`` or ``https://`` | none |
|                 | (empty: no webhook; see :mod:`assistant.webhooks`)                   |      |
| ``WEBHOOK_SECRET`` | the HMAC-SHA256 key that signs each delivery; needed with a URL, | none |
|                    | at least 16 characters                                            |      |
| ``WEBHOOK_MAX_ATTEMPTS`` | attempts per webhook delivery before it is marked failed | 8 |
| ``WEBHOOK_BACKOFF_SECONDS`` | wait before the first retry; doubles each retry, at most 1 h | 30 |
| ``WEBHOOK_TIMEOUT_SECONDS`` | connect and read timeout of each delivery attempt | 10 |
| ``PUBLIC_URL`` | the app's address for links sent elsewhere (the webhook's console | none |
|                | link), like ``https://help.example.com``; without it they are paths  |      |

``INSTANCE_PATH`` defaults to Flask's instance folder: ``instance/`` in a source checkout,
``<venv>/var/assistant.web-instance`` for an installed package. It is made only when something
is kept in it (the default SQLite file, a generated secret key, the default token folder), so
a service user running a root-installed package with ``DATABASE_URL``, ``SECRET_KEY`` and
``TOKENS_DIR`` set (or an ``INSTANCE_PATH`` it may write) writes nothing in the installation.

Raises :class:`ConfigError` (with the variable's name) for a value that cannot be used.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

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
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or "memory://",
        "ABANDONED_AFTER_MINUTES": _positive_int(env, "ABANDONED_AFTER_MINUTES", 30,
                                                 maximum=60 * 24 * 30),
        "WEBHOOK_URL": env.get("WEBHOOK_URL") or None,
        "PUBLIC_URL": env.get("PUBLIC_URL") or None,
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
