"""Launch tokens: the host product's signed promise that a visitor may check one connection.

The host (the integration platform's web app, or its help center for logged-in customers)
signs a short-lived token for each customer and sends them to
``/flows/<flow_id>?launch=TOKEN`` (or ``/?launch=TOKEN`` to choose the guide). The start page
carries it on as the hidden form field ``launch`` of the POST that starts the session, and the
session is bound to the token's connection for good. Without a valid token (outside demo mode)
a session has no connection and its probe steps take their manual path.

The token is a JWT (RFC 7519) signed with HMAC-SHA256 (``HS256``) by PyJWT, with the claims:

| claim | meaning |
|---|---|
| ``connection`` | the connection id the visitor may check (see ``CONNECTIONS_PATH``) |
| ``customer`` | the host's opaque customer reference, shown to support (never a secret) |
| ``flow`` | optional: the only guide the token opens |
| ``iat``, ``exp`` | issued at, expires at (Unix seconds); at most :data:`MAX_MINUTES` apart |
| ``jti`` | a unique id: one token starts one session |

The shared secret comes from ``LAUNCH_SECRET``: several may be valid at once (comma-separated,
the first signs), so a secret can be rotated without breaking links already sent. This module
imports no Flask: the web layer, the command line and a host's tests use the same functions.
"""

from __future__ import annotations

import re
import secrets as _random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
MAX_MINUTES = 24 * 60
"""The longest a token may be valid (``exp - iat``): launch links are meant to be short-lived."""
DEFAULT_MINUTES = 15
MIN_SECRET_CHARS = 32
"""RFC 7518 §3.2: an HS256 key must be at least as long as the hash (256 bits)."""
LEEWAY_SECONDS = 30
"""Clock difference tolerated between the host that signs and this app."""
MAX_TOKEN_CHARS = 4096
MAX_CUSTOMER_CHARS = 200
# Connection and flow ids, as their files allow them.
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class LaunchTokenError(ValueError):
    """A launch token that cannot be used: malformed, signed with no secret we hold (tampered,
    or a wrong or retired secret), or missing a claim. The message says which, for logs; it
    never repeats the token."""


class LaunchTokenExpired(LaunchTokenError):
    """A correctly signed launch token whose ``exp`` has passed."""


class LaunchSecretError(ValueError):
    """A ``LAUNCH_SECRET`` value that cannot be used (the message says why, never the value)."""


@dataclass(frozen=True)
class Launch:
    """A verified launch token's claims. Times are timezone-aware UTC."""

    connection_id: str
    customer: str
    flow_id: str | None
    issued_at: datetime
    expires_at: datetime
    jti: str


def parse_secrets(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """The secrets of a ``LAUNCH_SECRET`` setting: a comma-separated string or a list, blanks
    around each ignored; the first signs, all verify. ``None`` or empty gives ``()``.

    Raises:
        LaunchSecretError: a secret shorter than :data:`MIN_SECRET_CHARS` characters.
    """
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    found = tuple(s.strip() for s in items if s and s.strip())
    for n, secret in enumerate(found, 1):
        if len(secret) < MIN_SECRET_CHARS:
            raise LaunchSecretError(
                f"secret {n} of {len(found)} has {len(secret)} characters; each needs at least "
                f"{MIN_SECRET_CHARS} (e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')")
    return found


def _secrets(value: str | Sequence[str]) -> tuple[str, ...]:
    found = parse_secrets(value)
    if not found:
        raise LaunchSecretError("no launch secret is set (LAUNCH_SECRET)")
    return found


def sign(secret: str | Sequence[str], *, connection: str, customer: str,
         flow: str | None = None, minutes: int = DEFAULT_MINUTES,
         now: datetime | None = None) -> str:
    """A launch token for ``customer`` (the host's opaque reference) to check ``connection``,
    optionally only in guide ``flow``, valid for ``minutes`` (1 to :data:`MAX_MINUTES`) from
    ``now``. ``secret`` is one secret or a ``LAUNCH_SECRET`` value (its first secret signs).

    Raises:
        LaunchSecretError: no usable secret.
        ValueError: a claim that :func:`verify` would refuse.
    """
    key = _secrets(secret)[0]
    if not 1 <= int(minutes) <= MAX_MINUTES:
        raise ValueError(f"minutes must be from 1 to {MAX_MINUTES}, not {minutes}")
    _check_claims(connection, customer, flow)
    issued = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    claims = {"connection": connection, "customer": customer,
              "iat": issued, "exp": issued + timedelta(minutes=int(minutes)),
              "jti": _random.token_urlsafe(16)}
    if flow:
        claims["flow"] = flow
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def verify(token: str, secret: str | Sequence[str], *, now: datetime | None = None) -> Launch:
    """The claims of ``token`` if one of the secrets signed it with HS256 and it is current.

    ``now`` (for tests) replaces the clock. Other algorithms (``none``, RS256 with the secret
    as a public key, …) are refused, as are tokens valid for more than :data:`MAX_MINUTES`.

    Raises:
        LaunchTokenExpired: correctly signed, but past its ``exp``.
        LaunchTokenError: anything else wrong with it.
        LaunchSecretError: no usable secret.
    """
    keys = _secrets(secret)
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise LaunchTokenError("the launch token is empty or too long")
    at = (now or datetime.now(UTC)).timestamp()
    claims = None
    for key in keys:
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "jti", "connection", "customer"],
                         "verify_exp": False, "verify_iat": False})
            break
        except jwt.InvalidSignatureError:
            continue  # another secret may have signed it (rotation)
        except jwt.InvalidTokenError as e:
            raise LaunchTokenError(f"the launch token is not usable: {e}") from None
    if claims is None:
        raise LaunchTokenError("the launch token was not signed with a current launch secret")
    # PyJWT checks exp and iat against the real clock; checked here against ``now`` instead.
    exp, iat = claims["exp"], claims["iat"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, iat)):
        raise LaunchTokenError("the launch token's exp and iat must be numbers")
    if iat > at + LEEWAY_SECONDS:
        raise LaunchTokenError("the launch token was issued in the future")
    if exp - iat > MAX_MINUTES * 60 + LEEWAY_SECONDS:
        raise LaunchTokenError(f"the launch token is valid for more than {MAX_MINUTES} minutes")
    if exp <= at - LEEWAY_SECONDS:
        raise LaunchTokenExpired("the launch token has expired")
    connection, customer, flow = claims["connection"], claims["customer"], claims.get("flow")
    jti = claims["jti"]
    try:
        _check_claims(connection, customer, flow)
    except ValueError as e:
        raise LaunchTokenError(f"the launch token is not usable: {e}") from None
    if not isinstance(jti, str) or not 8 <= len(jti) <= 128 or _CONTROL.search(jti):
        raise LaunchTokenError("the launch token's jti must be a string of 8 to 128 characters")
    return Launch(connection_id=connection, customer=customer, flow_id=flow or None,
                  issued_at=datetime.fromtimestamp(iat, UTC),
                  expires_at=datetime.fromtimestamp(exp, UTC), jti=jti)


def _check_claims(connection, customer, flow) -> None:
    if not isinstance(connection, str) or not _ID.match(connection):
        raise ValueError("connection must be a connection id (a-z, 0-9, - and _; up to 64)")
    if (not isinstance(customer, str) or not customer.strip()
            or len(customer) > MAX_CUSTOMER_CHARS or _CONTROL.search(customer)):
        raise ValueError(f"customer must be a reference of 1 to {MAX_CUSTOMER_CHARS} "
                         "characters without control characters")
    if flow is not None and (not isinstance(flow, str) or not _ID.match(flow)):
        raise ValueError("flow must be a flow id")
