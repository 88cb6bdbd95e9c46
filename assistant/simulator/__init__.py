"""A simulator of the vendor endpoints the probes call, speaking their real wire formats, with a
switchable scenario per connection. It accepts any credentials: serve it on loopback only.

Routes (``<conn>`` is the connection id; its system is known from the prefix):

- ``POST /salesforce/<conn>/services/oauth2/token`` (refresh-token grant; client credentials in
  the form or as HTTP Basic; rotates the refresh token only when the connection's option
  ``rotate_refresh_tokens`` is on, as a connected app's "Refresh Token Rotation" setting does,
  and then rejects the old one), ``GET .../services/data/v<ver>/limits[/]``,
  ``GET .../services/data/v<ver>/query[/]?q=`` (a version outside
  :data:`.salesforce.SF_API_VERSIONS` answers 404 ``NOT_FOUND``),
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

import time

from flask import Flask, Response

from ..resources import templates_dir
from . import control, desktop, intuit, salesforce
from .scenarios import HTML_502, responses
from .state import STOP, SimState

API_ENDPOINTS = {"limits", "rest_api", "company_info", "agent_status"}


def create_simulator(*, delay: float = 2.0, hang_seconds: float = 60.0,
                     connections_path: str | None = None) -> Flask:
    """The simulator app. ``delay`` is the ``slow`` scenario's wait; ``hung`` answers stop
    after ``hang_seconds`` or when :data:`STOP` is set."""
    app = Flask(__name__, template_folder=str(templates_dir()))
    state = SimState()
    app.extensions["simulator"] = state

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

    # the answers a scenario names by key (scenarios.py), on this simulator's state
    SPECIAL = {"limits_exhausted": lambda conn: salesforce.sf_limits(state, conn, remaining=0),
               "trust": salesforce.trust, "statuspage": intuit.statuspage,
               "agent": desktop.agent}

    salesforce.register(app, state, answer)
    intuit.register(app, state, answer)
    desktop.register(app, answer)
    control.register(app, state, connections_path)
    return app


__all__ = ["STOP", "SimState", "create_simulator"]
