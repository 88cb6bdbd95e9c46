"""What a piece of pasted error text means: ``diagnose_text(text)``, by the same rule tables
as ``diagnose``.

The text is read as each vendor's signal would be observed — a Web Connector log line or SDK
message (QuickBooks Desktop), a REST error array, SOAP fault or errorCode (Salesforce), an
Intuit Fault or ``errorCode=003200`` (QuickBooks Online), an OAuth ``error`` value (both
OAuth vendors) — and each vendor whose rules recognise it becomes a candidate.
"""

from __future__ import annotations

import json
import re

from ..observations import SYSTEMS, parse_system
from .combine import diagnose
from .findings import clean, parse_json, parse_xml, quote
from .result import SYSTEM_NAMES, Diagnosis

MAX_TEXT = 20_000
"""Characters of the text that are read (a pasted log may be long; the error is near)."""

# words that name a vendor, for a text several vendors' rules recognise
_HINTS = {
    "salesforce": re.compile(r"salesforce|sfdc|force\.com|soql|sforce|\bsf:", re.I),
    "quickbooks_online": re.compile(r"quickbooks online|\bqbo\b|intuit|realm|"
                                    r"IntuitResponse|oauth\.platform", re.I),
    "quickbooks_desktop": re.compile(r"quickbooks desktop|qbwc|web ?connector|qbxml|"
                                     r"hresult|\b(0x)?8004[0-9a-f]{4}\b|company (data )?file",
                                     re.I),
}
_OAUTH_ERROR = re.compile(r"""["']?\berror["']?\s*[:=]\s*["']?([a-z][a-z_-]{2,60})""", re.I)
_OAUTH_DESCRIPTION = re.compile(r"""["']?error_description["']?\s*[:=]\s*["']?([^"'&\n}]*)""",
                                re.I)
_OAUTH_WORD = re.compile(r"\b(invalid_[a-z_]+|unauthorized_client|access[_-]denied|"
                         r"unsupported_grant_type|inactive_user|oauth_[a-z_]+|"
                         r"consent_required|interaction_required|login_required|"
                         r"immediate_unsuccessful)\b", re.I)
_SF_CODE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
_QBO_CODE = re.compile(r"errorCode\s*[=:]\s*\"?(\d{1,6})|\b(?:fault|error)\s+code\s*[:#]?\s*"
                       r"\"?(\d{1,6})\b|\bcode\s*[=:]\s*\"(\d{1,6})\"", re.I)


def _http(endpoint: str, status: int, body: str) -> dict:
    return {"kind": "http", "endpoint": endpoint, "status": status,
            "headers": {"Content-Type": "application/json"}, "body": body}


def _oauth(text: str) -> list[dict]:
    """Token-endpoint answers carrying the text's OAuth ``error`` (and description)."""
    found = _OAUTH_ERROR.search(text)
    error = found.group(1) if found else None
    if error is None or not _OAUTH_WORD.fullmatch(error):
        word = _OAUTH_WORD.search(text)
        error = word.group(1) if word else None
    if error is None:
        return []
    described = _OAUTH_DESCRIPTION.search(text)
    description = described.group(1).strip() if described else ""
    if not description:  # "invalid_grant: expired access/refresh token"
        after = re.search(re.escape(error) + r"\W{1,3}([^\n]{3,200})", text)
        description = after.group(1).strip(" \"'}") if after else ""
    body = {"error": error, **({"error_description": description} if description else {})}
    return [_http("token", 400, json.dumps(body))]


def _candidates(system: str, text: str) -> list[list[dict]]:
    """The observation lists the text may stand for at ``system``, most specific first."""
    structured = parse_json(text) is not None or parse_xml(text) is not None
    if system == "quickbooks_desktop":
        return [[{"kind": "log_line", "text": text}]]
    if system == "salesforce":
        out = []
        if structured:
            out += [[_http("token", 400, text)], [_http("rest_api", 400, text)]]
        out += [[_http("rest_api", 400, json.dumps([{"errorCode": code, "message": text}]))]
                for code in dict.fromkeys(_SF_CODE.findall(text))]
        out += [_oauth(text)] if _oauth(text) else []
        out.append([_http("rest_api", 400, json.dumps([{"errorCode": "", "message": text}]))])
        return out
    out = []
    if structured:
        out += [[_http("token", 400, text)], [_http("company_info", 400, text)]]
    codes = [next(g for g in m.groups() if g) for m in _QBO_CODE.finditer(text)]
    out += [[_http("company_info", 400, json.dumps(
        {"Fault": {"Error": [{"Message": text, "code": code}], "type": ""}}))]
        for code in dict.fromkeys(codes)]
    out += [_oauth(text)] if _oauth(text) else []
    out.append([_http("company_info", 400, json.dumps(
        {"Fault": {"Error": [{"Message": text, "code": ""}], "type": ""}}))])
    return out


def diagnose_text(text: str, system: str | None = None) -> Diagnosis:
    """Diagnoses a piece of error text a customer or agent pasted (a message, a log line, an
    error body), by the same rule tables as :func:`diagnose`.

    ``system`` (optional) restricts the reading to one vendor; raises ObservationError for a
    system that is not one of ``SYSTEMS`` and TypeError when ``text`` is not a string.

    Recognises: QuickBooks Desktop HRESULTs (``0x80040408``, ``80040408``, ``-2147220472``)
    and SDK / Web Connector messages and log lines (``QBWC1013: ...``); Salesforce errorCodes
    (``INVALID_SESSION_ID``), REST error arrays, SOAP faults and their messages; Intuit Fault
    codes (``errorCode=003200``, ``"code": "3200"``, ``Fault code 3100``), Fault JSON/XML and
    messages; OAuth ``error`` values (``invalid_grant``, ``error=access_denied&...``,
    ``{"error": ..., "error_description": ...}``).

    Returns a :class:`Diagnosis` whose

    - ``system`` is the vendor whose rules recognised the text, or ``""`` when none did or
      when several vendors' rules name different causes and the text names no vendor;
    - ``cause`` is a catalogue cause id, or ``unknown`` (never ``connected``: pasted text is
      not proof that a connection works);
    - ``explanation`` is the cause's plain-words explanation (or why nothing is named);
    - ``evidence`` holds ``text`` (the text read, cleaned, at most 200 characters), what the
      vendor module read (``hresult``, ``error_code``, ``oauth_error``, ``error_description``,
      ...), ``rule_source`` and ``rule_entry`` of the matching rule, and, when several vendors
      matched, ``candidates``: ``[{"system", "cause", "rule_entry"}, ...]``.
    """
    if not isinstance(text, str):
        raise TypeError("text must be a string")
    systems = (parse_system(system),) if system is not None else SYSTEMS
    text = text.strip()[:MAX_TEXT]
    found: dict[str, Diagnosis] = {}
    if text:
        for name in systems:
            for observations in _candidates(name, text):
                result = diagnose(name, observations)
                if result.cause not in ("connected", "unknown"):
                    found[name] = result
                    break
    hinted = {s: d for s, d in found.items() if _HINTS[s].search(text)}
    chosen = hinted or found
    shown = quote(text)
    if len({d.cause for d in chosen.values()}) == 1:
        result = next(iter(chosen.values()))
        evidence = {"text": clean(text)[:200], **_readable(result.evidence)}
        if len(found) > 1:
            evidence["candidates"] = _listed(found)
        return Diagnosis(result.system, result.cause, result.explanation, evidence)
    evidence = {"text": clean(text)[:200]}
    if chosen:
        evidence["candidates"] = _listed(chosen)
        names = " and ".join(SYSTEM_NAMES[s] for s in chosen)
        explanation = (f"{shown} is an error that {names} each use with a different meaning, "
                       "and the text does not say which service it came from. Please say "
                       "which service showed it, or pass it to support.")
    else:
        explanation = (f"We do not recognise {shown}, so we do not name a cause; please pass "
                       "it to support.")
    return Diagnosis("", "unknown", explanation, evidence)


def _readable(evidence: dict) -> dict:
    """A single result's evidence without what only the synthetic observation said."""
    return {k: v for k, v in evidence.items()
            if k not in ("endpoint", "status", "log_text", "error_message")}


def _listed(results: dict[str, Diagnosis]) -> list[dict]:
    return [{"system": s, "cause": d.cause, "rule_entry": d.evidence.get("rule_entry")}
            for s, d in results.items()]
