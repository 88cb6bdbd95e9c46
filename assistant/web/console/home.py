"""The console's first page: open a session by its share code, and what needs attention."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from .. import services
from . import bp


@bp.get("/")
def home():
    """Open a session by the code a customer reads out; counts of what needs attention."""
    code = request.args.get("code")
    error = None
    if code is not None:
        row = services().store.session_by_code(code)
        if row is not None:
            return redirect(url_for("console.session", sid=row.id), 303)
        error = (f"No session has the code {code.strip()[:16]!r}. Codes look like K7-4QX: "
                 "ask the customer to read it from the top of their guide.")
    return render_template("console/home.html", code=code or "", error=error), \
        404 if error else 200
