"""The live checks: the HTTP calls each probe makes, recorded as observations in the format of
``fixtures/README.md`` (``http`` and ``transport`` kinds), oldest first.

``run_check(probe_name, connection, tokens=..., client=...)`` never raises for upstream trouble:
a timeout, a refused connection, a DNS or TLS failure becomes a ``transport`` observation and
every HTTP answer (any status, any body up to 64 KiB) an ``http`` one. A secret missing from the
environment raises :class:`ProbeUnavailable`.

Secrets never reach an observation: a successful token response's body is replaced by its
non-secret fields, ``Set-Cookie`` is dropped, and as a last guard every secret and token value
the check used is replaced by ``[redacted]`` wherever it would appear.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

import httpx

from .connections import Connection, MissingSecret
from .redact import Secrets, redact
from .tokens import LockTimeout, TokenState, TokenStore

MAX_BODY = 64 * 1024
REDACTED = "[redacted]"
_TOKEN_PUBLIC_FIELDS = ("token_type", "expires_in", "instance_url", "issued_at", "scope",
                        "x_refresh_token_expires_in")
# InstanceName names the org's instance (NA135) for the Trust status when a My Domain host
# (acme.my.salesforce.com) does not:
# https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_organization.htm
_SOQL_PROBE = "SELECT Id, InstanceName FROM Organization LIMIT 1"


class ProbeUnavailable(Exception):
    """The check cannot run at all (e.g. a secret is not configured); ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    system: str
    title: str
    function: Callable[[Connection, _Recorder, TokenStore], None] = field(repr=False)


@dataclass
class _Answer:
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


class _Recorder:
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
             **kwargs) -> _Answer | None:
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
                answer = _Answer(response.status_code, headers_seen(response), text)
        except httpx.TransportError as e:
            self.observations.append({"kind": "transport", "endpoint": endpoint,
                                      "error": transport_error(e)})
            return None
        except httpx.DecodingError:  # a body that does not match its Content-Encoding
            answer = _Answer(response.status_code, headers_seen(response), "")
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


def _bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json", **extra}


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


_INSTANCE_HOST = re.compile(r"^https://([a-z]{2,4}\d{1,4}[a-z]?)(?:-s)?\.(?:my\.)?salesforce\.com",
                            re.IGNORECASE)


def salesforce_instance_key(connection: Connection, instance_url: str | None,
                            instance_name: str | None = None) -> str | None:
    """The Trust instance key: configured, else read from a ``https://na123.salesforce.com``
    instance URL, else the org's ``InstanceName`` the probe's query returned (My Domain hosts
    such as ``https://acme.my.salesforce.com`` do not name it); ``None`` (no trust check)
    when none of them tells."""
    if connection.instance_key:
        return connection.instance_key.upper()
    m = _INSTANCE_HOST.match(instance_url or "")
    if m:
        return m.group(1).upper()
    if instance_name and re.fullmatch(r"[A-Za-z]{2,4}\d{1,4}[A-Za-z]?", instance_name):
        return instance_name.upper()
    return None


def _refresh(rec: _Recorder, tokens: TokenStore, endpoint_url: str,
             form: Callable[[TokenState], dict], refused: str | None = None,
             **kwargs) -> tuple[TokenState, dict | None]:
    """POST the refresh-token grant under the connection's lock; store what comes back (the
    rotated refresh token first). Returns the state and the token payload (``None`` on
    failure, also when the lock stays busy past the check's budget: a token ``timeout``).
    A token another process obtained while we waited for the lock is used as it is, unless
    it is the one the API just ``refused``."""
    try:
        with tokens.locked(rec.connection, timeout=max(0.0, rec.left())) as state:
            return _refresh_locked(rec, tokens, state, endpoint_url, form, refused, **kwargs)
    except LockTimeout:
        rec.observations.append({"kind": "transport", "endpoint": "token", "error": "timeout"})
        return TokenState(rec.connection.id), None


def _refresh_locked(rec: _Recorder, tokens: TokenStore, state: TokenState, endpoint_url: str,
                    form: Callable[[TokenState], dict], refused: str | None,
                    **kwargs) -> tuple[TokenState, dict | None]:
    """The refresh itself, with the connection's token lock held."""
    if _fresh(state) and state.access_token != refused:
        # another process refreshed while we waited: use theirs
        rec.secrets.add(state.access_token)
        return state, {"access_token": state.access_token}
    rec.secrets.add(state.refresh_token or "")
    answer = rec.call("token", "POST", endpoint_url, data=form(state),
                      headers={"Accept": "application/json"}, redact_token=True, **kwargs)
    payload = answer.json() if answer is not None and answer.status == 200 else None
    if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
        return state, None
    if isinstance(payload.get("refresh_token"), str) and payload["refresh_token"]:
        state.refresh_token = payload["refresh_token"]
        if isinstance(payload.get("x_refresh_token_expires_in"), int):
            state.refresh_token_expires_in = payload["x_refresh_token_expires_in"]
        tokens.save(state)  # before anything else: the old refresh token is now dead
    expires = payload.get("expires_in")
    state.set_access_token(payload["access_token"],
                           expires_in=expires if isinstance(expires, int) else None,
                           instance_url=payload.get("instance_url")
                           if isinstance(payload.get("instance_url"), str) else None)
    return state, payload


REUSE_MARGIN = 120
"""Seconds before its stated expiry after which a stored access token is refreshed anyway."""


def _access(rec: _Recorder, tokens: TokenStore,
            refresh: Callable[[], tuple[TokenState, dict | None]]
            ) -> tuple[TokenState, bool, bool]:
    """An access token for the API calls: the stored one while it has more than
    :data:`REUSE_MARGIN` seconds left (recorded as a ``token`` observation: its age and
    lifetime), else a fresh one from ``refresh``. Reusing it keeps refreshes — and Intuit's
    refresh-token rotations, which invalidate the previous refresh token — to about one an
    hour instead of one per check (QuickBooks Online; Salesforce does not say when its access
    tokens expire, so those are refreshed each time). Returns ``(state, usable, reused)``."""
    try:
        with tokens.locked(rec.connection, timeout=max(0.0, rec.left())) as state:
            if _fresh(state):
                rec.secrets.add(state.access_token)
                rec.observations.append({
                    "kind": "token", "expires_in": state.expires_in,
                    "issued_seconds_ago": max(0, int(time.time() - state.issued_at))})
                return state, True, True
        state, payload = refresh()
    except LockTimeout:  # another check of this connection holds the token lock too long
        rec.observations.append({"kind": "transport", "endpoint": "token", "error": "timeout"})
        return TokenState(rec.connection.id), False, False
    return state, payload is not None, False


def _fresh(state: TokenState) -> bool:
    """True if the stored access token has more than :data:`REUSE_MARGIN` seconds left.
    (Salesforce does not say when its access tokens expire: those are always refreshed.)"""
    return bool(state.access_token and state.issued_at and state.expires_in
                and time.time() - state.issued_at < state.expires_in - REUSE_MARGIN)


def check_salesforce(conn: Connection, rec: _Recorder, tokens: TokenStore) -> None:
    """Get an access token (the stored one while valid, else a refresh), read the org's
    limits, run one tiny query only while API requests remain (or when /limits is refused:
    its Sforce-Limit-Info header then tells the quota), and read the instance's Trust status
    (the instance named by the configuration, the host, or the query's InstanceName).

    Wire formats:

    - https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
      (refresh grant and response)
    - https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm
      (token errors)
    - https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm
      (``DailyApiRequests``)
    - https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
      (``Sforce-Limit-Info: api-usage=N/M``)
    - https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
      (REST error arrays ``[{"message", "errorCode"}]``)
    - https://api.status.salesforce.com/v1/docs (Trust ``GET /v1/instances/{key}/status``);
      the My Trust Center API first when configured (UNVERIFIED format, see :func:`trust_status`)
    """
    client_id, client_secret = rec.secret("client_id"), rec.secret("client_secret")

    def refresh(refused: str | None = None):
        return _refresh(
            rec, tokens, f"{conn.endpoints['login']}/services/oauth2/token",
            lambda s: {"grant_type": "refresh_token", "client_id": client_id,
                       "client_secret": client_secret, "refresh_token": s.refresh_token},
            refused=refused)

    state, usable, reused = _access(rec, tokens, refresh)
    limits = None
    if usable and state.instance_url:
        base = f"{state.instance_url.rstrip('/')}/services/data/v{conn.api_version}"
        limits = rec.call("limits", "GET", f"{base}/limits", headers=_bearer(state.access_token))
        if reused and limits is not None and limits.status == 401:  # revoked early: once more
            state, payload = refresh(refused=state.access_token)
            limits = None
            if payload is not None and state.instance_url:
                base = f"{state.instance_url.rstrip('/')}/services/data/v{conn.api_version}"
                limits = rec.call("limits", "GET", f"{base}/limits",
                                  headers=_bearer(state.access_token))
    instance_name = None
    if limits is not None:
        data = limits.json() if limits is not None and limits.status == 200 else None
        daily = data.get("DailyApiRequests") if isinstance(data, dict) else None
        remaining = _number(daily.get("Remaining")) if isinstance(daily, dict) else None
        # Never spend the quota being diagnosed; but /limits needs "View Setup and
        # Configuration", and for a user without it (403) the query's Sforce-Limit-Info
        # header is the only way to learn the quota.
        if (remaining is not None and remaining > 0) or limits.status == 403:
            query = rec.call("rest_api", "GET", f"{base}/query", params={"q": _SOQL_PROBE},
                             headers=_bearer(state.access_token))
            found = query.json() if query is not None and query.status == 200 else None
            records = found.get("records") if isinstance(found, dict) else None
            if isinstance(records, list) and records and isinstance(records[0], dict) \
                    and isinstance(records[0].get("InstanceName"), str):
                instance_name = records[0]["InstanceName"]
    key = salesforce_instance_key(conn, state.instance_url, instance_name)
    if key:
        trust_status(conn, rec, key)


def _instance_status(answer: _Answer | None) -> bool:
    """True when a Trust answer is a readable instance status: 200 with a JSON object whose
    ``status`` is a string (``"OK"``, ``"MAJOR_INCIDENT_CORE"``, …)."""
    data = answer.json() if answer is not None and answer.status == 200 else None
    return isinstance(data, dict) and isinstance(data.get("status"), str)


def trust_status(conn: Connection, rec: _Recorder, key: str) -> None:
    """Read the instance ``key``'s status (a ``status_page`` observation per call): from the My
    Trust Center API when the connection configures ``endpoints.trust_center``, and from the
    Trust status API (``endpoints.trust``, ``GET /v1/instances/{key}/status``) when that is not
    configured or gives no readable status (not there yet, gone, down, another format). The
    diagnosis reads the last status observation, so the one that answered counts.

    Salesforce is replacing the Trust status API (https://api.status.salesforce.com/v1/docs)
    with the My Trust Center API. UNVERIFIED: this product had no access to the new API's
    documentation, so its address is whatever ``trust_center`` says (``{instance}`` standing
    for the key) and its answer is assumed to be an instance status like Trust v1's
    (``{"key", "status", "Incidents", "Maintenances"}``); any other answer falls back to the
    old API while it answers.
    """
    headers = {"Accept": "application/json"}
    if conn.endpoints.get("trust_center"):
        url = conn.endpoints["trust_center"].replace("{instance}", quote(key, safe=""))
        if _instance_status(rec.call("status_page", "GET", url, headers=headers)):
            return
    if conn.endpoints.get("trust"):
        rec.call("status_page", "GET",
                 f"{conn.endpoints['trust']}/v1/instances/{quote(key)}/status", headers=headers)


def check_quickbooks_online(conn: Connection, rec: _Recorder, tokens: TokenStore) -> None:
    """Get an access token (the stored one while valid; else a refresh — Intuit rotates the
    refresh token, and the new one is stored first), read the company's info, and read the
    status page.

    Wire formats:
    https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
    (``POST https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer``, Basic client auth,
    ``expires_in`` 3600, ``x_refresh_token_expires_in``, ``intuit_tid`` header),
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/companyinfo
    (``GET /v3/company/{realmId}/companyinfo/{realmId}``),
    https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
    (Fault layouts), https://developer.statuspage.io/ (``/api/v2/status.json``).
    """
    auth = (rec.secret("client_id"), rec.secret("client_secret"))

    def refresh(refused: str | None = None):
        return _refresh(
            rec, tokens, conn.endpoints["token"],
            lambda s: {"grant_type": "refresh_token", "refresh_token": s.refresh_token},
            refused=refused, auth=auth)

    state, usable, reused = _access(rec, tokens, refresh)
    if usable:
        realm = quote(conn.realm_id or "", safe="")
        url = f"{conn.endpoints['api']}/v3/company/{realm}/companyinfo/{realm}"
        info = rec.call("company_info", "GET", url, headers=_bearer(state.access_token))
        if reused and info is not None and info.status == 401:  # revoked early: once more
            state, payload = refresh(refused=state.access_token)
            if payload is not None:
                rec.call("company_info", "GET", url, headers=_bearer(state.access_token))
    if conn.endpoints.get("status"):
        rec.call("status_page", "GET", conn.endpoints["status"],
                 headers={"Accept": "application/json"})


def check_quickbooks_desktop(conn: Connection, rec: _Recorder, tokens: TokenStore) -> None:
    """Read the desktop agent's status (the product's own contract, ``fixtures/README.md``:
    ``{"connected", "last_seen", "last_error": {"hresult", "message"} | null}``)."""
    url = conn.endpoints["agent_status"].replace("{agent_id}", quote(conn.agent_id or "",
                                                                     safe=""))
    rec.call("agent_status", "GET", url, headers=_bearer(rec.secret("api_key")))


PROBES: dict[str, ProbeSpec] = {spec.name: spec for spec in (
    ProbeSpec("salesforce.api", "salesforce", "Salesforce API connection", check_salesforce),
    ProbeSpec("quickbooks_online.api", "quickbooks_online", "QuickBooks Online API connection",
              check_quickbooks_online),
    ProbeSpec("quickbooks_desktop.agent", "quickbooks_desktop",
              "QuickBooks Desktop agent connection", check_quickbooks_desktop),
)}


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One certificate-verifying TLS context per process: loading the CA bundle costs ~20 ms of
    CPU, which a new context per check would spend every time (see bench (c))."""
    return httpx.create_ssl_context()


def run_check(probe_name: str, connection: Connection, *, tokens: TokenStore,
              client: httpx.Client | None = None) -> list[dict]:
    """Run one probe's calls against ``connection``; return its observations, oldest first.

    Raises ``KeyError`` for an unknown probe, ``ValueError`` when the probe is for another
    system, :class:`ProbeUnavailable` when a secret is not configured."""
    spec = PROBES[probe_name]
    if connection.system != spec.system:
        raise ValueError(f"probe {probe_name} checks {spec.system} connections, "
                         f"'{connection.id}' is {connection.system}")
    own = client is None
    http = client if client is not None else httpx.Client(verify=_tls_context())
    rec = _Recorder(connection, http, time.monotonic() + check_budget(connection))
    try:
        spec.function(connection, rec, tokens)
    except MissingSecret as e:
        raise ProbeUnavailable(str(e)) from None
    finally:
        if own:
            http.close()
    return rec.redacted()
