"""Reading what vendors send, the same way for every vendor: text without control characters,
quotes and excerpts for evidence, quota numbers, JSON and XML (no entity expansion), keys
compared case-insensitively, HTML pages told from API answers.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from babel.numbers import format_decimal

from ..observations import HttpObservation

# C0 controls (tab, newline and carriage return become spaces), DEL, C1 controls and lone
# surrogates: garbage bodies must not put them into HTML or the database
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACE = re.compile(r"[\t\n\r]")


def clean(text: str) -> str:
    """``text`` without control characters: tab/newline/CR become spaces, the other C0 and C1
    controls, DEL and lone surrogates become U+FFFD."""
    return _CONTROL.sub("\ufffd", _SPACE.sub(" ", text))


def clean_value(value: Any) -> Any:
    """``clean`` applied to every string in a JSON-like value (keys included)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    return value


def quote(text: str, limit: int = 200) -> str:
    text = " ".join(clean(str(text)).split())
    return "\u201c" + (text[:limit] + "\u2026" if len(text) > limit else text) + "\u201d"


def excerpt(body: str, limit: int = 200) -> str:
    text = " ".join(clean(body).split())
    return text[:limit] + ("\u2026" if len(text) > limit else "")


def num(value: Any) -> int | float | None:
    """A quota number given as a number or a string ("15000", "15,000"); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if float(value).is_integer() else value
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        if re.fullmatch(r"-?\d+\.\d*", text):
            return num(float(text))
    return None


def fmt(value: Any, language: str | None = None) -> str:
    """``value`` as an explanation quotes it: numbers with thousands separators (English's
    "15,000", or ``language``'s own by CLDR through Babel: Spanish "15.000", "12,5")."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float) and language:
        return format_decimal(value, format="#,##0.#", locale=language)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{int(value):,}" if value.is_integer() else f"{value:,.1f}"
    return str(value)


def parse_json(body: str) -> Any:
    text = body.strip()
    if not text or text[0] not in "[{":
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def parse_xml(body: str) -> ET.Element | None:
    """Parses XML; refuses DOCTYPE/ENTITY declarations (no entity expansion attacks)."""
    text = body.strip()
    if not text.startswith("<") or re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        return None
    try:
        return ET.fromstring(text)
    except (ET.ParseError, ValueError):
        return None


def local(tag: Any) -> str:
    """An XML tag without its namespace."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def ci(mapping: Any, key: str) -> Any:
    """``mapping[key]`` with the key compared case-insensitively; None if absent."""
    if not isinstance(mapping, Mapping):
        return None
    for k, v in mapping.items():
        if isinstance(k, str) and k.lower() == key.lower():
            return v
    return None


def text_of(value: Any) -> str:
    return "" if value is None else str(value)


def is_html(obs: HttpObservation) -> bool:
    """An HTML page (by Content-Type or by its first tag) instead of an API answer."""
    kind = (obs.headers.get("content-type") or "").lower()
    return "html" in kind or bool(re.match(r"\s*<(!doctype\s+html|html)\b", obs.body, re.I))
