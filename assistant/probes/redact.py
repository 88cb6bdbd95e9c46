"""Keep secrets out of what a probe stores, whatever an upstream echoes back.

An upstream (broken, hostile, or logging our request into its error) may reflect a secret we
sent it: as is, upper- or lower-cased, cut short, URL- or JSON-escaped, base64- or
hex-encoded. :func:`redact` replaces, in every string of a JSON-like value:

- any run of :data:`FRAGMENT` or more characters that also occurs in a secret or in one of its
  encodings (:func:`~assistant.probes.recording.secret_forms`), compared without regard to case —
  so a truncated or re-cased copy goes too;
- any base64 or hex run that decodes to text holding such a fragment of a secret (whatever
  its case or where the encoding started);
- a secret shorter than :data:`FRAGMENT` (but at least 4 characters) wherever it occurs.

Each is replaced by ``[redacted]``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
FRAGMENT = 8
"""Shortest run of a secret treated as a copy of it (a random 8-character run occurs in
ordinary text by chance practically never)."""

_ENCODED = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")


class Secrets:
    """The secrets of one check, prepared for :meth:`redact`. ``values``: the secrets as
    sent; ``forms``: those and their encodings (see :func:`secret_forms`)."""

    def __init__(self, values: Iterable[str], forms: Iterable[str]):
        self.raw = [v.lower() for v in dict.fromkeys(values) if v and len(v) >= 4]
        every = set(self.raw) | {f.lower() for f in forms if f and len(f) >= 4}
        for value in self.raw:  # base64 of re-cased and shifted copies: any alignment
            for variant in {value, value.upper()}:
                for start in range(3):
                    encoded = base64.b64encode(variant[start:].encode()).decode().rstrip("=")
                    every.update({encoded.lower(),
                                  encoded.replace("+", "-").replace("/", "_").lower()})
        self.short = sorted((f for f in every if len(f) < FRAGMENT), key=len, reverse=True)
        self.grams = {f[i:i + FRAGMENT] for f in every if len(f) >= FRAGMENT
                      for i in range(len(f) - FRAGMENT + 1)}
        self.raw_grams = {v[i:i + FRAGMENT] for v in self.raw
                          for i in range(max(1, len(v) - FRAGMENT + 1))}

    def __bool__(self) -> bool:
        return bool(self.raw)

    def _holds_secret(self, text: str) -> bool:
        low = text.lower()
        return any(low[i:i + FRAGMENT] in self.raw_grams
                   for i in range(max(1, len(low) - FRAGMENT + 1))) or any(
            len(v) < FRAGMENT and v in low for v in self.raw)

    def _decodes_to_secret(self, run: str) -> bool:
        candidates = []
        if _HEX.fullmatch(run):
            try:
                candidates.append(binascii.unhexlify(run))
            except (binascii.Error, ValueError):
                pass
        body = run.rstrip("=")
        for start in range(4):
            chunk = body[start:]
            chunk = chunk[:len(chunk) - len(chunk) % 4] if len(chunk) % 4 == 1 else chunk
            padded = chunk + "=" * (-len(chunk) % 4)
            for alphabet in (None, b"-_"):
                try:
                    candidates.append(base64.b64decode(padded, altchars=alphabet))
                except (binascii.Error, ValueError):
                    pass
        return any(self._holds_secret(c.decode("latin-1")) for c in candidates)

    def text(self, text: str) -> str:
        """``text`` with every copy of a secret replaced by ``[redacted]``."""
        if not self.raw or not text:
            return text
        low = text.lower()
        hit = bytearray(len(text))
        for i in range(len(low) - FRAGMENT + 1):
            if low[i:i + FRAGMENT] in self.grams:
                hit[i:i + FRAGMENT] = b"\x01" * FRAGMENT
        for form in self.short:
            for m in re.finditer(re.escape(form), low):
                hit[m.start():m.end()] = b"\x01" * (m.end() - m.start())
        for pattern in (_ENCODED, _HEX):
            for m in pattern.finditer(text):
                if not all(hit[m.start():m.end()]) and self._decodes_to_secret(m.group()):
                    hit[m.start():m.end()] = b"\x01" * (m.end() - m.start())
        if not any(hit):
            return text
        out, i = [], 0
        while i < len(text):
            if hit[i]:
                while i < len(text) and hit[i]:
                    i += 1
                out.append(REDACTED)
            else:
                out.append(text[i])
                i += 1
        return "".join(out)


def redact(value, secrets: Secrets):
    """``value`` (str, list, dict, …) with every copy of a secret in its strings (keys
    included) replaced; other values as they are."""
    if isinstance(value, str):
        return secrets.text(value)
    if isinstance(value, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, secrets) for v in value]
    return value
