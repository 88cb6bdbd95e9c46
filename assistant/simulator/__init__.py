"""A simulator of the vendor endpoints the probes call, speaking their real wire formats, with a
switchable scenario per connection. It accepts any credentials: serve it on loopback only.

Routes (``<conn>`` is the connection id; its system is known from the prefix):

- ``POST /salesforce/<conn>/services/oauth2/token`` (refresh-token grant; client credentials in
  the form or as HTTP Basic; rotates the refresh token only when the connection's option
  ``rotate_refresh_tokens`` is on, as a connected app's "Refresh Token Rotation" setting does,
  and then rejects the old one), ``GET .../services/data/v<ver>/limits[/]``,
  ``GET .../services/data/v<ver>/query[/]?q=`` (a version outside
  :data:`SF_API_VERSIONS` answers 404 ``NOT_FOUND``),
  ``GET /salesforce/<conn>/trust/v1/instances/<key>/status`` (Trust status API) and
  ``GET /salesforce/<conn>/trust-center/instances/<key>/status`` (the My Trust Center API
  that replaces it; UNVERIFIED: path and answer assumed, the same instance status)
- ``POST /intuit/<conn>/oauth2/v1/tokens/bearer`` (rotates the refresh token on every refresh,
  rejects a superseded one), ``GET /intuit/<conn>/v3/company/<realm>/companyinfo/<realm>``
  (JSON when ``Accept`` asks for it, XML otherwise; the connection's realm is the first one
  asked for, another answers 403 ``ApplicationAuthorizationFailed``),
  ``GET /intuit/<conn>/status/api/v2/status.json``, and the OpenID discovery documents
  ``GET /intuit/<conn>/.well-known/openid_configuration/`` (and ``openid_sandbox_configuration``)
  naming these endpoints, as intuit-oauth reads them
- ``GET /agent/<conn>/v1/agents/<agent_id>/status``
- ``GET /_sim/scenarios``, ``PUT /_sim/scenarios/<conn>``, ``PUT /_sim/options/<conn>``
  (``{"rotate_refresh_tokens": true}``), ``GET /_sim/calls``, ``POST /_sim/reset``, and an HTML
  page at ``/``.

Scenarios: ``healthy``, every cause of the system, ``slow`` (every answer after ``delay``
seconds), ``hung`` (no answer until the client gives up), ``html_error`` (502 HTML from the API
endpoints), ``garbage`` (200 with non-JSON bytes from the API endpoints).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta

from flask import Flask, Response, abort, jsonify, redirect, render_template, request, url_for

from ..resources import templates_dir
from .scenarios import (
    CAUSE_RESPONSES,
    HTML_502,
    SF_JSON,
    available,
    responses,
)

MAX_CONNECTIONS = 200
"""Connections the simulator keeps state for; more are refused (a typo loop cannot grow it)."""

STOP = threading.Event()
"""Set it to make every ``hung`` answer return at once (test servers shutting down)."""

API_ENDPOINTS = {"limits", "rest_api", "company_info", "agent_status"}
SF_DAILY_MAX = 15000
SF_API_VERSIONS = tuple(f"{v}.0" for v in range(31, 65))
"""REST API versions served: 31.0-64.0 (Salesforce retired 21.0-30.0 in Summer '25,
https://help.salesforce.com/s/articleView?id=000389618&type=1); others answer 404 NOT_FOUND."""
SF_INSTANCE = "NA123"


class SimState:
    """All connections' scenarios, issued tokens and call counts; one lock guards it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.systems: dict[str, str] = {}
        self.scenarios: dict[str, str] = {}
        self.calls: dict[str, dict[str, int]] = {}
        self.access_tokens: dict[str, set[str]] = {}
        self.refresh_current: dict[str, str] = {}
        self.refresh_superseded: dict[str, set[str]] = {}
        self.rotate_sf: set[str] = set()     # Salesforce connections rotating refresh tokens
        self.realms: dict[str, str] = {}     # QuickBooks Online connection -> its realm

    def touch(self, conn: str, system: str) -> str:
        """Register ``conn`` (healthy on first use); return its scenario."""
        with self.lock:
            self.systems.setdefault(conn, system)
            return self.scenarios.setdefault(conn, "healthy")

    def count(self, conn: str, endpoint: str) -> None:
        with self.lock:
            per = self.calls.setdefault(conn, {})
            per[endpoint] = per.get(endpoint, 0) + 1

    def issue_access_token(self, conn: str, prefix: str) -> str:
        token = f"{prefix}{secrets.token_urlsafe(24)}"
        with self.lock:
            self.access_tokens.setdefault(conn, set()).add(token)
        return token

    def valid_access_token(self, conn: str) -> bool:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self.lock:
            return token in self.access_tokens.get(conn, set())


def _now_iso(ago: int = 0) -> str:
    return (datetime.now(UTC) - timedelta(seconds=ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_simulator(*, delay: float = 2.0, hang_seconds: float = 60.0,
                     connections_path: str | None = None) -> Flask:
    """The simulator app. ``delay`` is the ``slow`` scenario's wait; ``hung`` answers stop
    after ``hang_seconds`` or when :data:`STOP` is set."""
    app = Flask(__name__, template_folder=str(templates_dir()))
    state = SimState()
    app.extensions["simulator"] = state

    def known_connections() -> dict[str, tuple[str, str]]:
        """id -> (system, label): the configured connections, then any seen."""
        out: dict[str, tuple[str, str]] = {}
        try:
            from ..probes.connections import load_connections
            for c in load_connections(connections_path).values():
                out[c.id] = (c.system, c.label)
        except Exception:  # noqa: BLE001 - the page still lists the connections seen
            pass
        with state.lock:
            for conn, system in state.systems.items():
                out.setdefault(conn, (system, conn))
        return out

    def answer(conn: str, system: str, endpoint: str, healthy):
        """Count the call, then answer as the connection's scenario says."""
        scenario = state.touch(conn, system)
        state.count(conn, endpoint)
        if scenario == "slow":
            STOP.wait(delay)
        elif scenario == "hung":
            deadline = time.monotonic() + hang_seconds
            while not STOP.is_set() and time.monotonic() < deadline:
                STOP.wait(0.05)
            return Response("", status=504)
        elif scenario == "html_error" and endpoint in API_ENDPOINTS:
            return Response(HTML_502, status=502, content_type="text/html")
        elif scenario == "garbage" and endpoint in API_ENDPOINTS:
            return Response(b"\x00\xffnot json\x8a\x8b{{<", status=200,
                            content_type="application/json")
        spec = responses(system, scenario).get(endpoint)
        if spec is None:
            return healthy()
        if isinstance(spec[0], int):
            status, content_type, body = spec
            return Response(body, status=status, content_type=content_type)
        return SPECIAL[spec[0]](conn, *spec[1:])

    # --- Salesforce ---------------------------------------------------------------------

    def sf_limit_info(used: int) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={used}/{SF_DAILY_MAX}"}

    def sf_used(conn: str) -> int:
        with state.lock:
            per = state.calls.get(conn, {})
            return 120 + per.get("limits", 0) + per.get("rest_api", 0)

    def sf_json(data, status=200, headers=None):
        return Response(json.dumps(data), status=status, content_type=SF_JSON,
                        headers=headers or {})

    def sf_invalid_session():
        return Response('[{"message":"Session expired or invalid",'
                        '"errorCode":"INVALID_SESSION_ID"}]', status=401, content_type=SF_JSON)

    def sf_limits(conn: str, remaining: int | None = None):
        used = SF_DAILY_MAX if remaining == 0 else sf_used(conn)
        left = SF_DAILY_MAX - used
        return sf_json({"DailyApiRequests": {"Max": SF_DAILY_MAX, "Remaining": left},
                        "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
                        "DailyBulkApiRequests": {"Max": 10000, "Remaining": 10000}},
                       headers=sf_limit_info(used))

    def trust(conn: str, status: str = "OK", key: str = "NA123"):
        incidents = [] if status == "OK" else [{
            "id": 12345, "isCore": True, "affectsAll": False,
            "IncidentImpacts": [{"type": "serviceDisruption", "severity": "major",
                                 "startTime": _now_iso(1800), "endTime": None}],
            "IncidentEvents": [{"type": "firstPost", "message": "Users on this instance may "
                                "be unable to log in or access Salesforce.",
                                "createdAt": _now_iso(1700)}]}]
        key = request.view_args.get("key", key).upper()
        return jsonify({"key": key, "location": key[:2], "environment": "production",
                        "releaseVersion": "Winter '25 Patch 12.4", "releaseNumber": "252.12.4",
                        "status": status, "isActive": True, "Incidents": incidents,
                        "Maintenances": []})

    def statuspage(conn: str, indicator: str = "none",
                   description: str = "All Systems Operational"):
        return jsonify({"page": {"id": "sim0intuit00", "name": "Intuit Developer",
                                 "url": "https://status.developer.intuit.com",
                                 "time_zone": "America/Los_Angeles", "updated_at": _now_iso()},
                        "status": {"indicator": indicator, "description": description}})

    def agent(conn: str, connected: bool = True, hresult=None, message=None, ago: int = 30):
        last_error = None if message is None else {"hresult": hresult, "message": message}
        return jsonify({"connected": connected, "last_seen": _now_iso(ago),
                        "last_error": last_error})

    SPECIAL = {"limits_exhausted": lambda conn: sf_limits(conn, remaining=0),
               "trust": trust, "statuspage": statuspage, "agent": agent}

    @app.post("/salesforce/<conn>/services/oauth2/token")
    def sf_token(conn):
        def healthy():
            form = request.form
            if form.get("grant_type") != "refresh_token":
                return sf_json({"error": "unsupported_grant_type",
                                "error_description": "grant type not supported"}, 400)
            # client credentials in the form or as HTTP Basic (RFC 6749 2.3.1; Salesforce
            # accepts both)
            auth = request.authorization
            client_id = (auth.username if auth is not None and auth.type == "basic"
                         else form.get("client_id"))
            if not client_id:
                return sf_json({"error": "invalid_client_id",
                                "error_description": "client identifier invalid"}, 400)
            given = form.get("refresh_token", "")
            expired = sf_json({"error": "invalid_grant",
                               "error_description": "expired access/refresh token"}, 400)
            if not given:
                return expired
            body = {}
            with state.lock:
                if conn in state.rotate_sf:
                    current = state.refresh_current.get(conn)
                    if given in state.refresh_superseded.get(conn, set()) or (
                            current is not None and given != current):
                        return expired
                    new = f"5Aep861SIM{secrets.token_urlsafe(24)}"
                    state.refresh_current[conn] = new
                    state.refresh_superseded.setdefault(conn, set()).add(given)
                    body["refresh_token"] = new
            base = f"{request.host_url}salesforce/{conn}"
            issued = str(int(time.time() * 1000))
            return sf_json({
                "access_token": state.issue_access_token(conn, "00DSIM000000001!"), **body,
                "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
                "scope": "refresh_token api", "instance_url": base,
                "id": f"{base}/id/00DSIM000000001AAA/005SIM000000001AAA",
                "token_type": "Bearer", "issued_at": issued})
        return answer(conn, "salesforce", "token", healthy)

    def sf_not_found():
        return sf_json([{"errorCode": "NOT_FOUND",
                         "message": "The requested resource does not exist"}], 404)

    # simple-salesforce and Salesforce's own docs write these with a trailing slash
    @app.get("/salesforce/<conn>/services/data/v<ver>/limits")
    @app.get("/salesforce/<conn>/services/data/v<ver>/limits/")
    def sf_limits_route(conn, ver):
        def healthy():
            if ver not in SF_API_VERSIONS:
                return sf_not_found()
            return sf_limits(conn) if state.valid_access_token(conn) else sf_invalid_session()
        return answer(conn, "salesforce", "limits", healthy)

    @app.get("/salesforce/<conn>/services/data/v<ver>/query")
    @app.get("/salesforce/<conn>/services/data/v<ver>/query/")
    def sf_query(conn, ver):
        def healthy():
            if ver not in SF_API_VERSIONS:
                return sf_not_found()
            if not state.valid_access_token(conn):
                return sf_invalid_session()
            if not request.args.get("q"):
                return sf_json([{"message": "A query string has to be specified",
                                 "errorCode": "MALFORMED_QUERY"}], 400)
            return sf_json({"totalSize": 1, "done": True, "records": [{
                "attributes": {"type": "Organization", "url": f"/services/data/v{ver}/sobjects/"
                               "Organization/00DSIM000000001AAA"},
                "Id": "00DSIM000000001AAA", "InstanceName": SF_INSTANCE}]},
                headers=sf_limit_info(sf_used(conn)))
        return answer(conn, "salesforce", "rest_api", healthy)

    @app.get("/salesforce/<conn>/trust/v1/instances/<key>/status")
    def sf_trust(conn, key):
        return answer(conn, "salesforce", "status_page", lambda: trust(conn))

    # The My Trust Center API, replacing the one above. UNVERIFIED: its real path and format
    # are not known here; this answers what the probe assumes (Trust v1's instance status).
    @app.get("/salesforce/<conn>/trust-center/instances/<key>/status")
    def sf_trust_center(conn, key):
        return answer(conn, "salesforce", "status_page", lambda: trust(conn))

    # --- Intuit -------------------------------------------------------------------------

    @app.post("/intuit/<conn>/oauth2/v1/tokens/bearer")
    def intuit_token(conn):
        def healthy():
            auth = request.authorization
            if auth is None or auth.type != "basic" or not auth.username:
                return jsonify({"error": "invalid_client"}), 401
            if request.form.get("grant_type") != "refresh_token":
                return jsonify({"error": "unsupported_grant_type"}), 400
            given = request.form.get("refresh_token", "")
            new = f"RT1-SIM-{secrets.token_urlsafe(24)}"
            with state.lock:
                current = state.refresh_current.get(conn)
                # The demo connections' seed ("demo-<id>-refresh-token") stands for a fresh
                # authorization: after a reset of this simulator or a deleted token file the
                # demo starts a new rotation chain instead of staying "reconnect required".
                fresh = given.startswith(f"demo-{conn}-")
                if not given or (current is not None and given != current and not fresh):
                    return jsonify({"error": "invalid_grant"}), 400
                state.refresh_current[conn] = new
                state.refresh_superseded.setdefault(conn, set()).add(given)
            return jsonify({"token_type": "bearer", "expires_in": 3600,
                            "refresh_token": new, "x_refresh_token_expires_in": 8726400,
                            "access_token": state.issue_access_token(conn, "eyJSIM.")})
        return answer(conn, "quickbooks_online", "token", healthy)

    @app.get("/intuit/<conn>/.well-known/<name>")
    @app.get("/intuit/<conn>/.well-known/<name>/")
    def intuit_discovery(conn, name):
        # https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/openid-connect#discovery-document
        if name not in ("openid_configuration", "openid_sandbox_configuration"):
            abort(404)
        base = f"{request.host_url}intuit/{conn}"
        return jsonify({
            "issuer": "https://oauth.platform.intuit.com/op/v1",
            "authorization_endpoint": f"{base}/connect/oauth2",
            "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
            "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
            "revocation_endpoint": f"{base}/oauth2/v1/tokens/revoke",
            "jwks_uri": f"{base}/oauth2/v1/keys",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "address", "phone"],
            "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                      "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"]})

    def intuit_fault(status: int, code: str, message: str, detail: str, kind: str,
                     xml: bool) -> Response:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        if xml:
            body = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse '
                    f'xmlns="http://schema.intuit.com/finance/v3" time="{stamp}"><Fault '
                    f'type="{kind}"><Error code="{code}"><Message>{message}</Message><Detail>'
                    f'{detail}</Detail></Error></Fault></IntuitResponse>')
            return Response(body, status=status, content_type="application/xml")
        return Response(json.dumps({"Fault": {"Error": [{"Message": message, "Detail": detail,
                                                         "code": code}], "type": kind},
                                    "time": stamp}), status=status,
                        content_type="application/json")

    @app.get("/intuit/<conn>/v3/company/<realm>/companyinfo/<realm2>")
    def intuit_companyinfo(conn, realm, realm2):
        def healthy():
            if not state.valid_access_token(conn):
                return Response(CAUSE_RESPONSES["quickbooks_online"][
                    "quickbooks_online.access_token_expired"]["company_info"][2],
                    status=401, content_type="application/json")
            # QBO answers XML unless the request accepts JSON
            xml = "json" not in request.headers.get("Accept", "").lower()
            with state.lock:
                own = state.realms.setdefault(conn, realm)
            if realm != own:  # a token is for one company
                return intuit_fault(403, "3100", "message=ApplicationAuthorizationFailed; "
                                    "errorCode=003100; statusCode=403", "", "SERVICE", xml)
            if realm2 != realm:
                return intuit_fault(400, "610", "Object Not Found", "Object Not Found : "
                                    "Something you're trying to use has been made inactive. "
                                    "Check the fields with accounts, customers, items, "
                                    "vendors or employees.", "ValidationFault", xml)
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
            if xml:
                return Response(
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse '
                    f'xmlns="http://schema.intuit.com/finance/v3" time="{stamp}"><CompanyInfo '
                    f'domain="QBO" sparse="false"><Id>1</Id><SyncToken>4</SyncToken>'
                    '<MetaData><CreateTime>2026-01-05T10:00:00-08:00</CreateTime></MetaData>'
                    '<CompanyName>Sandbox Company_US_1</CompanyName><LegalName>Sandbox '
                    'Company_US_1</LegalName><Country>US</Country></CompanyInfo>'
                    '</IntuitResponse>', status=200, content_type="application/xml")
            return jsonify({"CompanyInfo": {
                "CompanyName": "Sandbox Company_US_1", "LegalName": "Sandbox Company_US_1",
                "Country": "US", "Id": "1", "SyncToken": "4", "domain": "QBO",
                "sparse": False, "MetaData": {"CreateTime": "2026-01-05T10:00:00-08:00"}},
                "time": stamp})
        return answer(conn, "quickbooks_online", "company_info", healthy)

    @app.get("/intuit/<conn>/status/api/v2/status.json")
    def intuit_status(conn):
        return answer(conn, "quickbooks_online", "status_page", lambda: statuspage(conn))

    @app.after_request
    def intuit_tid(response):
        if request.path.startswith("/intuit/"):
            response.headers["intuit_tid"] = f"1-{secrets.token_hex(4)}-{secrets.token_hex(6)}"
        return response

    # --- desktop agent ------------------------------------------------------------------

    @app.get("/agent/<conn>/v1/agents/<agent_id>/status")
    def agent_status(conn, agent_id):
        def healthy():
            if not request.headers.get("Authorization", "").startswith("Bearer "):
                return jsonify({"error": "unauthorized"}), 401
            return agent(conn)
        return answer(conn, "quickbooks_desktop", "agent_status", healthy)

    # --- control ------------------------------------------------------------------------

    def set_scenario(conn: str, system: str | None, scenario: str) -> str | None:
        """Switch ``conn``; returns an error message, or None."""
        with state.lock:
            known = state.systems.get(conn)
            if known is None and len(state.systems) >= MAX_CONNECTIONS:
                return f"at most {MAX_CONNECTIONS} connections: POST /_sim/reset first"
        if known is None:
            known = system or known_connections().get(conn, (None,))[0]
        if known not in CAUSE_RESPONSES:
            return f"unknown system {system!r} for connection '{conn}'"
        if scenario not in available(known):
            return f"unknown scenario {scenario!r} for {known}"
        with state.lock:
            state.systems[conn] = known
            state.scenarios[conn] = scenario
        return None

    @app.get("/_sim/scenarios")
    def list_scenarios():
        out = {}
        for conn, (system, _label) in known_connections().items():
            with state.lock:
                scenario = state.scenarios.get(conn, "healthy")
            out[conn] = {"system": system, "scenario": scenario, "available": available(system)}
        return jsonify(out)

    @app.put("/_sim/scenarios/<conn>")
    def put_scenario(conn):
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not isinstance(data.get("scenario"), str):
            return jsonify({"error": 'expected {"scenario": ..., "system": ...}'}), 400
        error = set_scenario(conn, data.get("system"), data["scenario"])
        if error:
            return jsonify({"error": error}), 400
        return jsonify({"connection": conn, "system": state.systems[conn],
                        "scenario": data["scenario"]})

    @app.put("/_sim/options/<conn>")
    def put_options(conn):
        data = request.get_json(silent=True)
        rotate = data.get("rotate_refresh_tokens") if isinstance(data, dict) else None
        if not isinstance(rotate, bool):
            return jsonify({"error": 'expected {"rotate_refresh_tokens": true|false}'}), 400
        with state.lock:
            (state.rotate_sf.add if rotate else state.rotate_sf.discard)(conn)
        return jsonify({"connection": conn, "rotate_refresh_tokens": rotate})

    @app.get("/_sim/calls")
    def calls():
        with state.lock:
            return jsonify({c: dict(per) for c, per in state.calls.items()})

    @app.post("/_sim/reset")
    def reset():
        with state.lock:
            state.reset()
        return jsonify({"reset": True})

    @app.get("/")
    def page():
        rows = []
        for conn, (system, label) in known_connections().items():
            with state.lock:
                scenario = state.scenarios.get(conn, "healthy")
            rows.append({"id": conn, "system": system, "label": label, "scenario": scenario,
                         "available": available(system)})
        return render_template("simulator.html", rows=rows, changed=request.args.get("changed"))

    @app.before_request
    def same_origin_only():
        # The control API has no login (loopback only): refuse writes a page from another
        # site could make in the demo's browser (a cross-site form POST or fetch).
        if request.method in ("POST", "PUT", "DELETE"):
            origin = request.headers.get("Origin")
            site = request.headers.get("Sec-Fetch-Site")
            if (origin and origin != request.host_url.rstrip("/")) or site == "cross-site":
                return jsonify({"error": "cross-origin request refused"}), 403
        return None

    @app.post("/_sim/form")
    def form():
        conn = request.form.get("connection", "")
        error = set_scenario(conn, request.form.get("system"), request.form.get("scenario", ""))
        if error:
            abort(400, error)
        return redirect(url_for("page", changed=conn), 303)

    @app.after_request
    def no_store(response):
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


__all__ = ["STOP", "SimState", "create_simulator"]
