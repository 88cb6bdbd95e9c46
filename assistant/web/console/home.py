"""The console's first address: the session list (``?code=`` opens that session)."""

from __future__ import annotations

from flask import redirect, request, url_for

from . import bp


@bp.get("/")
def home():
    """303 to the session list, passing on a share code to look up (``?code=K7-4QX``)."""
    code = request.args.get("code")
    return redirect(url_for("console.sessions", code=code) if code else
                    url_for("console.sessions"), 303)
