"""The live checks: the HTTP calls each probe makes, recorded as observations in the format of
``fixtures/README.md`` (``http`` and ``transport`` kinds), oldest first.

``run_check(probe_name, connection, tokens=..., client=...)`` never raises for upstream trouble:
a timeout, a refused connection, a DNS or TLS failure becomes a ``transport`` observation and
every HTTP answer (any status, any body up to 64 KiB) an ``http`` one. A secret missing from the
environment raises :class:`~.recording.ProbeUnavailable`.

Each vendor's check here says which calls to make, in which order, and how tokens are
refreshed; :class:`~.recording.Recorder` makes the calls and keeps secrets out of what is
recorded: a successful token response's body is replaced by its non-secret fields,
``Set-Cookie`` is dropped, and as a last guard every secret and token value the check used is
replaced by ``[redacted]`` wherever it would appear.
"""

from __future__ import annotations

import functools
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from .connections import Connection, MissingSecret
from .recording import Answer, ProbeUnavailable, Recorder, check_budget
from .tokens import LockTimeout, TokenState, TokenStore

# InstanceName names the org's instance (NA135) for the Trust status when a My Domain host
# (acme.my.salesforce.com) does not:
# https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_organization.htm
_SOQL_PROBE = "SELECT Id, InstanceName FROM Organization LIMIT 1"


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    system: str
    title: str
    function: Callable[[Connection, Recorder, TokenStore], None] = field(repr=False)


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


def _refresh(rec: Recorder, tokens: TokenStore, endpoint_url: str,
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


def _refresh_locked(rec: Recorder, tokens: TokenStore, state: TokenState, endpoint_url: str,
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


def _access(rec: Recorder, tokens: TokenStore,
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


def check_salesforce(conn: Connection, rec: Recorder, tokens: TokenStore) -> None:
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


def _instance_status(answer: Answer | None) -> bool:
    """True when a Trust answer is a readable instance status: 200 with a JSON object whose
    ``status`` is a string (``"OK"``, ``"MAJOR_INCIDENT_CORE"``, …)."""
    data = answer.json() if answer is not None and answer.status == 200 else None
    return isinstance(data, dict) and isinstance(data.get("status"), str)


def trust_status(conn: Connection, rec: Recorder, key: str) -> None:
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


def check_quickbooks_online(conn: Connection, rec: Recorder, tokens: TokenStore) -> None:
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


def check_quickbooks_desktop(conn: Connection, rec: Recorder, tokens: TokenStore) -> None:
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
    rec = Recorder(connection, http, time.monotonic() + check_budget(connection))
    try:
        spec.function(connection, rec, tokens)
    except MissingSecret as e:
        raise ProbeUnavailable(str(e)) from None
    finally:
        if own:
            http.close()
    return rec.redacted()
