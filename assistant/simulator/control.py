"""The simulator's control API and page: list and switch each connection's scenario, set its
options, count its calls, reset; writes from another site are refused. See the package
docstring for the routes."""

from __future__ import annotations

from flask import Flask, abort, jsonify, redirect, render_template, request, url_for

from .scenarios import CAUSE_RESPONSES, available
from .state import MAX_CONNECTIONS, SimState


def register(app: Flask, state: SimState, connections_path: str | None) -> None:
    """Add the control routes to ``app``: they switch the scenarios of ``state``; the page
    lists the connections of ``connections_path`` (the configured ones) and any seen."""

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
