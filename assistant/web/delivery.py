"""How responses travel: compressed when the browser asks, and our own static files under
fingerprinted URLs that browsers keep for a year.

- Compression: Flask-Compress (zstd, br, gzip or deflate, whichever the request's
  ``Accept-Encoding`` prefers, in that order) for text responses of at least
  :data:`COMPRESS_MIN_SIZE` bytes, in every server (``assistant serve`` and gunicorn alike,
  as it runs in the app). A streamed response (the console's CSV exports) is never
  compressed: a compressor holds back what it is given until its buffer fills, and the
  stream must reach the browser as it is made. Our static files are small and whole, so
  they are compressed whole like a page.
- Fingerprints: :func:`static_url` (a template global, the one way templates link a static
  file) gives ``/static/<file>?v=<hash>``, the first 10 hex digits of the file's SHA-256.
  Asked with the current hash, the file is sent with :data:`IMMUTABLE`; a changed file gets
  a new URL. Without it (or with an old hash), the file is still served, cached for
  :data:`SHORT_CACHE_SECONDS` only. The htmx file carries its version in its name, so it is
  immutable under any URL. ``embed.js`` is not a static file (host pages hard-code its URL;
  see :mod:`assistant.web.embed`).
"""

from __future__ import annotations

import hashlib
import os

from flask import Flask, current_app, request, url_for
from flask_compress import Compress

COMPRESS_MIN_SIZE = 1024  # bytes: below this a compressed body saves no packet
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT_CACHE_SECONDS = 300
HASH_DIGITS = 10

# What this app sends that compresses well (images other than SVG are compressed already).
MIMETYPES = ["text/html", "text/css", "text/javascript", "application/javascript",
             "application/json", "image/svg+xml", "text/plain", "text/csv"]


def install(app: Flask, versioned: frozenset[str] = frozenset()) -> None:
    """Compress ``app``'s responses and serve its static files with fingerprints and caching
    (``versioned``: static file names that carry their own version, e.g. htmx's)."""
    app.config.setdefault("COMPRESS_MIN_SIZE", COMPRESS_MIN_SIZE)
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    app.config["COMPRESS_REGISTER"] = False  # called by _compressed below, not on its own
    app.extensions["compress"] = Compress(app)
    app.extensions["static_hashes"] = {}
    app.extensions["static_urls"] = {}
    app.extensions["static_versioned"] = versioned
    app.jinja_env.globals["static_url"] = static_url
    # Flask runs after_request hooks last-registered first: install before the app's other
    # hooks, so compression sees the finished response.
    app.after_request(_static_caching)
    app.after_request(_compressed)


def _fingerprint(filename: str) -> str | None:
    """The first :data:`HASH_DIGITS` hex digits of the SHA-256 of a static file (None if there
    is no such file). Cached by the file's size and modification time, so an edited file gets
    a new fingerprint without a restart."""
    path = os.path.join(current_app.static_folder, filename)
    try:
        st = os.stat(path)
    except OSError:
        return None
    cache = current_app.extensions["static_hashes"]
    key = (filename, st.st_mtime_ns, st.st_size)
    digest = cache.get(key)
    if digest is None:
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:HASH_DIGITS]
        cache[key] = digest
    return digest


def static_url(filename: str) -> str:
    """The URL of our static file ``filename`` with its fingerprint: ``/static/app.css?v=…``.
    Built once per file version (a full page links five)."""
    digest = _fingerprint(filename)
    urls = current_app.extensions["static_urls"]
    key = (request.script_root, filename, digest)
    url = urls.get(key)
    if url is None:
        url = urls[key] = url_for("static", filename=filename, v=digest)
    return url


def _static_caching(response):
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    filename = (request.view_args or {}).get("filename", "")
    if filename in current_app.extensions["static_versioned"] or (
            request.args.get("v") and request.args.get("v") == _fingerprint(filename)):
        response.headers["Cache-Control"] = IMMUTABLE
    else:
        response.headers["Cache-Control"] = f"public, max-age={SHORT_CACHE_SECONDS}"
    return response


def _compressed(response):
    if response.status_code == 206:  # a byte range of the file, not the file
        return response
    if response.is_streamed:
        if request.endpoint != "static":
            return response  # a stream goes out as it is made, uncompressed
        response.direct_passthrough = False
        response.make_sequence()  # a small file of ours: read whole, compressed whole
    return current_app.extensions["compress"].after_request(response)
