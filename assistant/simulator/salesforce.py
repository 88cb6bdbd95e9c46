"""The simulated Salesforce endpoints: the OAuth token (refresh-token grant, rotating only when
the connection's option says so), the REST API's limits and query, and the Trust status APIs.
See the package docstring for the routes."""

from __future__ import annotations

import base64
import json
import secrets
import time

from flask import Flask, Response, jsonify, request

from .scenarios import SF_JSON
from .state import SimState, now_iso

SF_DAILY_MAX = 15000
SF_API_VERSIONS = tuple(f"{v}.0" for v in range(31, 65))
"""REST API versions served: 31.0-64.0 (Salesforce retired 21.0-30.0 in Summer '25,
https://help.salesforce.com/s/articleView?id=000389618&type=1); others answer 404 NOT_FOUND."""
SF_INSTANCE = "NA123"


def sf_limit_info(used: int) -> dict[str, str]:
    return {"Sforce-Limit-Info": f"api-usage={used}/{SF_DAILY_MAX}"}


def sf_used(state: SimState, conn: str) -> int:
    with state.lock:
        per = state.calls.get(conn, {})
        return 120 + per.get("limits", 0) + per.get("rest_api", 0)


def sf_json(data, status=200, headers=None):
    return Response(json.dumps(data), status=status, content_type=SF_JSON,
                    headers=headers or {})


def sf_invalid_session():
    return Response('[{"message":"Session expired or invalid",'
                    '"errorCode":"INVALID_SESSION_ID"}]', status=401, content_type=SF_JSON)


def sf_limits(state: SimState, conn: str, remaining: int | None = None):
    used = SF_DAILY_MAX if remaining == 0 else sf_used(state, conn)
    left = SF_DAILY_MAX - used
    return sf_json({"DailyApiRequests": {"Max": SF_DAILY_MAX, "Remaining": left},
                    "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
                    "DailyBulkApiRequests": {"Max": 10000, "Remaining": 10000}},
                   headers=sf_limit_info(used))


def trust(conn: str, status: str = "OK", key: str = "NA123"):
    incidents = [] if status == "OK" else [{
        "id": 12345, "isCore": True, "affectsAll": False,
        "IncidentImpacts": [{"type": "serviceDisruption", "severity": "major",
                             "startTime": now_iso(1800), "endTime": None}],
        "IncidentEvents": [{"type": "firstPost", "message": "Users on this instance may "
                            "be unable to log in or access Salesforce.",
                            "createdAt": now_iso(1700)}]}]
    key = request.view_args.get("key", key).upper()
    return jsonify({"key": key, "location": key[:2], "environment": "production",
                    "releaseVersion": "Winter '25 Patch 12.4", "releaseNumber": "252.12.4",
                    "status": status, "isActive": True, "Incidents": incidents,
                    "Maintenances": []})


def sf_not_found():
    return sf_json([{"errorCode": "NOT_FOUND",
                     "message": "The requested resource does not exist"}], 404)


def register(app: Flask, state: SimState, answer) -> None:
    """Add the Salesforce routes to ``app``; each answers through ``answer(conn, system,
    endpoint, healthy)`` (the connection's scenario, else ``healthy()``)."""

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

    # simple-salesforce and Salesforce's own docs write these with a trailing slash
    @app.get("/salesforce/<conn>/services/data/v<ver>/limits")
    @app.get("/salesforce/<conn>/services/data/v<ver>/limits/")
    def sf_limits_route(conn, ver):
        def healthy():
            if ver not in SF_API_VERSIONS:
                return sf_not_found()
            return (sf_limits(state, conn) if state.valid_access_token(conn)
                    else sf_invalid_session())
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
                headers=sf_limit_info(sf_used(state, conn)))
        return answer(conn, "salesforce", "rest_api", healthy)

    @app.get("/salesforce/<conn>/trust/v1/instances/<key>/status")
    def sf_trust(conn, key):
        return answer(conn, "salesforce", "status_page", lambda: trust(conn))

    # The My Trust Center API, replacing the one above. UNVERIFIED: its real path and format
    # are not known here; this answers what the probe assumes (Trust v1's instance status).
    @app.get("/salesforce/<conn>/trust-center/instances/<key>/status")
    def sf_trust_center(conn, key):
        return answer(conn, "salesforce", "status_page", lambda: trust(conn))
