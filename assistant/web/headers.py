"""The security headers of every response (CSP, HSTS, nosniff, Referrer-Policy,
Permissions-Policy), and which pages a help center may frame."""

from __future__ import annotations

from flask import current_app, request

PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), "
                      "magnetometer=(), microphone=(), payment=(), usb=()")
"""Powerful browser features no page here uses, switched off for the page and any frame."""
# Blueprints whose pages a help center may show in a frame (see assistant.web.embed).
FRAMEABLE = frozenset({"wizard", "embed"})


def security_headers(response):
    """Add CSP, nosniff, ``Referrer-Policy: same-origin``, a Permissions-Policy and, over
    HTTPS, HSTS (one year) to ``response``; returns it.

    Session URLs are capabilities and must never reach another site; within the site the
    Referer stays, because Flask-WTF's CSRF check requires it on HTTPS. Only the customer's
    pages (:data:`FRAMEABLE`) may be framed, and only by ``EMBED_ORIGINS``; everything else
    (the console above all: clickjacking a logged-in agent) says ``frame-ancestors 'none'``.
    """
    response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    origins = current_app.config.get("EMBED_ORIGINS") or []
    ancestors = " ".join(origins) if origins and request.blueprint in FRAMEABLE else "'none'"
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"frame-ancestors {ancestors}; form-action 'self'; base-uri 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
