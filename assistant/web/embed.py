"""The wizard inside a help center's article: ``/embed.js``, the embedded layout, and the
article's own "Did this answer your question?" widget.

URLs:

| method | URL | what |
|---|---|---|
| GET | ``/embed.js`` | the script a host page includes (see ``assistant/static/embed.js``) |
| GET | ``/embed/feedback?article=A[&section=S][&flow=F][&launch=T]`` | the article's    |
|     |                                                   | feedback widget (three reactions)   |
| POST | the same | store a reaction (``reaction``, ``form_id``), 303 to its result   |
| GET | ``/embed/feedback?article=A&reaction=R`` | thanks; after "No"/"Partly", the   |
|     |                                         | matching guide offered in place      |

``embed=1`` in a wizard or widget URL asks for the embedded layout (no site header or footer,
the frame script that reports the page's height to the host page). Every URL the app builds
while answering an embedded request keeps it (:func:`_keep_embed`), so links, forms, htmx
requests and redirects stay embedded. ``R`` is the reaction's row id, signed: the wizard's
start links the session it creates to it (:func:`link_reaction`), which is how analytics
counts unhappy readers who then finished a guide resolved.

A reaction is stored per article and section as the page names them (an article URL loses its
query and fragment, so tracking parameters don't split its figures).
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit, urlunsplit

from flask import (
    Blueprint,
    current_app,
    has_request_context,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from itsdangerous import BadSignature, URLSafeSerializer

from ..resources import PACKAGE
from . import form_token, services
from .i18n import localized

bp = Blueprint("embed", __name__)
form_token.install(bp)

REACTIONS = {"yes": lazy_gettext("Yes"), "partly": lazy_gettext("Partly"),
             "no": lazy_gettext("No")}
ARTICLE_MAX, SECTION_MAX = 300, 120
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FRAMED = ("wizard", "embed")  # blueprints whose URLs keep ``embed=1``


def is_embedded() -> bool:
    """True when the current request asks for the embedded layout (``embed=1``)."""
    # Asked for every URL a page builds (_keep_embed): no query string, no lookup (see
    # assistant.web.chat.is_chat).
    return (has_request_context() and bool(request.args) and request.blueprint in FRAMED
            and request.args.get("embed") == "1")


@bp.app_url_defaults
def _keep_embed(endpoint: str, values: dict) -> None:
    """Keep ``embed=1`` in every wizard or widget URL built for an embedded request, and the
    reaction that opened the guide in the start page's URL and in its Start form's action."""
    if not has_request_context() or endpoint.split(".")[0] not in FRAMED:
        return
    if is_embedded():
        values.setdefault("embed", "1")
    if endpoint in ("wizard.begin", "wizard.start_session") and request.args.get("reaction"):
        values.setdefault("reaction", request.args["reaction"])


@bp.app_context_processor
def _embedding():
    return {"embedded": is_embedded(),
            "embed_origins": current_app.config.get("EMBED_ORIGINS") or [],
            # set by `assistant serve` while it serves the demo help center
            "demo_help_center": current_app.config.get("DEMO_HELP_CENTER_PAGE")}


def _reactions() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="assistant.article-reaction")


def link_reaction(row) -> None:
    """If the current request started session ``row`` from an article's unhappy reaction
    (``?reaction=`` signed), record that the reaction opened it. A forged or reused reaction
    changes nothing."""
    signed = request.args.get("reaction")
    if not signed:
        return
    try:
        reaction_id = _reactions().loads(signed)
    except BadSignature:
        return
    if isinstance(reaction_id, int):
        current_app.extensions["article_feedback"].link_session(reaction_id, row.id,
                                                                row.flow_id)


@bp.get("/embed.js")
def script():
    """The host page's script. Cached for 5 minutes: a fix reaches help centers soon, and no
    address in it changes with a release."""
    response = send_from_directory(PACKAGE / "static", "embed.js", max_age=300,
                                   mimetype="text/javascript")
    # Any site may load the script (a host page's COEP may ask for this).
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _article() -> tuple[str, str | None]:
    """The article and section the widget is for, as stored: control characters removed,
    an http(s) URL without query and fragment, cut to the columns' lengths."""
    article = CONTROL.sub("", request.args.get("article", "")).strip()
    if article.lower().startswith(("http://", "https://")):
        try:
            parts = urlsplit(article)
            article = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "",
                                  ""))
        except ValueError:
            pass
    section = CONTROL.sub("", request.args.get("section", "")).strip()
    return article[:ARTICLE_MAX], section[:SECTION_MAX] or None


def _matching_flow(section: str | None):
    """The guide for the widget: ``?flow=`` if it names one, else the flow written from the
    article section the widget sits under, else None (the reader chooses)."""
    flows = services().flows
    wanted = request.args.get("flow")
    if wanted in flows:
        return flows[wanted]
    if section:
        key = section.casefold()
        return next((f for f in flows.values()
                     if f.source_section and f.source_section.casefold() == key), None)
    return None


def _widget(status: int = 200, **context):
    article, section = _article()
    flow = _matching_flow(section)
    html = render_template("embed_feedback.html", article=article, section=section,
                           flow=localized(flow) if flow else None,
                           flows=sorted(map(localized, services().flows.values()),
                                                   key=lambda f: f.title),
                           reactions=REACTIONS, launch=request.args.get("launch") or None,
                           **context)
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.route("/embed/feedback", methods=["GET", "POST"])
def feedback():
    """The article's "Did this answer your question?" (see the module docstring)."""
    article, section = _article()
    if not article:
        return _widget(400, problem=_("This feedback box was set up without naming its "
                                      "article, so it can't take answers."))
    if request.method == "GET":
        signed = request.args.get("reaction")
        if signed:
            try:
                row = current_app.extensions["article_feedback"].get(_reactions().loads(signed))
            except (BadSignature, TypeError):
                row = None
            if row is not None:
                return _widget(given=row.reaction, signed=signed)
        return _widget(form_id=secrets.token_hex(16))
    reaction = request.form.get("reaction", "")
    form_id = request.form.get("form_id", "")
    if reaction not in REACTIONS or not re.fullmatch(r"[0-9a-f]{32}", form_id):
        return _widget(400, form_id=form_id if re.fullmatch(r"[0-9a-f]{32}", form_id)
                       else secrets.token_hex(16),
                       problem=_("Choose Yes, Partly or No."))
    flow = _matching_flow(section)
    row_id = current_app.extensions["article_feedback"].record(
        form_id, article, section, reaction, flow.id if flow else None)
    return redirect(url_for("embed.feedback", article=request.args.get("article"),
                            section=request.args.get("section") or None,
                            flow=request.args.get("flow") or None,
                            launch=request.args.get("launch") or None,
                            reaction=_reactions().dumps(row_id)), 303)
