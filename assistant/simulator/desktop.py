"""The simulated QuickBooks Desktop agent: its status endpoint. See the package docstring for
the route."""

from __future__ import annotations

from flask import Flask, jsonify, request

from .state import now_iso


def agent(conn: str, connected: bool = True, hresult=None, message=None, ago: int = 30):
    last_error = None if message is None else {"hresult": hresult, "message": message}
    return jsonify({"connected": connected, "last_seen": now_iso(ago),
                    "last_error": last_error})


def register(app: Flask, answer) -> None:
    """Add the agent's route to ``app``; it answers through ``answer(conn, system, endpoint,
    healthy)`` (the connection's scenario, else ``healthy()``)."""

    @app.get("/agent/<conn>/v1/agents/<agent_id>/status")
    def agent_status(conn, agent_id):
        def healthy():
            if not request.headers.get("Authorization", "").startswith("Bearer "):
                return jsonify({"error": "unauthorized"}), 401
            return agent(conn)
        return answer(conn, "quickbooks_desktop", "agent_status", healthy)
