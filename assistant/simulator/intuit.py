"""The simulated Intuit endpoints (QuickBooks Online): the OAuth token (rotating the refresh
token on every refresh), the OpenID discovery documents, the company info (JSON or XML) and the
status page. See the package docstring for the routes."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

from flask import Flask, Response, abort, jsonify, request

from ..probes.connections import DEMO_SECRET_PREFIX
from .scenarios import CAUSE_RESPONSES
from .state import SimState, now_iso


def statuspage(conn: str, indicator: str = "none",
               description: str = "All Systems Operational"):
    return jsonify({"page": {"id": "sim0intuit00", "name": "Intuit Developer",
                             "url": "https://status.developer.intuit.com",
                             "time_zone": "America/Los_Angeles", "updated_at": now_iso()},
                    "status": {"indicator": indicator, "description": description}})


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


def register(app: Flask, state: SimState, answer) -> None:
    """Add the Intuit routes to ``app``; each answers through ``answer(conn, system,
    endpoint, healthy)`` (the connection's scenario, else ``healthy()``)."""

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
                # The demo connections' seed (DEMO_SECRET_PREFIX…) stands for a fresh
                # authorization: after a reset of this simulator or a deleted token file the
                # demo starts a new rotation chain instead of staying "reconnect required".
                fresh = given.startswith(DEMO_SECRET_PREFIX)
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
