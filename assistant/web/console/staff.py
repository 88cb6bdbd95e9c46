"""Staff accounts, for admins: list them, add one, stop or allow an account's logins."""

from __future__ import annotations

from flask import abort, make_response, redirect, render_template, request, url_for

from ...store.staff import ROLES, StaffError
from .. import services
from . import admin_only, bp, staff_id


def _page(values=None, error=None, status=200, added=None):
    return make_response(render_template(
        "console/staff.html", accounts=services().staff.all(), roles=ROLES,
        values=values or {"email": "", "role": "agent"}, error=error, added=added), status)


@bp.get("/staff")
@admin_only
def staff():
    """Every account: email, role, active, last login; and the form to add one
    (``?added=<email>``: says that account was just made)."""
    added = request.args.get("added")
    return _page(added=added if added and services().staff.by_email(added) else None)


@bp.post("/staff")
@admin_only
def staff_add():
    """Add an account (email, role, a password of at least 12 characters to hand over)."""
    values = {"email": request.form.get("email", "").strip(),
              "role": request.form.get("role", "agent")}
    try:
        row = services().staff.add(values["email"], request.form.get("password", ""),
                                   values["role"])
    except StaffError as e:
        return _page(values, f"The account was not created: {e}.", 400)
    return redirect(url_for("console.staff", added=row.email), 303)


@bp.post("/staff/<int:account_id>/active")
@admin_only
def staff_active(account_id: int):
    """Stop (``active=0``) or allow (``active=1``) an account's logins; an admin cannot stop
    their own account."""
    if services().staff.get(account_id) is None:
        abort(404)
    active = request.form.get("active") == "1"
    if account_id == staff_id() and not active:
        return _page(error="You cannot deactivate your own account while logged in with it.",
                     status=400)
    services().staff.set_active(account_id, active)
    return redirect(url_for("console.staff"), 303)

