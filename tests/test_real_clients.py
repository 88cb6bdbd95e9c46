"""The simulator against the client libraries people use with these vendors: requests-oauthlib
(Salesforce's refresh grant with HTTP Basic client credentials) and simple-salesforce; intuit-oauth
(OpenID discovery and Intuit's refresh grant) and python-quickbooks. For every scenario the client
must return or raise what it does against the real service for the same wire answer.

The libraries write https:// URLs of the vendors' hosts; :class:`Loopback`, a transport adapter
mounted on their sessions, sends each such request to the simulator on loopback (as a
TLS-terminating proxy would) and refuses any other host, so nothing leaves 127.0.0.1.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.exceptions import AuthClientError
from oauthlib.oauth2 import rfc6749
from quickbooks import QuickBooks
from quickbooks import exceptions as qb_errors
from quickbooks.objects.company_info import CompanyInfo
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth2Session
from simple_salesforce import Salesforce
from simple_salesforce import exceptions as sf_errors
from simserver import SECRETS, Simulator

from assistant.simulator.scenarios import available

REALM = "9130350000000001"


class Loopback(HTTPAdapter):
    """Sends ``https://<vendor host>/path`` to ``<simulator base>/path``; refuses other hosts."""

    def __init__(self, routes: dict[str, str]):
        super().__init__()
        self.routes = routes

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        base = self.routes.get(parts.hostname or "")
        if base is None:
            raise requests.ConnectionError(f"refused: {parts.hostname} is not the simulator")
        request.url = base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


def mount(session: requests.Session, sim: Simulator, conn: str) -> requests.Session:
    vendor = "salesforce" if "salesforce" in conn else "intuit"
    routes = {host: f"{sim.url}/{vendor}/{conn}" for host in (
        "login.salesforce.com", "acme.my.salesforce.com", "quickbooks.api.intuit.com",
        "sandbox-quickbooks.api.intuit.com", "oauth.platform.intuit.com")}
    routes["127.0.0.1"] = sim.url
    adapter = Loopback(routes)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@pytest.fixture(scope="module")
def sim():
    with Simulator(delay=0.05, hang_seconds=2) as s:
        yield s


@pytest.fixture
def fresh(sim):
    sim.reset()
    return sim


# --- Salesforce: requests-oauthlib + simple-salesforce ------------------------------------------

def salesforce_run(sim: Simulator, version: str = "62.0") -> str:
    """What the clients did, as ``"<step>: <ok value | exception class and key detail>"``."""
    conn = "acme-salesforce"
    oauth = mount(OAuth2Session(client_id=SECRETS["SF_CLIENT_ID"]), sim, conn)
    try:
        token = oauth.refresh_token(
            "https://login.salesforce.com/services/oauth2/token",
            refresh_token=SECRETS["SF_REFRESH_TOKEN"],
            auth=requests.auth.HTTPBasicAuth(SECRETS["SF_CLIENT_ID"],
                                             SECRETS["SF_CLIENT_SECRET"]))
    except rfc6749.errors.OAuth2Error as e:
        return f"token: {type(e).__name__}({e.error}: {e.description})"
    sf = Salesforce(instance_url="https://acme.my.salesforce.com",
                    session_id=token["access_token"], version=version,
                    session=mount(requests.Session(), sim, conn))
    out = []
    try:
        daily = sf.limits()["DailyApiRequests"]
        out.append(f"limits: Remaining {daily['Remaining']} of {daily['Max']}")
        rows = sf.query("SELECT Id, InstanceName FROM Organization LIMIT 1")
        out.append(f"query: totalSize {rows['totalSize']} {rows['records'][0]['InstanceName']}")
    except sf_errors.SalesforceError as e:
        code = e.content[0].get("errorCode") if isinstance(e.content, list) else None
        out.append(f"{type(e).__name__}({e.status}{', ' + code if code else ''})")
    return "; ".join(out)


SALESFORCE = {
    "healthy": "limits: Remaining {n} of 15000; query: totalSize 1 NA123",
    "salesforce.oauth_incomplete":
        "token: InvalidGrantError(invalid_grant: user hasn't approved this consumer)",
    "salesforce.daily_api_limit_exceeded":
        "limits: Remaining 0 of 15000; SalesforceRefusedRequest(403, REQUEST_LIMIT_EXCEEDED)",
    "salesforce.session_expired": "SalesforceExpiredSession(401, INVALID_SESSION_ID)",
    "salesforce.reconnect_required":
        "token: InvalidGrantError(invalid_grant: expired access/refresh token)",
    "salesforce.authentication_failure":
        "token: InvalidGrantError(invalid_grant: authentication failure)",
    "salesforce.inactive_user": "token: CustomOAuth2Error(inactive_user: user is inactive)",
    "salesforce.invalid_client_id":
        "token: CustomOAuth2Error(invalid_client_id: client identifier invalid)",
    "salesforce.login_restricted":
        "token: InvalidGrantError(invalid_grant: ip restricted or invalid login hours)",
    # the Trust status is not read by these clients: the API answers normally
    "salesforce.service_incident": "limits: Remaining {n} of 15000; query: totalSize 1 NA123",
    "limits_forbidden": "SalesforceRefusedRequest(403, INSUFFICIENT_ACCESS)",
    "html_error": "SalesforceGeneralError(502)",
}


@pytest.mark.parametrize("scenario", SALESFORCE)
def test_salesforce_clients_per_scenario(fresh, scenario):
    fresh.set("acme-salesforce", "salesforce", scenario)
    expected = SALESFORCE[scenario]
    got = salesforce_run(fresh)
    if "{n}" in expected:  # the count of requests used moves with every call
        prefix, suffix = expected.split("{n}")
        assert got.startswith(prefix) and got.endswith(suffix), got
        assert 0 < int(got[len(prefix):].split()[0]) < 15000
    else:
        assert got == expected


def test_every_salesforce_cause_scenario_has_a_real_client_expectation():
    assert set(available("salesforce")) - {"slow", "hung", "garbage"} == set(SALESFORCE)


def test_salesforce_unsupported_api_version_is_not_found(fresh):
    assert salesforce_run(fresh, version="20.0") == "SalesforceResourceNotFound(404, NOT_FOUND)"
    assert salesforce_run(fresh, version="64.0").startswith("limits: Remaining")


def test_salesforce_rotation_invalidates_the_old_refresh_token(fresh):
    requests.put(f"{fresh.url}/_sim/options/acme-salesforce",
                 json={"rotate_refresh_tokens": True}).raise_for_status()
    oauth = mount(OAuth2Session(client_id=SECRETS["SF_CLIENT_ID"]), fresh, "acme-salesforce")
    url, basic = ("https://login.salesforce.com/services/oauth2/token",
                  requests.auth.HTTPBasicAuth(SECRETS["SF_CLIENT_ID"], SECRETS["SF_CLIENT_SECRET"]))
    token = oauth.refresh_token(url, refresh_token=SECRETS["SF_REFRESH_TOKEN"], auth=basic)
    assert token["refresh_token"] != SECRETS["SF_REFRESH_TOKEN"]
    with pytest.raises(rfc6749.errors.InvalidGrantError, match="expired access/refresh token"):
        oauth.refresh_token(url, refresh_token=SECRETS["SF_REFRESH_TOKEN"], auth=basic)
    assert oauth.refresh_token(url, refresh_token=token["refresh_token"], auth=basic)[
        "access_token"]


# --- QuickBooks Online: intuit-oauth + python-quickbooks ----------------------------------------

def quickbooks_run(sim: Simulator, realm: str = REALM) -> str:
    conn = "acme-qbo"
    discovery = f"{sim.url}/intuit/{conn}/.well-known/openid_sandbox_configuration/"
    auth = AuthClient(SECRETS["QBO_CLIENT_ID"], SECRETS["QBO_CLIENT_SECRET"],
                      "https://example.invalid/callback", discovery)
    assert auth.token_endpoint == f"{sim.url}/intuit/{conn}/oauth2/v1/tokens/bearer"
    try:
        auth.refresh(refresh_token=SECRETS["QBO_REFRESH_TOKEN"])
    except AuthClientError as e:
        return f"token: AuthClientError({e.status_code}, {e.content.decode().strip()})"
    qb = QuickBooks(auth_client=auth, refresh_token=auth.refresh_token, company_id=realm,
                    minorversion=75)
    mount(qb.session, sim, conn)
    try:
        info = CompanyInfo.get(realm, qb=qb)
    except qb_errors.QuickbooksException as e:
        return f"{type(e).__name__}({e.error_code}, {e.message[:48]})"
    finally:
        qb._drop()
    return f"companyinfo: {info.CompanyName}"


QUICKBOOKS = {
    "healthy": "companyinfo: Sandbox Company_US_1",
    "quickbooks_online.service_unavailable":
        "QuickbooksException(10000, Error reading json response: <html><head><title>)",
    "quickbooks_online.access_token_expired":
        "AuthorizationException(401, Application authentication failed)",
    "quickbooks_online.reconnect_required":
        'token: AuthClientError(400, {"error":"invalid_grant"})',
    "quickbooks_online.user_lacks_access":
        "AuthorizationException(401, Application authentication failed)",
    "quickbooks_online.wrong_environment":
        "QuickbooksException(10000, Error returned with status code '400': {\"fault\":)",
    "quickbooks_online.app_not_authorized":
        "QuickbooksException(10000, Error returned with status code '403': {\"fault\":)",
    "quickbooks_online.throttled":
        "QuickbooksException(10000, Error reading json response: <?xml version=\"1.0\")",
    "quickbooks_online.invalid_client_credentials":
        'token: AuthClientError(401, {"error":"invalid_client"})',
    "html_error": "QuickbooksException(10000, Error reading json response: <html><head><title>)",
}


@pytest.mark.parametrize("scenario", QUICKBOOKS)
def test_quickbooks_clients_per_scenario(fresh, scenario):
    fresh.set("acme-qbo", "quickbooks_online", scenario)
    assert quickbooks_run(fresh) == QUICKBOOKS[scenario]


def test_every_quickbooks_scenario_has_a_real_client_expectation():
    assert set(available("quickbooks_online")) - {"slow", "hung", "garbage"} == set(QUICKBOOKS)


def test_quickbooks_one_realm_per_connection_and_rotated_refresh_tokens(fresh):
    assert quickbooks_run(fresh) == "companyinfo: Sandbox Company_US_1"
    # Intuit rotated the seed refresh token: using it again is refused
    assert quickbooks_run(fresh) == 'token: AuthClientError(400, {"error":"invalid_grant"})'
    # a token is for one company: another realm is refused (Intuit: 3100 with 403)
    fresh.reset()
    auth = AuthClient(SECRETS["QBO_CLIENT_ID"], SECRETS["QBO_CLIENT_SECRET"],
                      "https://example.invalid/callback",
                      f"{fresh.url}/intuit/acme-qbo/.well-known/openid_configuration/")
    auth.refresh(refresh_token=SECRETS["QBO_REFRESH_TOKEN"])
    for realm, expected in ((REALM, "Sandbox Company_US_1"), ("4620816365000000000", "3100")):
        qb = QuickBooks(auth_client=auth, refresh_token=auth.refresh_token, company_id=realm,
                        minorversion=75)
        mount(qb.session, fresh, "acme-qbo")
        try:
            if expected == "3100":
                with pytest.raises(qb_errors.QuickbooksException, match="003100"):
                    CompanyInfo.get(realm, qb=qb)
            else:
                assert CompanyInfo.get(realm, qb=qb).CompanyName == expected
        finally:
            qb._drop()
