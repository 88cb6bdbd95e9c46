"""Error pages: the customer's layout (or its htmx fragment), JSON under the API; the 503 for a
database that does not answer; and the requests refused before any view (a chunked body, a
NUL character)."""

from __future__ import annotations

from flask import Flask, current_app, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

from ..store.health import is_unavailable

API_PREFIX = "/api/"
RETRY_AFTER_SECONDS = 5


def unavailable_page():
    """503 with ``Retry-After``: the database did not answer in time. On the customer's
    layout (the console's needs the database for its menu), or the fragment for htmx."""
    if request.path.startswith(API_PREFIX):
        from .api import error
        response = error(503, "unavailable", "The service is unavailable for a moment; "
                                             "nothing was changed. Please try again shortly.")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    # Rendered without the context processors: Flask-Login's reads the staff table.
    html = current_app.jinja_env.get_template("error.html").render(
        request=request, fragment=request.headers.get("HX-Request") == "true", plain=True,
        title=_l("Please try again in a moment"),
        message=_l("We couldn't save or load this just now because our service is busy or "
                   "briefly unavailable. Nothing you've done so far is lost. Please try "
                   "again in a few seconds."))
    return make_response(html, 503, {"Retry-After": str(RETRY_AFTER_SECONDS),
                                     "Cache-Control": "no-store", "Vary": "HX-Request"})


def error_page(status: int, title: str, message: str):
    if request.path.startswith(API_PREFIX):  # the JSON API's refusals are JSON too
        from .api import error
        codes = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
                 411: "length_required", 413: "too_large"}
        return error(status, codes.get(status, "refused"), message)
    fragment = request.headers.get("HX-Request") == "true"
    html = render_template("error.html", title=title, message=message, fragment=fragment)
    return html, status, {"Vary": "HX-Request"}


def install_refusals(app: Flask) -> None:
    """Refuse, before any view and before CSRFProtect's check (which reads the form), a
    chunked body (411) and a NUL anywhere in the address or form (400)."""

    @app.before_request  # registered before CSRFProtect's, which reads the form
    def _refuse_chunked_bodies():
        # Werkzeug cuts a chunked body at MAX_CONTENT_LENGTH instead of refusing it; forms
        # always send Content-Length.
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            return error_page(411, _l("Length required"),
                              _l("This request did not say how long it is, so it was refused."))
        return None

    @app.before_request  # also before CSRFProtect's: nothing with a NUL reaches a view
    def _refuse_nul():
        # PostgreSQL text cannot hold NUL, so a query with one fails there (a 500); no one
        # types it, so refuse it in the address, the query string and the form alike.
        def has_nul(values) -> bool:
            return any("\x00" in key or any("\x00" in v for v in vs)
                       for key, vs in values.lists())
        if "\x00" in request.path or has_nul(request.args) or has_nul(request.form):
            return error_page(400, _l("That can't be used"),
                              _l("The address or form held a character that can't be used (a "
                              "NUL), so nothing was changed. Please go back and try again."))
        return None


def install_error_pages(app: Flask) -> None:
    """The pages for 403, 404, 405, 413 and 500, and the 503 for a database that does not
    answer (any other database error is a bug: the 500 page)."""

    @app.errorhandler(SQLAlchemyError)
    def _database_error(error):
        if not is_unavailable(error):
            raise error  # a bug: the 500 handler (and its traceback in the log)
        # Logged once per outage by the store's health, not a traceback per request.
        return unavailable_page()

    @app.errorhandler(404)
    def _not_found(_error):
        return error_page(404, _l("Page not found"),
                          _l("We couldn't find that page. If you followed a link to a session, "
                          "it may have been mistyped."))

    @app.errorhandler(403)
    def _forbidden(_error):
        return error_page(403, _l("Not for your role"),
                          _l("This part of the console is for admins. Ask an admin if you need "
                          "it."))

    @app.errorhandler(405)
    def _wrong_method(_error):
        return error_page(405, _l("This page can't be used that way"),
                          _l("This address can't be used that way. Use the links and buttons "
                          "on the pages."))

    @app.errorhandler(413)
    def _too_large(_error):
        return error_page(413, _l("That was too much text"),
                          _l("What you sent is far longer than any form here allows, so nothing "
                          "was saved. Please go back and shorten it."))

    @app.errorhandler(500)
    def _server_error(_error):  # pragma: no cover - a safety net
        return error_page(500, _l("Something went wrong"),
                          _l("Sorry, something went wrong on our side. Please try again."))
