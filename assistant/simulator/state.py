"""What the simulator remembers: each connection's scenario, the tokens it issued and the calls
it answered, and the event that ends every ``hung`` answer."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta

from flask import request

MAX_CONNECTIONS = 200
"""Connections the simulator keeps state for; more are refused (a typo loop cannot grow it)."""

STOP = threading.Event()
"""Set it to make every ``hung`` answer return at once (test servers shutting down)."""


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


def now_iso(ago: int = 0) -> str:
    """UTC now, less ``ago`` seconds, as ``2026-01-05T10:00:00Z``."""
    return (datetime.now(UTC) - timedelta(seconds=ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
