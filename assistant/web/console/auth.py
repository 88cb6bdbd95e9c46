"""Logging staff in and out: Flask-Login for the login session, the ``limits`` library for
login attempts, Argon2id hashes (:mod:`assistant.store.staff`).

Each login is a record on the server (:meth:`~assistant.store.staff.StaffAccounts.start_login`);
the cookie carries its random token, checked on every console request. Logout, a new password
and deactivation end the record, so a copied cookie stops working at once, everywhere; a login
also ends ``STAFF_LOGIN_HOURS`` after it began. Requests without a login in their cookie (every
customer's) never look it up.

Failed logins are limited per client address (``LOGIN_RATE_LIMIT``, default 10 per minute)
and per email address (``LOGIN_EMAIL_RATE_LIMIT``, default 20 per hour), in fixed windows that
start at the first failure; past either, the login page answers 429 without checking the
password. Each attempt is counted before the password is checked (one atomic increment, so
attempts sent at the same moment cannot slip past the limit) and given back when it succeeds.
The counters live in the app's database (:class:`~assistant.store.rate_limits.DatabaseStorage`),
shared by every worker and host, unless ``RATELIMIT_STORAGE_URI`` names another ``limits``
storage (``redis://…``; ``memory://`` is per process, and says so in the log). Only the login
view looks at them (no hook on every request, so the customer's wizard pays nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from limits import parse as parse_limit
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from .. import services
from . import bp

login_manager = LoginManager()


class LoginLimits:
    """Counters of failed logins, per client address and per email address.

    ``storage`` is a ``limits`` storage; ``per_address`` and ``per_email`` are rate strings
    such as ``"10 per minute"``
    (https://limits.readthedocs.io/en/stable/quickstart.html#rate-limit-string-notation).

    Raises:
        ValueError: a rate string cannot be used.
    """

    def __init__(self, storage: Storage, per_address: str, per_email: str):
        self.window = FixedWindowRateLimiter(storage)
        self.per_address = parse_limit(per_address)
        self.per_email = parse_limit(per_email)

    def _keys(self, address: str, email: str):
        return ((self.per_address, "login-address", address or "-"),
                (self.per_email, "login-email", email.strip().lower()[:254]))

    def attempt(self, address: str, email: str) -> bool:
        """Count one login attempt against both counters; False if either is past its
        limit (answer 429 without checking the password)."""
        return all([self.window.hit(limit, *key) for limit, *key in self._keys(address, email)])

    def succeeded(self, address: str, email: str) -> None:
        """Give back the attempt counted for a login that succeeded: only failures count."""
        for limit, *key in self._keys(address, email):
            self.window.hit(limit, *key, cost=-1)


def login_limits(app, engine) -> LoginLimits:
    """The app's :class:`LoginLimits`, made from its config: counters in ``engine``'s
    database unless ``RATELIMIT_STORAGE_URI`` names a ``limits`` storage.

    Raises:
        ConfigError: ``LOGIN_RATE_LIMIT``, ``LOGIN_EMAIL_RATE_LIMIT`` or
            ``RATELIMIT_STORAGE_URI`` cannot be used (the message names it).
    """
    from ...config import ConfigError
    from ...store.rate_limits import DatabaseStorage
    for name in ("LOGIN_RATE_LIMIT", "LOGIN_EMAIL_RATE_LIMIT"):
        try:
            parse_limit(app.config[name])
        except ValueError:
            raise ConfigError(f"{name} must be a rate such as '10 per minute', not "
                              f"{app.config[name]!r}") from None
    uri = app.config["RATELIMIT_STORAGE_URI"]
    try:
        storage = DatabaseStorage(engine) if uri == "database" else storage_from_string(uri)
    except Exception as e:  # limits raises several kinds for a bad URI
        raise ConfigError(f"RATELIMIT_STORAGE_URI cannot be used: {e}") from None
    if uri.startswith("memory:"):
        app.logger.warning("RATELIMIT_STORAGE_URI is memory://: each worker process counts "
                           "failed logins on its own, so with N workers an address gets up to "
                           "N times LOGIN_RATE_LIMIT")
    return LoginLimits(storage, app.config["LOGIN_RATE_LIMIT"],
                       app.config["LOGIN_EMAIL_RATE_LIMIT"])


@dataclass(frozen=True)
class StaffUser:
    """The logged-in staff member as Flask-Login sees it: id, email and role, and
    ``login_id``, the token of the login record, which the session cookie keeps."""

    id: int
    email: str
    role: str
    login_id: str
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    @classmethod
    def of(cls, row, login_id: str) -> StaffUser:
        """The user for a :class:`~assistant.store.models.Staff` row and a login token."""
        return cls(row.id, row.email, row.role, login_id)

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session cookie."""
        return self.login_id


@login_manager.user_loader
def _load_user(login_id: str) -> StaffUser | None:
    # Only called for a cookie holding a login: one indexed lookup per console request.
    lasts = timedelta(hours=current_app.config["STAFF_LOGIN_HOURS"])
    row = services().staff.by_login(login_id, lasts)
    return StaffUser.of(row, login_id) if row is not None else None


def unauthorized():
    """No login: the login page (303, remembering where to go) for a browser's GET of a page;
    401 for htmx, forms and downloads."""
    if request.method == "GET" and request.headers.get("HX-Request") != "true":
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")), 303)
    response = make_response(render_template(
        "error.html", fragment=request.headers.get("HX-Request") == "true",
        title="Please log in", message="Your console login has ended. Log in again, then "
        "repeat what you were doing."), 401)
    if request.headers.get("HX-Request") == "true":
        # htmx (a live poll, a note): send the whole page to the login form, which then comes
        # back to the page the agent was on (checked by _safe_next like any ?next=).
        try:
            page = urlsplit(request.headers.get("HX-Current-URL", ""))
            back = page.path + (f"?{page.query}" if page.query else "")
        except ValueError:  # not a URL (e.g. a broken [IPv6] host)
            back = ""
        response.headers["HX-Redirect"] = url_for(
            "console.login", next=back if back.startswith("/console/") else None)
    return response


login_manager.unauthorized_handler(unauthorized)


def _safe_next(target: str | None) -> str:
    """``target`` if it is a path inside the console, else the session list (no open
    redirect to another site; no control character, which could not go in a header)."""
    if target and target.isprintable():
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/console/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("console.sessions")  # the first thing staff want: recent sessions


def _too_many():
    response = make_response(render_template(
        "console/login.html", email=request.form.get("email", ""), next=request.args.get("next"),
        error="Too many failed logins. Wait a few minutes, then try again."), 429)
    response.headers["Retry-After"] = "60"
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; a right email and password log in and go on to ``?next=``."""
    target = request.args.get("next")
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_safe_next(target), 303)
        return render_template("console/login.html", email="", next=target, error=None)
    email = request.form.get("email", "").strip()
    limits = current_app.extensions["login_limits"]
    if not limits.attempt(request.remote_addr, email):
        return _too_many()
    row = services().staff.authenticate(email, request.form.get("password", ""))
    if row is None:
        return make_response(render_template(
            "console/login.html", email=email, next=target,
            error="That email and password do not match an active staff account."), 401)
    limits.succeeded(request.remote_addr, email)
    session.clear()  # a fresh session (and CSRF secret) for the logged-in staff member
    login_user(StaffUser.of(row, services().staff.start_login(row.id)))
    return redirect(_safe_next(target), 303)


def _login_csrf_error(message: str):
    """A login form whose token no longer matches because the login happened already (in
    another tab, which gave the session a fresh token): go on, logged in, rather than show
    "Form expired". Nothing is changed either way."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")), 303)
    return None


login.on_csrf_error = _login_csrf_error


@bp.post("/logout")
def logout():
    """Log out (a form post, so another site cannot log staff out): the login record ends,
    so a copy of the cookie stops working too."""
    if current_user.is_authenticated:
        services().staff.end_login(current_user.login_id)
    logout_user()
    session.clear()
    return redirect(url_for("console.login"), 303)
