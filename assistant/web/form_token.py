"""The customer's form token: forgery protection for the wizard's forms that needs no cookie.

A help center shows the wizard in an iframe on another site, where browsers block third-party
cookies (Safari and Chromium's tracking protection) or never send a ``SameSite=Lax`` one. So a
customer's form cannot carry Flask-WTF's token, whose secret lives in the cookie. Instead each
form carries a token signed with the app's ``SECRET_KEY`` (itsdangerous, HMAC-SHA1 by default)
over the *scope* of the page:

- ``session:<sid>`` on a session's pages: the session id is the customer's capability (an
  unguessable URL), so the token adds that a form was made by this app for this session; a
  forged form, or one taken from another session's page, is refused.
- ``flow:<flow_id>`` on a flow's start page (before there is a session);
- ``article:<key>`` on the article feedback widget (:mod:`assistant.web.embed`).

The wizard's and the widget's blueprints are exempt from :class:`flask_wtf.csrf.CSRFProtect`
and call :func:`protect` before every POST; the console keeps ``CSRFProtect`` (its login is the
cookie). In their templates ``csrf_token()`` is :func:`form_token` (a blueprint context
processor), so every customer form gets it without a second spelling. The token does not
expire: a customer may keep a step open for hours (as ``WTF_CSRF_TIME_LIMIT = None``).
``SECRET_KEY_FALLBACKS`` (Flask's setting) still verifies tokens signed with an old key.
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from flask import current_app, g, request
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeSerializer

FIELD = "csrf_token"  # the name Flask-WTF's forms use, kept so every form reads the same
SALT = "assistant.form-token"


def _keys() -> tuple:
    """The app's secret keys, the current one last (itsdangerous signs with the last and
    verifies with all)."""
    return (*(current_app.config.get("SECRET_KEY_FALLBACKS") or ()),
            current_app.config["SECRET_KEY"])


@lru_cache(maxsize=16)  # one per set of keys
def _serializer(keys: tuple) -> URLSafeSerializer:
    return URLSafeSerializer(list(keys), salt=SALT)


@lru_cache(maxsize=8192)
def _signed(keys: tuple, scope: str) -> str:
    """The token for ``scope`` signed with ``keys``: deterministic, so each worker signs a
    session's scope once (JSON, a zlib attempt, a key derivation and an HMAC: ~0.1 ms in a
    request), not on every page and POST of it. ~8,000 open sessions per worker stay
    cached (~3 MB)."""
    return _serializer(keys).dumps(scope)


def scope() -> str:
    """The scope of the current request's page: ``session:<sid>``, ``flow:<flow_id>`` or
    ``article:<key>`` from the URL, else ``page:<name>`` for a view that names the scope its
    forms share with another view (its ``form_scope``, e.g. the list of guides and the POST
    its text box sends), else ``page:<endpoint>``."""
    args = request.view_args or {}
    for name, prefix in (("sid", "session"), ("flow_id", "flow")):
        if args.get(name):
            return f"{prefix}:{args[name]}"
    article = request.args.get("article") if request.endpoint == "embed.feedback" else None
    if article:
        return f"article:{article}"
    shared = getattr(current_app.view_functions.get(request.endpoint), "form_scope", None)
    return f"page:{shared or request.endpoint}"


def form_token() -> str:
    """The token for the forms of the current page (see the module docstring): signed once
    per request (a page has several forms, and a POST's check signs the same scope)."""
    token = g.get("_form_token")
    if token is None:
        token = g._form_token = _signed(_keys(), scope())
    return token


def protect() -> None:
    """Check the form token of a POST to the current URL.

    Raises:
        CSRFError: the token is missing, forged, or made for another session, flow or
            article (answered 400 by the app's CSRF error page, nothing changed).
    """
    if request.method != "POST":
        return
    token = request.form.get(FIELD, "")
    # The token is deterministic: one made with the current key equals this page's, so one
    # signature serves the check and the page rendered after it; only a token made with an
    # older key (SECRET_KEY_FALLBACKS) needs verifying.
    valid = bool(token) and hmac.compare_digest(token.encode(), form_token().encode())
    if token and not valid:
        try:
            valid = _serializer(_keys()).loads(token) == scope()
        except BadSignature:
            valid = False
    if not valid:
        raise CSRFError("The form token is missing or was not made for this page.")


def install(blueprint) -> None:
    """Protect ``blueprint``'s POSTs with the form token instead of Flask-WTF's cookie-bound
    one, and give its templates ``csrf_token()`` = :func:`form_token`."""
    from . import csrf
    csrf.exempt(blueprint)
    blueprint.before_request(protect)
    blueprint.context_processor(lambda: {"csrf_token": form_token})
