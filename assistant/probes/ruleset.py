"""The diagnosis rules as data: ``rules/catalogue.yaml`` (causes, titles, explanations) and one
file per system (``rules/<system>.yaml``), loaded once and validated.

``load_rules()`` returns a :class:`RuleSet`; a broken file raises :class:`RulesError` naming the
file and the key (``quickbooks_online.yaml: fault_codes[2].source: must be an http(s) URL``).
Every rule entry has a ``cause`` (a catalogue cause of that file's system, or ``connected``) and
a ``source`` URL of the vendor documentation or public report it comes from.
"""

from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from .observations import ENDPOINTS, SYSTEMS, normalise_hresult

EXTRA_OUTCOMES = ("connected", "unknown", "timeout", "unavailable")
NOT_CHECKED_CAUSE = "not_checked"
"""The cause of a check that called nothing (no connection of the probe's system to check,
or one not fully set up): its outcome, the branch the flow takes, is ``unavailable``, but
the customer reads "not checked", not "could not be reached". No rule names it."""
EXTRA_CAUSES = (NOT_CHECKED_CAUSE,)


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class Rule:
    """One rule entry. ``match`` holds the section's match keys, regexes compiled
    (case-insensitive) and codes normalised (see :func:`code_key`)."""

    section: str
    index: int
    cause: str
    source: str
    match: dict[str, Any] = field(default_factory=dict)
    system: str = ""

    @property
    def entry(self) -> str:
        """Where the entry is written: ``salesforce.yaml error_codes[1]``."""
        return f"{self.system}.yaml {self.section}[{self.index}]"


@dataclass(frozen=True)
class CauseInfo:
    """A catalogue entry: title, explanation, rank (lower wins) and explanation variants
    (``(required evidence keys, text)``)."""

    id: str
    title: str
    explanation: str
    rank: int = 2
    variants: tuple[tuple[tuple[str, ...], str], ...] = ()


@dataclass(frozen=True)
class RuleSet:
    """Everything ``diagnose`` applies: catalogue entries and each system's rule sections."""

    causes: dict[str, CauseInfo]
    rules: dict[str, dict[str, tuple[Rule, ...]]]

    def section(self, system: str, name: str) -> tuple[Rule, ...]:
        """The rules of one section of a system's file (empty when it has none)."""
        return self.rules.get(system, {}).get(name, ())


def code_key(value: Any) -> int | str | None:
    """A code in comparable form: numbers and numeric strings (``"003200"``, ``"0x8004041a"``)
    become ints, other strings upper-case text; None for empty values."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"0x[0-9a-f]+", text, re.IGNORECASE):
        return int(text, 16)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text.upper()


# section -> {key: (kind, required)}; kinds: regex (search), fullregex (whole value), code,
# hresult, statuses (list of ints), endpoints (list), bool, text (kept as is)
_SECTIONS: dict[str, dict[str, dict[str, tuple[str, bool]]]] = {
    "quickbooks_desktop": {
        "hresults": {"hresult": ("hresult", True), "meaning": ("text", False)},
        "messages": {"pattern": ("regex", True), "outranks_code": ("bool", False)},
        "agent_status": {"connected": ("bool", True)},
    },
    "quickbooks_online": {
        "fault_codes": {"code": ("code", True)},
        "fault_texts": {"pattern": ("regex", True)},
        "maintenance_pages": {"pattern": ("regex", True)},
        "oauth_errors": {"error": ("fullregex", True), "description": ("regex", False)},
        "statuses": {"status": ("statuses", True), "endpoints": ("endpoints", False),
                     "decisive": ("bool", True)},
        "status_indicators": {"indicator": ("fullregex", True),
                              "defer_to_api": ("bool", False)},
        "token_expired": {},
    },
    "salesforce": {
        "oauth_errors": {"error": ("fullregex", True), "description": ("regex", False)},
        "error_codes": {"code": ("code", True), "unless": ("regex", False)},
        "texts": {"pattern": ("regex", True)},
        "maintenance_pages": {"pattern": ("regex", True)},
        "statuses": {"status": ("statuses", True), "endpoints": ("endpoints", False),
                     "decisive": ("bool", True)},
        "trust_statuses": {"status": ("fullregex", True), "defer_to_api": ("bool", False)},
        "status_indicators": {"indicator": ("fullregex", True),
                              "defer_to_api": ("bool", False)},
        "limits": {},
        "token_expired": {},
    },
}


def _read(name: str) -> Any:
    path = resources.files("assistant.probes").joinpath("rules", name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RulesError(f"{name}: cannot be read: {e}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RulesError(f"{name}: not valid YAML: {e}") from None


def _compile(value: Any, where: str, *, full: bool) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise RulesError(f"{where}: must be a non-empty regular expression")
    try:
        return re.compile(f"(?:{value})\\Z" if full else value, re.IGNORECASE)
    except re.error as e:
        raise RulesError(f"{where}: invalid regular expression: {e}") from None


def _load_catalogue() -> dict[str, CauseInfo]:
    name = "catalogue.yaml"
    data = _read(name)
    if not isinstance(data, dict) or not isinstance(data.get("causes"), dict):
        raise RulesError(f"{name}: causes: must be a mapping of cause ids")
    extra = data.get("extra")
    if not isinstance(extra, dict) or set(extra) != {*EXTRA_OUTCOMES, *EXTRA_CAUSES}:
        raise RulesError(f"{name}: extra: must define exactly "
                         f"{', '.join(EXTRA_OUTCOMES + EXTRA_CAUSES)}")
    out: dict[str, CauseInfo] = {}
    for group, entries in (("extra", extra), ("causes", data["causes"])):
        for cause_id, entry in entries.items():
            where = f"{name}: {group}.{cause_id}"
            if group == "causes" and (not isinstance(cause_id, str)
                                      or cause_id.split(".", 1)[0] not in SYSTEMS
                                      or "." not in cause_id):
                raise RulesError(f"{where}: cause ids must be 'system.cause'")
            if not isinstance(entry, dict):
                raise RulesError(f"{where}: must be a mapping")
            for key in ("title", "explanation"):
                if not isinstance(entry.get(key), str) or not entry[key].strip():
                    raise RulesError(f"{where}.{key}: must be a non-empty string")
            rank = entry.get("rank", 2)
            if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank <= 4:
                raise RulesError(f"{where}.rank: must be an integer 0-4")
            variants = []
            for i, variant in enumerate(entry.get("variants") or []):
                vwhere = f"{where}.variants[{i}]"
                if (not isinstance(variant, dict) or not isinstance(variant.get("text"), str)
                        or not isinstance(variant.get("requires"), list)
                        or not all(isinstance(k, str) for k in variant["requires"])):
                    raise RulesError(f"{vwhere}: needs 'requires' (list of keys) and 'text'")
                variants.append((tuple(variant["requires"]), variant["text"].strip()))
            out[cause_id] = CauseInfo(cause_id, entry["title"].strip(),
                                      entry["explanation"].strip(), rank, tuple(variants))
    return out


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@functools.cache
def load_catalogue_texts(language: str) -> dict[str, CauseInfo]:
    """The catalogue with its texts in ``language`` from ``catalogue.<language>.yaml``
    (titles, explanations, variant texts in catalogue.yaml's order); ranks and the evidence
    each variant requires are catalogue.yaml's. Loaded once per language.

    Raises:
        RulesError: no such file, a cause missing or unknown, a text missing, a variant count
            or its ``{placeholders}`` not as in catalogue.yaml.
    """
    name = f"catalogue.{language}.yaml"
    data = _read(name)
    base = load_rules().causes
    if not isinstance(data, dict):
        raise RulesError(f"{name}: must be a mapping with 'extra' and 'causes'")
    given = {**(data.get("extra") or {}), **(data.get("causes") or {})}
    for cause_id in sorted(set(base) ^ set(given)):
        raise RulesError(f"{name}: {cause_id}: " + ("missing" if cause_id in base
                                                     else "not in catalogue.yaml"))
    out: dict[str, CauseInfo] = {}
    for cause_id, info in base.items():
        entry, where = given[cause_id], f"{name}: {cause_id}"
        if not isinstance(entry, dict) or set(entry) - {"title", "explanation", "variants"}:
            raise RulesError(f"{where}: give only title, explanation and variants")
        for key in ("title", "explanation"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise RulesError(f"{where}.{key}: must be a non-empty string")
        texts = entry.get("variants") or []
        if len(texts) != len(info.variants) or not all(isinstance(t, str) for t in texts):
            raise RulesError(f"{where}.variants: needs {len(info.variants)} text(s), in the "
                             "order of catalogue.yaml")
        for i, (text, (_, original)) in enumerate(zip(texts, info.variants, strict=True)):
            if _placeholders(text) != _placeholders(original):
                raise RulesError(f"{where}.variants[{i}]: use the placeholders "
                                 f"{sorted(_placeholders(original))}")
        out[cause_id] = CauseInfo(cause_id, entry["title"].strip(), entry["explanation"].strip(),
                                  info.rank, tuple((requires, text.strip()) for text, (requires, _)
                                                   in zip(texts, info.variants, strict=True)))
    return out


def _load_system(system: str, causes: dict[str, CauseInfo]) -> dict[str, tuple[Rule, ...]]:
    name = f"{system}.yaml"
    data = _read(name)
    if not isinstance(data, dict):
        raise RulesError(f"{name}: must be a mapping of sections")
    spec = _SECTIONS[system]
    sections: dict[str, tuple[Rule, ...]] = {}
    for section, entries in data.items():
        if section not in spec:
            raise RulesError(f"{name}: {section}: unknown section "
                             f"(expected {', '.join(spec)})")
        if not isinstance(entries, list):
            raise RulesError(f"{name}: {section}: must be a list of rules")
        keys = spec[section]
        rules = []
        for i, entry in enumerate(entries):
            where = f"{name}: {section}[{i}]"
            if not isinstance(entry, dict):
                raise RulesError(f"{where}: must be a mapping")
            cause = entry.get("cause")
            if cause != "connected" and (cause not in causes
                                         or not str(cause).startswith(system + ".")):
                raise RulesError(f"{where}.cause: {cause!r} is not a {system} catalogue cause")
            source = entry.get("source")
            if not isinstance(source, str) or not re.match(r"https?://\S+$", source):
                raise RulesError(f"{where}.source: must be an http(s) URL")
            unknown = set(entry) - set(keys) - {"cause", "source"}
            if unknown:
                raise RulesError(f"{where}.{sorted(map(str, unknown))[0]}: unknown key")
            match: dict[str, Any] = {}
            for key, (kind, required) in keys.items():
                if key not in entry:
                    if required:
                        raise RulesError(f"{where}.{key}: required")
                    continue
                value, kwhere = entry[key], f"{where}.{key}"
                if kind in ("regex", "fullregex"):
                    match[key] = _compile(value, kwhere, full=kind == "fullregex")
                elif kind == "code":
                    if code_key(value) is None:
                        raise RulesError(f"{kwhere}: must be a code")
                    match[key] = code_key(value)
                elif kind == "hresult":
                    if normalise_hresult(value) is None:
                        raise RulesError(f"{kwhere}: must be a hex HRESULT")
                    match[key] = normalise_hresult(value)
                elif kind == "statuses":
                    if not isinstance(value, list) or not value or not all(
                            isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599
                            for s in value):
                        raise RulesError(f"{kwhere}: must be a list of HTTP statuses")
                    match[key] = frozenset(value)
                elif kind == "endpoints":
                    if not isinstance(value, list) or not all(e in ENDPOINTS for e in value):
                        raise RulesError(f"{kwhere}: must be a list of {', '.join(ENDPOINTS)}")
                    match[key] = frozenset(value)
                elif kind == "bool":
                    if not isinstance(value, bool):
                        raise RulesError(f"{kwhere}: must be true or false")
                    match[key] = value
                else:
                    if not isinstance(value, str):
                        raise RulesError(f"{kwhere}: must be a string")
                    match[key] = value
            rules.append(Rule(section, i, cause, source, match, system))
        sections[section] = tuple(rules)
    return sections


@functools.cache
def load_rules() -> RuleSet:
    """The validated rules, loaded once. Raises RulesError for a broken file."""
    causes = _load_catalogue()
    return RuleSet(causes, {system: _load_system(system, causes) for system in SYSTEMS})
