"""What a probe saw, as typed values: the observation format of ``shared/fixtures/README.md``.

One observation is a mapping with a ``kind`` and the fields of that kind:

============== ==========================================================================
kind           fields
============== ==========================================================================
http           ``endpoint``, ``status`` (100-599), ``headers`` (mapping, optional; keys are
               case-insensitive), ``body`` (raw text, optional; a mapping or list is stored
               as its JSON text)
sdk_error      ``hresult`` (hex string such as ``"0x80040414"``, or an integer), ``message``
log_line       ``text``
oauth_callback ``query`` (the raw query string of the redirect)
token          ``issued_seconds_ago``, ``expires_in`` (numbers of seconds)
transport      ``error`` (``timeout``, ``connection_refused``, ``dns``, ``tls``), ``endpoint``
               (optional)
============== ==========================================================================

``parse_observation`` turns one mapping into one of the frozen dataclasses below and
``parse_case`` reads ``{"system": ..., "observations": [...]}``; both raise
:class:`ObservationError` naming the index and key that is wrong, e.g.
``observations[1].status: must be an integer 100-599``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

SYSTEMS = ("quickbooks_desktop", "quickbooks_online", "salesforce")
ENDPOINTS = ("rest_api", "token", "limits", "status_page", "agent_status", "company_info")
TRANSPORT_ERRORS = ("timeout", "connection_refused", "dns", "tls")
KINDS = ("http", "sdk_error", "log_line", "oauth_callback", "token", "transport")


class ObservationError(ValueError):
    """An observation or case that does not follow the format; the message names the place,
    e.g. ``observations[1].status: must be an integer 100-599``."""


@dataclass(frozen=True)
class Headers:
    """HTTP headers whose names compare case-insensitively. ``items`` keeps the names as sent."""

    items: tuple[tuple[str, str], ...] = ()

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of header ``name`` (any case), or ``default``."""
        wanted = name.lower()
        for key, value in self.items:
            if key.lower() == wanted:
                return value
        return default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def to_dict(self) -> dict[str, str]:
        """The headers as a plain dict (names as sent)."""
        return dict(self.items)


@dataclass(frozen=True)
class HttpObservation:
    """One HTTP response from a vendor endpoint or the desktop agent's status endpoint."""

    endpoint: str
    status: int
    headers: Headers = Headers()
    body: str = ""
    kind: str = "http"


@dataclass(frozen=True)
class SdkErrorObservation:
    """An error the QuickBooks SDK (qbXML Request Processor) raised on the desktop.
    ``hresult`` is normalised to ``0x`` + 8 upper-case hex digits."""

    hresult: str
    message: str = ""
    kind: str = "sdk_error"


@dataclass(frozen=True)
class LogLineObservation:
    """One line of the desktop connector's (Web Connector's) log."""

    text: str
    kind: str = "log_line"


@dataclass(frozen=True)
class OAuthCallbackObservation:
    """The redirect back from an OAuth consent screen, as its raw query string."""

    query: str
    kind: str = "oauth_callback"

    @property
    def params(self) -> dict[str, str]:
        """The query's parameters (first value of each; ``+`` and %-escapes decoded)."""
        return {k: v[0] for k, v in parse_qs(self.query, keep_blank_values=True).items()}


@dataclass(frozen=True)
class TokenObservation:
    """What the product knows about the access token it used (seconds)."""

    issued_seconds_ago: float
    expires_in: float
    kind: str = "token"

    @property
    def expired(self) -> bool:
        """True when the token's lifetime has run out."""
        return self.issued_seconds_ago >= self.expires_in


@dataclass(frozen=True)
class TransportObservation:
    """No HTTP response at all: ``error`` is one of ``TRANSPORT_ERRORS``."""

    error: str
    endpoint: str | None = None
    kind: str = "transport"


Observation = (HttpObservation | SdkErrorObservation | LogLineObservation
               | OAuthCallbackObservation | TokenObservation | TransportObservation)

_FIELDS: dict[str, tuple[set[str], set[str]]] = {  # kind -> (required, optional)
    "http": ({"endpoint", "status"}, {"headers", "body"}),
    "sdk_error": ({"hresult"}, {"message"}),
    "log_line": ({"text"}, set()),
    "oauth_callback": ({"query"}, set()),
    "token": ({"issued_seconds_ago", "expires_in"}, set()),
    "transport": ({"error"}, {"endpoint"}),
}

_HEX = re.compile(r"0x[0-9a-f]{1,8}", re.IGNORECASE)


def normalise_hresult(value: Any) -> str | None:
    """``"0x8004041a"``, ``"8004041A"``, ``2147746842`` or ``-2147220454`` -> ``"0x8004041A"``;
    eight bare digits (``"80040414"``) are hex, as logs print them; None when ``value`` is not
    an HRESULT."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if _HEX.fullmatch(text):
            number = int(text, 16)
        elif re.fullmatch(r"[0-9a-f]{8}", text, re.IGNORECASE):
            # eight bare digits are hex ("80040414", as logs print it), never decimal: an error
            # HRESULT in decimal is negative or at least 2**31, which takes ten digits
            number = int(text, 16)
        elif re.fullmatch(r"-?\d{1,10}", text):
            number = int(text)
        else:
            return None
    else:
        return None
    if not -(2**31) <= number < 2**32:
        return None
    return f"0x{number & 0xFFFFFFFF:08X}"


def _where(index: int | None, key: str) -> str:
    return f"observations[{index}].{key}" if index is not None else key


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ObservationError(f"{where}: must be a string")
    return value


def _number(value: Any, where: str, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ObservationError(f"{where}: must be a number of seconds")
    if value < 0 or (positive and value == 0) or value != value:
        raise ObservationError(f"{where}: must be {'above' if positive else 'at least'} 0")
    return value


def _endpoint(value: Any, where: str) -> str:
    if value not in ENDPOINTS:
        raise ObservationError(f"{where}: must be one of {', '.join(ENDPOINTS)}")
    return value


def parse_observation(data: Any, index: int | None = None) -> Observation:
    """One observation mapping -> its dataclass. Observation instances pass through unchanged.

    Raises ObservationError (``observations[INDEX].KEY: problem``) for a non-mapping, an
    unknown ``kind``, a missing or unknown key, or a value of the wrong type or range.
    """
    if isinstance(data, Observation):
        return data
    if not isinstance(data, Mapping):
        where = f"observations[{index}]" if index is not None else "observation"
        raise ObservationError(f"{where}: must be a mapping with a 'kind'")
    kind = data.get("kind")
    if kind not in KINDS:
        raise ObservationError(f"{_where(index, 'kind')}: must be one of {', '.join(KINDS)}")
    required, optional = _FIELDS[kind]
    for key in sorted(required - set(data)):
        raise ObservationError(f"{_where(index, key)}: required for kind {kind}")
    for key in sorted(set(data) - required - optional - {"kind"}, key=str):
        raise ObservationError(f"{_where(index, str(key))}: unknown key for kind {kind}")

    if kind == "http":
        status = data["status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ObservationError(f"{_where(index, 'status')}: must be an integer 100-599")
        raw_headers = data.get("headers")
        raw_headers = {} if raw_headers is None else raw_headers
        if not isinstance(raw_headers, Mapping):
            raise ObservationError(f"{_where(index, 'headers')}: must be a mapping")
        items = []
        for name, value in raw_headers.items():
            if not isinstance(name, str):
                raise ObservationError(f"{_where(index, 'headers')}: names must be strings")
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ObservationError(
                    f"{_where(index, 'headers.' + name)}: must be a string")
            items.append((name, str(value)))
        body = data.get("body", "")
        if body is None:
            body = ""
        elif isinstance(body, Mapping | list):
            body = json.dumps(body)
        elif not isinstance(body, str):
            raise ObservationError(f"{_where(index, 'body')}: must be a string (the raw body)")
        return HttpObservation(endpoint=_endpoint(data["endpoint"], _where(index, "endpoint")),
                               status=status, headers=Headers(tuple(items)), body=body)
    if kind == "sdk_error":
        hresult = normalise_hresult(data["hresult"])
        if hresult is None:
            raise ObservationError(
                f"{_where(index, 'hresult')}: must be a hex HRESULT such as 0x80040414")
        message = data.get("message", "")
        message = "" if message is None else _text(message, _where(index, "message"))
        return SdkErrorObservation(hresult=hresult, message=message)
    if kind == "log_line":
        return LogLineObservation(text=_text(data["text"], _where(index, "text")))
    if kind == "oauth_callback":
        return OAuthCallbackObservation(
            query=_text(data["query"], _where(index, "query")).lstrip("?"))
    if kind == "token":
        return TokenObservation(
            issued_seconds_ago=_number(data["issued_seconds_ago"],
                                       _where(index, "issued_seconds_ago"), positive=False),
            expires_in=_number(data["expires_in"], _where(index, "expires_in"), positive=True))
    # transport
    error = data["error"]
    if error not in TRANSPORT_ERRORS:
        raise ObservationError(
            f"{_where(index, 'error')}: must be one of {', '.join(TRANSPORT_ERRORS)}")
    endpoint = data.get("endpoint")
    if endpoint is not None:
        endpoint = _endpoint(endpoint, _where(index, "endpoint"))
    return TransportObservation(error=error, endpoint=endpoint)


def parse_observations(items: Any) -> list[Observation]:
    """A list of observation mappings (or instances) -> observations, oldest first.

    Raises ObservationError when ``items`` is not a list or any item is invalid."""
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise ObservationError("observations: must be a list")
    return [parse_observation(item, i) for i, item in enumerate(items)]


def parse_system(system: Any) -> str:
    """Checks a system id; raises ObservationError unless it is one of ``SYSTEMS``."""
    if system not in SYSTEMS:
        raise ObservationError(f"system: must be one of {', '.join(SYSTEMS)}")
    return system


def parse_case(data: Any) -> tuple[str, list[Observation]]:
    """``{"system": ..., "observations": [...]}`` -> ``(system, observations)``.

    Other keys (id, cause, source, ...) are ignored. Raises ObservationError when ``data`` is
    not a mapping, a key is missing, the system is unknown or an observation is invalid."""
    if not isinstance(data, Mapping):
        raise ObservationError("case: must be a mapping with 'system' and 'observations'")
    for key in ("system", "observations"):
        if key not in data:
            raise ObservationError(f"{key}: required")
    return parse_system(data["system"]), parse_observations(data["observations"])
