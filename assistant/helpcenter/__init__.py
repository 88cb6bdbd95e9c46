"""A demo help center on a second origin: the seed article "How to Reset Your Connection" as a
help-center page, with the assistant embedded the way a customer's site would do it.

In demo mode ``assistant serve`` runs it on a loopback address (``DEMO_HELP_CENTER_URL``,
default http://localhost:5002 while the app is at http://127.0.0.1:5000: another site to the
browser, so the guide's frame is a third-party frame and its cookies are blocked, as on a real
help center). Pages:

| URL | what |
|---|---|
| ``/`` | 303 to the article |
| ``/articles/how-to-reset-your-connection`` | the article: the inline guide in each    |
|                                            | section, the feedback widget at the end    |
| ``/articles/how-to-reset-your-connection?layout=launcher`` | the same article with the  |
|                                     | floating "Troubleshoot" launcher instead of inline guides |

The page has its own look and its own CSP, which allows scripts and frames from the assistant
only: nothing of the assistant's styles reaches it.
"""

from __future__ import annotations

from flask import Flask, redirect, render_template, request, url_for

from ..resources import templates_dir

ARTICLE = "how-to-reset-your-connection"


def create_help_center(assistant_url: str) -> Flask:
    """The demo help center's WSGI app, embedding the assistant served at ``assistant_url``
    (``http://host:port``, no trailing slash)."""
    app = Flask(__name__, template_folder=str(templates_dir()), static_folder=None)
    assistant_url = assistant_url.rstrip("/")

    @app.get("/")
    def home():
        return redirect(url_for("article"), 303)

    @app.get(f"/articles/{ARTICLE}")
    def article():
        launcher = request.args.get("layout") == "launcher"
        return render_template("helpcenter/article.html", assistant=assistant_url,
                               launcher=launcher, article_id=ARTICLE)

    @app.get("/favicon.ico")
    def favicon():
        return "", 204

    @app.get("/help.css")
    def stylesheet():
        return app.response_class(render_template("helpcenter/help.css"),
                                  mimetype="text/css")

    @app.after_request
    def _headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; script-src {assistant_url}; frame-src {assistant_url}; "
            "style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return app
