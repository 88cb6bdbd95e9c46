"""Share codes: the short code a customer reads out to support (``K7-4QX``) to find their
session."""

from __future__ import annotations

import re
import secrets

# Share codes: no 0/O, 1/I/L, so a code read out over the phone is not misheard.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_PATTERN = re.compile(rf"^[{CODE_ALPHABET}]{{2}}-[{CODE_ALPHABET}]{{3}}$")


def new_share_code() -> str:
    """A random share code like ``K7-4QX``: 5 characters from :data:`CODE_ALPHABET` (31⁵ ≈
    28.6 million codes)."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(5))
    return f"{chars[:2]}-{chars[2:]}"


def normalize_share_code(text: str) -> str | None:
    """A share code as typed by an agent ("k7 4qx", "K74QX", " K7-4QX ") in its stored form
    ``K7-4QX``, or None if it cannot be one."""
    chars = re.sub(r"[\s\-–—]", "", text or "").upper()
    code = f"{chars[:2]}-{chars[2:]}"
    return code if CODE_PATTERN.match(code) else None
