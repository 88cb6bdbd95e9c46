"""A real loopback HTTP server running the simulator, and connections pointing at it."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from werkzeug.serving import make_server

from assistant.probes.connections import load_connections
from assistant.simulator import STOP, create_simulator

SECRETS = {
    "SF_CLIENT_ID": "sf-client-id-3MVG9lKcPoNINVB",
    "SF_CLIENT_SECRET": "sf-client-secret-1955279925675241571",
    "SF_REFRESH_TOKEN": "sf-refresh-5Aep861TSESvWeug_xvFHRBTTbf",
    "QBO_CLIENT_ID": "qbo-client-id-ABhhFcGAPNJlLY6A57",
    "QBO_CLIENT_SECRET": "qbo-client-secret-tqZuwmBeBtmwwMm",
    "QBO_REFRESH_TOKEN": "RT1-11-H0-seed-lzs5jdv777fllh5imqdv",
    "QBD_AGENT_API_KEY": "qbd-agent-key-9f8e7d6c5b4a",
}

CONFIG = """\
connections:
  - id: acme-salesforce
    label: Acme Inc. Salesforce
    system: salesforce
    endpoints:
      login: ${SIMULATOR_URL}/salesforce/acme-salesforce
      trust: ${SIMULATOR_URL}/salesforce/acme-salesforce/trust
    instance_key: NA123
    secrets: {client_id: SF_CLIENT_ID, client_secret: SF_CLIENT_SECRET,
              refresh_token: SF_REFRESH_TOKEN}
    timeouts: {connect: 1, read: READ}
  - id: acme-qbo
    label: Acme Inc. QuickBooks Online
    system: quickbooks_online
    endpoints:
      token: ${SIMULATOR_URL}/intuit/acme-qbo/oauth2/v1/tokens/bearer
      api: ${SIMULATOR_URL}/intuit/acme-qbo
      status: ${SIMULATOR_URL}/intuit/acme-qbo/status/api/v2/status.json
    realm_id: "9130350000000001"
    secrets: {client_id: QBO_CLIENT_ID, client_secret: QBO_CLIENT_SECRET,
              refresh_token: QBO_REFRESH_TOKEN}
    timeouts: {connect: 1, read: READ}
  - id: acme-qbd
    label: Acme Inc. QuickBooks Desktop
    system: quickbooks_desktop
    endpoints:
      agent_status: ${SIMULATOR_URL}/agent/acme-qbd/v1/agents/{agent_id}/status
    agent_id: agent-0001
    secrets: {api_key: QBD_AGENT_API_KEY}
    timeouts: {connect: 1, read: READ}
"""

IDS = {"salesforce": "acme-salesforce", "quickbooks_online": "acme-qbo",
       "quickbooks_desktop": "acme-qbd"}
PROBE_OF = {"salesforce": "salesforce.api", "quickbooks_online": "quickbooks_online.api",
            "quickbooks_desktop": "quickbooks_desktop.agent"}


class Simulator:
    def __init__(self, *, delay: float = 0.3, hang_seconds: float = 5.0):
        self.app = create_simulator(delay=delay, hang_seconds=hang_seconds)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Simulator:
        STOP.clear()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        STOP.set()
        self.server.shutdown()
        self.thread.join(5)

    def set(self, conn: str, system: str, scenario: str) -> None:
        r = httpx.put(f"{self.url}/_sim/scenarios/{conn}",
                      json={"system": system, "scenario": scenario})
        assert r.status_code == 200, r.text

    def calls(self) -> dict:
        return httpx.get(f"{self.url}/_sim/calls").json()

    def reset(self) -> None:
        httpx.post(f"{self.url}/_sim/reset").raise_for_status()

    def connections(self, tmp_path: Path, *, read: float = 2.0, environ: dict | None = None):
        path = tmp_path / "connections.yaml"
        path.write_text(CONFIG.replace("READ", str(read)), encoding="utf-8")
        env = {"SIMULATOR_URL": self.url, **SECRETS, **(environ or {})}
        return load_connections(path, environ=env)
