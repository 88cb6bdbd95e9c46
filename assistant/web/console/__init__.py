"""The staff console: everything under ``/console``.

Every view of this blueprint needs a logged-in, active staff member (the guard below runs
before each of them, so a new view cannot forget it): without a login a page answers a
redirect to the login page (303) and htmx requests, form posts and downloads answer 401.
Views marked :func:`admin_only` answer 403 to an agent. Only the login page itself is open
(:data:`OPEN_ENDPOINTS`). No console response is cached (``Cache-Control: no-store``).

Modules: :mod:`.auth` (login, logout, the login manager and rate limits), :mod:`.home`
(the first address),
:mod:`.sessions` (session list, session view, notes, guided mode), :mod:`.handoffs` (the
queue), :mod:`.analytics`, :mod:`.flows` (the flows' state, admin only), :mod:`.staff` (accounts,
admin only).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, request
from flask_login import current_user

bp = Blueprint("console", __name__, url_prefix="/console")

OPEN_ENDPOINTS = {"console.login"}
# (endpoint, label, admin only): the console's navigation, shown for views that exist.
NAV = [("console.sessions", "Sessions", False), ("console.guided_start", "Guide a call", False),
       ("console.handoffs", "Handoffs", False),
       ("console.analytics", "Analytics", True), ("console.flows", "Flows", True),
       ("console.staff", "Staff", True)]


def admin_only(view):
    """Mark a console view as for admins only: agents get 403."""
    view.admin_only = True
    return view


def needs_login_response():
    """The answer to a request without a login: a redirect to the login page for a page
    loaded by the browser, 401 for anything else (htmx, a form post, an API call)."""
    from .auth import unauthorized
    return unauthorized()


@bp.before_request
def _guard():
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return needs_login_response()
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "admin_only", False) and current_user.role != "admin":
        abort(403)
    return None


@bp.after_request
def _never_stored(response):
    # Console pages show customers' addresses and messages and staff accounts: no browser
    # disk cache or proxy may keep them (a view may have set its own Cache-Control already).
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.app_context_processor
def _console_globals():
    def nav_items():
        exists = current_app.view_functions
        is_admin = current_user.is_authenticated and current_user.role == "admin"
        return [(endpoint, label) for endpoint, label, admin in NAV
                if endpoint in exists and (is_admin or not admin)]
    return {"console_nav": nav_items}


def staff_id() -> int:
    """The id of the logged-in staff member (only inside console views)."""
    return current_user.id


__all__ = ["admin_only", "bp", "staff_id"]

from . import analytics, auth, guided, handoffs, home, sessions, staff  # noqa: E402,F401,I001
from . import flows, versions  # noqa: E402,F401,I001
from . import analytics_charts, analytics_exports  # noqa: E402,F401,I001
