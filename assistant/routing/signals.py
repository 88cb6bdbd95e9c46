"""Vendor signals in pasted text, named by the diagnosis rules the probes use.

The text is turned into the observations a probe would have made (see
:mod:`assistant.probes.observations`) and each is diagnosed with
:func:`assistant.probes.diagnosis.diagnose`, so a code or message is recognised here exactly
when a live check would recognise it:

- QuickBooks Desktop: the whole text as one Web Connector ``log_line`` (HRESULTs in hex or
  decimal, ``QBWC`` codes, the SDK's messages);
- Salesforce: each ``UPPER_SNAKE`` word as a REST ``errorCode`` with the text as its message,
  and the text alone as an error message; JSON or SOAP error bodies found in the text as they
  are;
- QuickBooks Online: a number after "code"/"errorCode"/"Fault" as a Fault ``code`` with the
  text as its message, and the text alone as a Fault message; JSON or XML Fault bodies as
  they are;
- OAuth (Salesforce and QuickBooks Online): ``error=…&error_description=…`` as the consent
  redirect; ``{"error": …}`` bodies and ``lower_snake`` words (``invalid_grant``) as the token
  endpoint's answer, with the rest of the text as the description.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..probes.diagnosis import diagnose

MAX_CHARS = 20_000   # what is looked at of one text: a pasted log excerpt, not a whole log
_UPPER_SNAKE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
_LOWER_SNAKE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
_QBO_CODE = re.compile(r"(?:error\s*code|errorcode|fault(?:\s*code)?|\bcode)"
                       r"[\"'\s:=#-]*0*(\d{2,6})\b", re.IGNORECASE)
_QUERY = re.compile(r"(?:^|[?&\s])(error=[^&\s]+(?:&error_description=[^&\s]*)?)")
_HRESULT_OR_QBWC = ("hresult", "error_code")


@dataclass(frozen=True)
class Signal:
    """A vendor signal recognised in a text.

    ``cause`` is a catalogue cause id, or None for a code the rules know for ``system`` whose
    cause this text leaves open (``REQUEST_LIMIT_EXCEEDED`` with "ConcurrentPerOrgLongTxn").
    ``label`` is the code as shown to the customer (``REQUEST_LIMIT_EXCEEDED``,
    ``0x80040408``, ``invalid_grant``), or None when only the wording was recognised.
    ``by_code`` is True when a vendor code (not only wording) names ``system``.
    """

    system: str
    cause: str | None
    label: str | None
    by_code: bool
    evidence: dict = field(default_factory=dict, compare=False)


def _bodies(text: str) -> Iterator[str]:
    """JSON values (objects or arrays) and XML fragments found in ``text``, as raw text."""
    decoder = json.JSONDecoder()
    tried = 0
    for m in re.finditer(r"[\[{]", text):
        if tried >= 20:
            break
        tried += 1
        try:
            value, end = decoder.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(value, dict | list) and value:
            yield text[m.start():end]
    m = re.search(r"<[A-Za-z][\s\S]*>", text)
    if m and re.search(r"fault|error", m.group(0), re.IGNORECASE):
        yield m.group(0)


def _run(system: str, observation: dict):
    return diagnose(system, [observation])


def _known(system: str, observation: dict) -> str | None:
    cause = _run(system, observation).cause
    return None if cause in ("unknown", "connected") else cause


def _desktop(text: str) -> Iterator[Signal]:
    result = _run("quickbooks_desktop", {"kind": "log_line", "text": text})
    code = next((result.evidence[k] for k in _HRESULT_OR_QBWC if result.evidence.get(k)), None)
    cause = result.cause if result.cause not in ("unknown", "connected") else None
    if cause or code:
        yield Signal("quickbooks_desktop", cause, code, bool(code), result.evidence)


def _salesforce(text: str) -> Iterator[Signal]:
    for code in dict.fromkeys(_UPPER_SNAKE.findall(text[:MAX_CHARS])):
        obs = {"kind": "http", "endpoint": "rest_api", "status": 400}
        alone = _known("salesforce", {**obs, "body": [{"errorCode": code, "message": ""}]})
        result = _run("salesforce", {**obs, "body": [{"errorCode": code, "message": text}]})
        cause = result.cause if result.cause not in ("unknown", "connected") else None
        if alone:   # the rules know this code: the text may still leave the cause open
            yield Signal("salesforce", cause, code, True, result.evidence)
        elif cause:
            yield Signal("salesforce", cause, None, False, result.evidence)
    result = _run("salesforce", {"kind": "http", "endpoint": "rest_api", "status": 400,
                                 "body": [{"errorCode": "", "message": text}]})
    if result.cause not in ("unknown", "connected"):
        yield Signal("salesforce", result.cause, None, False, result.evidence)


def _online(text: str) -> Iterator[Signal]:
    obs = {"kind": "http", "endpoint": "company_info", "status": 400}
    for code in dict.fromkeys(_QBO_CODE.findall(text)):
        alone = _known("quickbooks_online",
                       {**obs, "body": {"Fault": {"Error": [{"Message": "", "code": code}]}}})
        if alone:
            result = _run("quickbooks_online", {**obs, "body": {
                "Fault": {"Error": [{"Message": text, "code": code}]}}})
            cause = result.cause if result.cause not in ("unknown", "connected") else None
            yield Signal("quickbooks_online", cause, f"error {code}", True, result.evidence)
    result = _run("quickbooks_online", {**obs, "body": {"Fault": {"Error": [{"Message": text}]}}})
    if result.cause not in ("unknown", "connected"):
        yield Signal("quickbooks_online", result.cause, None, False, result.evidence)


def _oauth_cases(text: str) -> list[tuple[str, str, dict]]:
    """(error, description, observation) for each OAuth error the text may carry."""
    cases: list[tuple[str, str, dict]] = []
    for query in _QUERY.findall(text):
        error = query.split("&", 1)[0].removeprefix("error=")
        description = query.partition("&error_description=")[2].replace("+", " ")
        cases.append((error, description, {"kind": "oauth_callback", "query": query}))
    for body in _bodies(text):
        try:
            data = json.loads(body)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            description = str(data.get("error_description") or "")
            cases.append((data["error"], description, {"kind": "http", "endpoint": "token",
                                                       "status": 400, "body": body}))
    for m in _LOWER_SNAKE.finditer(text):
        rest = text[m.end():].strip(" \t\r\n-:;,.\"'")
        cases.append((m.group(0), rest, {"kind": "http", "endpoint": "token", "status": 400,
                                         "body": {"error": m.group(0), "error_description": rest}}))
    return cases[:10]


def _oauth(text: str) -> Iterator[Signal]:
    """An OAuth error value names every system whose rules know the value: with its cause
    when that system's rules also know the description, else with the cause left open (so
    ``invalid_grant`` with a description only one vendor explains stays a question)."""
    cases = _oauth_cases(text)
    for system in ("salesforce", "quickbooks_online"):
        open_signal = None
        for error, _description, observation in cases:
            result = _run(system, observation)
            if result.cause not in ("unknown", "connected"):
                yield Signal(system, result.cause, error, True, result.evidence)
                break
            bare = {"kind": "http", "endpoint": "token", "status": 400,
                    "body": {"error": error}}
            if open_signal is None and _known(system, bare):
                open_signal = Signal(system, None, error, True, result.evidence)
        else:
            if open_signal is not None:
                yield open_signal


def _structured(text: str) -> Iterator[Signal]:
    """Error bodies pasted whole: a REST or SOAP error, a Fault (OAuth error objects: see
    :func:`_oauth`)."""
    for body in list(_bodies(text))[:5]:
        for system, endpoint in (("salesforce", "rest_api"), ("quickbooks_online", "company_info")):
            result = _run(system, {"kind": "http", "endpoint": endpoint, "status": 400,
                                   "body": body})
            label = result.evidence.get("error_code")
            if label and system == "quickbooks_online":
                label = f"error {label}"
            if result.cause not in ("unknown", "connected"):
                yield Signal(system, result.cause, label, bool(label), result.evidence)
            elif label or result.evidence.get("fault_type"):
                # the vendor's own error layout (an errorCode array, a Fault) names the
                # system even when the rules do not know this error
                yield Signal(system, None, label, True, result.evidence)


def find_signals(text: str) -> list[Signal]:
    """Every vendor signal recognised in ``text`` (its first MAX_CHARS characters), codes
    first; one per (system, cause, label). Never raises for any text."""
    text = text[:MAX_CHARS]
    found: dict[tuple, Signal] = {}
    for source in (_structured, _desktop, _salesforce, _online, _oauth):
        for signal in source(text):
            found.setdefault((signal.system, signal.cause, signal.label), signal)
    return sorted(found.values(), key=lambda s: (not s.by_code, s.cause is None))
