"""One check's HTTP calls and what they returned: :class:`Recorder` makes each call within the
check's time budget and records it as an observation in the format of ``fixtures/README.md``
(``http`` and ``transport`` kinds), with token responses cut to their non-secret fields and every
secret the check used redacted in the forms an upstream may echo back. The vendor checks that
drive it are in :mod:`.checks`.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

import httpx

from .connections import Connection
from .redact import Secrets, redact

MAX_BODY = 64 * 1024
REDACTED = "[redacted]"
_TOKEN_PUBLIC_FIELDS = ("token_type", "expires_in", "instance_url", "issued_at", "scope",
                        "x_refresh_token_expires_in")
class ProbeUnavailable(Exception):
    """The check cannot run at all (e.g. a secret is not configured); ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self):
        try:
            return json.loads(self.text)
        except ValueError:
            return None


def transport_error(exc: httpx.TransportError) -> str:
    """The observation's ``error`` for an httpx transport exception."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        seen: set[int] = set()
        e: BaseException | None = exc
        while e is not None and id(e) not in seen:
            seen.add(id(e))
            if isinstance(e, socket.gaierror):
                return "dns"
            if isinstance(e, ssl.SSLError | ssl.CertificateError):
                return "tls"
            e = e.__cause__ or e.__context__
        text = str(exc).lower()
        if re.search(r"name or service not known|nodename nor servname|getaddrinfo|"
                     r"name resolution|no address associated", text):
            return "dns"
        if "ssl" in text or "certificate" in text or "tls" in text:
            return "tls"
    return "connection_refused"


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Every form in which these secrets may come back from an upstream that echoes a request:
    as is, URL-encoded (``%2F``, ``+``), JSON-escaped, base64, and base64 of each
    ``a:b`` pair (HTTP Basic credentials). Longest first; values under 4 characters are left
    out (they would match everywhere)."""
    values = [v for v in dict.fromkeys(secrets) if v and len(v) >= 4]
    forms: set[str] = set()
    for v in values:
        forms.update({v, quote(v, safe=""), quote_plus(v), json.dumps(v)[1:-1],
                      base64.b64encode(v.encode()).decode()})
    for a in values:
        for b in values:
            if a != b:
                forms.add(base64.b64encode(f"{a}:{b}".encode()).decode())
    return sorted((f for f in forms if len(f) >= 4), key=len, reverse=True)


def headers_seen(response: httpx.Response) -> dict[str, str]:
    """A response's headers as an observation keeps them: repeated ones joined, cookies left
    out."""
    headers: dict[str, str] = {}
    for raw_key, raw_value in response.headers.raw:
        key = raw_key.decode("latin-1")
        if key.lower() == "set-cookie":
            continue
        value = raw_value.decode("latin-1")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def check_budget(connection: Connection) -> float:
    """Seconds one check of ``connection`` may take in all: twice its connect + read timeouts
    (a check makes up to six calls; later calls get what is left, then count as timeouts)."""
    return 2 * (connection.connect_timeout + connection.read_timeout)


class Recorder:
    """Makes the calls of one check and records what each returned."""

    def __init__(self, connection: Connection, client: httpx.Client, deadline: float):
        self.connection = connection
        self.client = client
        self.deadline = deadline  # time.monotonic() by which the whole check ends
        self.observations: list[dict] = []
        self.secrets: set[str] = set()

    def left(self) -> float:
        """Seconds left of the check's budget (negative once spent)."""
        return self.deadline - time.monotonic()

    def _timeout(self) -> httpx.Timeout:
        left = max(0.05, self.left())
        c = self.connection
        return httpx.Timeout(connect=min(c.connect_timeout, left), read=min(c.read_timeout, left),
                             write=min(c.read_timeout, left), pool=min(c.connect_timeout, left))

    def secret(self, name: str) -> str:
        value = self.connection.secret(name)
        self.secrets.add(value)
        return value

    def call(self, endpoint: str, method: str, url: str, *, redact_token: bool = False,
             **kwargs) -> Answer | None:
        """One HTTP call; its observation is appended. ``None`` when no response came (also
        when the check's time budget is spent, before or while reading: a ``timeout``)."""
        if self.left() <= 0:
            self.observations.append({"kind": "transport", "endpoint": endpoint,
                                      "error": "timeout"})
            return None
        headers = {"Accept-Encoding": "identity", **kwargs.pop("headers", {})}
        try:
            with self.client.stream(method, url, timeout=self._timeout(), headers=headers,
                                    follow_redirects=False, **kwargs) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= MAX_BODY:
                        break
                    if self.left() <= 0:  # an upstream trickling bytes: stop waiting
                        raise httpx.ReadTimeout("check budget spent", request=response.request)
                text = bytes(body[:MAX_BODY]).decode(response.encoding or "utf-8",
                                                     errors="replace")
                answer = Answer(response.status_code, headers_seen(response), text)
        except httpx.TransportError as e:
            self.observations.append({"kind": "transport", "endpoint": endpoint,
                                      "error": transport_error(e)})
            return None
        except httpx.DecodingError:  # a body that does not match its Content-Encoding
            answer = Answer(response.status_code, headers_seen(response), "")
        shown = answer.text
        if redact_token and answer.status == 200:
            payload = answer.json()
            if isinstance(payload, dict):
                for key in ("access_token", "refresh_token", "id_token"):
                    if isinstance(payload.get(key), str):
                        self.secrets.add(payload[key])
                shown = json.dumps({k: payload[k] for k in _TOKEN_PUBLIC_FIELDS if k in payload})
            else:
                shown = REDACTED if answer.text.strip() else answer.text
        self.observations.append({"kind": "http", "endpoint": endpoint, "status": answer.status,
                                  "headers": answer.headers, "body": shown})
        return answer

    def redacted(self) -> list[dict]:
        """The observations with any secret value used in this check replaced, also in the
        forms an upstream may echo back: encoded (see :func:`secret_forms`), re-cased, cut
        short, base64 or hex (see :mod:`.redact`)."""
        secrets = Secrets(self.secrets, secret_forms(self.secrets))
        if not secrets:
            return self.observations
        return [redact(o, secrets) for o in self.observations]
