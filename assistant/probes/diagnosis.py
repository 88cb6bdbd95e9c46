"""What the observations of one connection mean: ``diagnose(system, observations)``.

A pure function: no I/O besides reading the packaged rules once. Each observation is
classified by the rules of ``rules/<system>.yaml`` into a finding (a recognised failure,
``connected``, an unrecognised signal, a transport error or supporting evidence only); the
findings are then combined:

- per endpoint only the latest observation counts (a 401 then a successful retry is healthy);
- a recognised failure beats everything else; among failures the lowest catalogue ``rank`` wins
  (outages, then root causes, then "a token refresh fixes it"), the latest on a tie;
- an unrecognised signal gives ``unknown`` (never a guess), with the raw signal in evidence;
- only transport errors give ``unknown`` with outcome ``timeout`` or ``unavailable``;
- observations that contradict each other are reconciled first (``_reconcile``): a minor
  incident or maintenance on a status page (``defer_to_api`` rules) only supports an outage when
  the API itself failed or was not observed; a 5xx outage is ``unknown`` when the status page
  reports all is well; a daily-limit error is ``unknown`` when ``limits`` shows quota left.

Every text the diagnosis returns (explanation, evidence strings) is free of control characters.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .observations import (
    SYSTEMS,
    HttpObservation,
    LogLineObservation,
    OAuthCallbackObservation,
    Observation,
    SdkErrorObservation,
    TokenObservation,
    TransportObservation,
    normalise_hresult,
    parse_observations,
    parse_system,
)
from .ruleset import Rule, code_key, load_rules

__all__ = ["SYSTEMS", "OUTCOMES_EXTRA", "Diagnosis", "diagnose", "causes_for", "cause_title",
           "cause_explanation"]

OUTCOMES_EXTRA = ("connected", "unknown", "timeout", "unavailable")

SYSTEM_NAMES = {"quickbooks_desktop": "QuickBooks Desktop",
                "quickbooks_online": "QuickBooks Online", "salesforce": "Salesforce"}

_REQUEST_ID_HEADERS = ("intuit_tid", "intuit-tid", "sforce-call-id", "x-sfdc-request-id",
                       "x-request-id", "request-id", "x-correlation-id")
# the endpoints whose answer proves (or disproves) that the connection itself works
_API_ENDPOINTS = ("rest_api", "limits", "company_info")
# C0 controls (tab, newline and carriage return become spaces), DEL, C1 controls and lone
# surrogates: garbage bodies must not put them into HTML or the database
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACE = re.compile(r"[\t\n\r]")
# evidence other observations may add to the winning one's
_SUPPORTING = ("token_age_seconds", "token_lifetime_seconds", "token_expired", "used", "max",
               "remaining", "status_indicator", "trust_status", "last_seen")


@dataclass(frozen=True)
class Diagnosis:
    """The meaning of one connection's observations.

    ``cause`` is ``connected``, a catalogue cause id (``salesforce.session_expired``) or
    ``unknown``; ``explanation`` is plain words for a customer with the numbers seen;
    ``evidence`` holds JSON-safe facts (endpoint, status, error_code, hresult, used/max, ...).
    """

    system: str
    cause: str
    explanation: str
    evidence: dict = field(default_factory=dict)
    transport_errors: tuple[str, ...] = field(default=(), repr=False)

    @property
    def outcome(self) -> str:
        """``cause``, except ``unknown`` caused only by transport errors: ``timeout`` when one
        of them was a timeout, else ``unavailable``."""
        if self.cause == "unknown" and self.transport_errors:
            return "timeout" if "timeout" in self.transport_errors else "unavailable"
        return self.cause

    @property
    def title(self) -> str:
        """Short plain title of the outcome."""
        return cause_title(self.outcome)

    def to_json(self) -> dict:
        """``{"system", "cause", "outcome", "title", "explanation", "evidence"}``."""
        return {"system": self.system, "cause": self.cause, "outcome": self.outcome,
                "title": self.title, "explanation": self.explanation,
                "evidence": self.evidence}


def causes_for(system: str) -> tuple[str, ...]:
    """The catalogue cause ids of ``system`` (ObservationError for an unknown system)."""
    parse_system(system)
    return tuple(c for c in load_rules().causes if c.startswith(system + "."))


def cause_title(cause_id: str) -> str:
    """Short plain title of a catalogue cause or of connected/unknown/timeout/unavailable.
    Raises KeyError for anything else."""
    return load_rules().causes[cause_id].title


def cause_explanation(cause_id: str, evidence: Mapping | None = None) -> str:
    """The plain-words explanation of a catalogue cause or of connected/unknown/timeout/
    unavailable, for a customer: its variant whose evidence is present (a status page's
    variant only for an outage), without the raw signals a diagnosis adds. Raises KeyError
    for anything else."""
    outage = load_rules().causes[cause_id].rank == 0
    return _explain(cause_id, dict(evidence or {}),
                    () if outage else ("status_indicator", "trust_status"))[0]


# ---------------------------------------------------------------------------------------------
# findings

@dataclass
class _Finding:
    kind: str          # failure | connected | unknown | transport | info
    cause: str
    evidence: dict
    seen: str
    index: int = 0
    from_token: bool = False
    rule: Rule | None = None
    endpoint: str | None = None     # of the observation (None for kinds without one)
    status: int | None = None       # HTTP status, for http observations
    error_page: bool = False        # an HTML page instead of an API answer
    advice: str | None = None       # for a reconciled unknown: what to do, replacing the default
    note: str = ""                  # added to the explanation (a status page that was outranked)


def _failure(rule: Rule, evidence: dict, seen: str) -> _Finding:
    kind = "connected" if rule.cause == "connected" else "failure"
    evidence = dict(evidence)
    if kind == "failure":
        evidence["rule_source"] = rule.source
    return _Finding(kind, rule.cause, evidence, seen, rule=rule)


def _clean(text: str) -> str:
    """``text`` without control characters: tab/newline/CR become spaces, the other C0 and C1
    controls, DEL and lone surrogates become U+FFFD."""
    return _CONTROL.sub("\ufffd", _SPACE.sub(" ", text))


def _clean_value(value: Any) -> Any:
    """``_clean`` applied to every string in a JSON-like value (keys included)."""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, dict):
        return {_clean_value(k): _clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_value(v) for v in value]
    return value


def _quote(text: str, limit: int = 200) -> str:
    text = " ".join(_clean(str(text)).split())
    return "\u201c" + (text[:limit] + "\u2026" if len(text) > limit else text) + "\u201d"


def _excerpt(body: str, limit: int = 200) -> str:
    text = " ".join(_clean(body).split())
    return text[:limit] + ("\u2026" if len(text) > limit else "")


def _num(value: Any) -> int | float | None:
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
            return _num(float(text))
    return None


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{int(value):,}" if value.is_integer() else f"{value:,.1f}"
    return str(value)


def _json(body: str) -> Any:
    text = body.strip()
    if not text or text[0] not in "[{":
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _xml(body: str) -> ET.Element | None:
    """Parses XML; refuses DOCTYPE/ENTITY declarations (no entity expansion attacks)."""
    text = body.strip()
    if not text.startswith("<") or re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        return None
    try:
        return ET.fromstring(text)
    except (ET.ParseError, ValueError):
        return None


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _ci(mapping: Any, key: str) -> Any:
    if not isinstance(mapping, Mapping):
        return None
    for k, v in mapping.items():
        if isinstance(k, str) and k.lower() == key.lower():
            return v
    return None


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _http_evidence(obs: HttpObservation) -> dict:
    ev: dict[str, Any] = {"endpoint": obs.endpoint, "status": obs.status}
    for name in _REQUEST_ID_HEADERS:
        value = obs.headers.get(name)
        if value:
            ev["request_id"] = value
            break
    retry = obs.headers.get("retry-after")
    if retry:
        ev["retry_after"] = _num(retry) if _num(retry) is not None else retry
    return ev


def _quota(obs: HttpObservation) -> tuple[int | float, int | float] | None:
    """``Sforce-Limit-Info: api-usage=15000/15000`` -> (used, max)."""
    info = obs.headers.get("sforce-limit-info") or ""
    m = re.search(r"api-usage\s*=\s*([\d,]+)\s*/\s*([\d,]+)", info, re.IGNORECASE)
    if not m:
        return None
    used, limit = _num(m.group(1)), _num(m.group(2))
    return (used, limit) if used is not None and limit is not None else None


# --- matching helpers ------------------------------------------------------------------------

def _match_oauth(rules: Sequence[Rule], error: str, description: str) -> Rule | None:
    for rule in rules:
        if not rule.match["error"].match(error.strip()):
            continue
        desc = rule.match.get("description")
        if desc is None or desc.search(description.strip()):
            return rule
    return None


def _match_status(rules: Sequence[Rule], obs: HttpObservation, *, decisive: bool) -> Rule | None:
    for rule in rules:
        if rule.match["decisive"] != decisive or obs.status not in rule.match["status"]:
            continue
        endpoints = rule.match.get("endpoints")
        if endpoints is None or obs.endpoint in endpoints:
            return rule
    return None


def _first_search(rules: Sequence[Rule], key: str, text: str) -> Rule | None:
    for rule in rules:
        if text and rule.match[key].search(text):
            return rule
    return None


# --- per-system classification ---------------------------------------------------------------

class _Classifier:
    def __init__(self, system: str):
        self.system = system
        self.name = SYSTEM_NAMES[system]
        self.rules = load_rules()

    def section(self, name: str) -> tuple[Rule, ...]:
        return self.rules.section(self.system, name)

    # entry point
    def classify(self, obs: Observation) -> _Finding:
        if isinstance(obs, HttpObservation):
            return self.http(obs)
        if isinstance(obs, SdkErrorObservation):
            return self.qbd_signal(obs.hresult, obs.message, {"hresult": obs.hresult,
                                                               "sdk_message": obs.message})
        if isinstance(obs, LogLineObservation):
            return self.log_line(obs)
        if isinstance(obs, OAuthCallbackObservation):
            return self.callback(obs)
        if isinstance(obs, TokenObservation):
            return self.token(obs)
        assert isinstance(obs, TransportObservation)
        ev = {"transport_error": obs.error}
        if obs.endpoint:
            ev["endpoint"] = obs.endpoint
        where = f" ({obs.endpoint})" if obs.endpoint else ""
        seen = {"timeout": f"{self.name}{where} did not answer in time.",
                "connection_refused": f"{self.name}{where} refused the connection.",
                "dns": f"The address of {self.name}{where} could not be looked up (DNS).",
                "tls": f"A secure (TLS) connection to {self.name}{where} could not be set up.",
                }[obs.error]
        if obs.endpoint == "status_page":  # the status page is auxiliary
            return _Finding("info", "", {"status_page_error": obs.error}, seen)
        return _Finding("transport", "unknown", ev, seen)

    # --- QuickBooks Desktop ---
    def qbd_signal(self, hresult: str | None, message: str, ev: dict, *,
                   what: str = "QuickBooks reported error") -> _Finding:
        rule = None
        if hresult:
            rule = next((r for r in self.section("hresults") if r.match["hresult"] == hresult),
                        None)
        if rule is None:
            rule = _first_search(self.section("messages"), "pattern", message)
        label = f" {hresult}" if hresult else ""
        text = f": {_quote(message)}" if message else ""
        if rule is not None:
            return _failure(rule, ev, f"{what}{label}{text}.")
        if hresult:
            seen = f"QuickBooks returned error {hresult}, which we do not recognise{text}."
        else:
            seen = f"QuickBooks reported {_quote(message) if message else 'an error'}, " \
                   f"which we do not recognise."
        return _Finding("unknown", "unknown", ev, seen)

    def log_line(self, obs: LogLineObservation) -> _Finding:
        ev: dict[str, Any] = {"log_text": obs.text}
        m = re.search(r"\b(?:0x)?(8004[0-9a-f]{4})\b", obs.text, re.IGNORECASE)
        hresult = f"0x{m.group(1).upper()}" if m else None
        if hresult is None:  # in decimal, as .NET/VB print it: -2147220472 is 0x80040408
            for m in re.finditer(r"(?<![\w.-])-?21\d{8}\b", obs.text):
                number = normalise_hresult(m.group(0))
                if number and number.startswith("0x8004"):
                    hresult = number
                    break
        if hresult:
            ev["hresult"] = hresult
        m = re.search(r"\b(QBWC\d{4}|DESK\d+)\b", obs.text, re.IGNORECASE)
        if m:
            ev["error_code"] = m.group(1).upper()
        finding = self.qbd_signal(hresult, obs.text, ev,
                                  what="The connector's log says")
        if finding.kind == "failure":
            finding.seen = f"The connector's log says {_quote(obs.text)}."
        elif not hresult:
            finding.seen = (f"The connector's log says {_quote(obs.text)}, "
                            "which we do not recognise.")
        return finding

    def agent_status(self, obs: HttpObservation, ev: dict) -> _Finding:
        data = _json(obs.body)
        if not 200 <= obs.status < 300:
            return _Finding("unknown", "unknown", {**ev, "body_excerpt": _excerpt(obs.body)},
                            f"The desktop agent's status answered HTTP {obs.status}, "
                            "which we do not recognise.")
        if not isinstance(data, dict) or not isinstance(data.get("connected"), bool):
            return _Finding("unknown", "unknown", {**ev, "body_excerpt": _excerpt(obs.body)},
                            "The desktop agent's status could not be read "
                            f"({_quote(obs.body, 80) if obs.body.strip() else 'empty answer'}).")
        ev["agent_connected"] = data["connected"]
        if isinstance(data.get("last_seen"), str | int | float):
            ev["last_seen"] = data["last_seen"]
        last_error = data.get("last_error")
        if isinstance(last_error, Mapping):
            raw = last_error.get("hresult")
            hresult = normalise_hresult(raw) if raw is not None else None
            message = _str(last_error.get("message"))
            ev["sdk_message"] = message
            if raw is not None:
                ev["hresult"] = hresult or _str(raw)
            return self.qbd_signal(hresult, message, ev,
                                   what="The desktop agent's last error was")
        if last_error is not None:
            return _Finding("unknown", "unknown", {**ev, "body_excerpt": _excerpt(obs.body)},
                            "The desktop agent reported an error we cannot read.")
        rule = next((r for r in self.section("agent_status")
                     if r.match["connected"] == data["connected"]), None)
        seen = ("The desktop agent reports it is connected." if data["connected"] else
                "The desktop agent reports it is not connected"
                + (f" (last seen {ev['last_seen']})." if "last_seen" in ev else "."))
        if rule is None:
            return _Finding("unknown", "unknown", ev, seen)
        return _failure(rule, ev, seen)

    # --- HTTP, all systems ---
    def http(self, obs: HttpObservation) -> _Finding:
        ev = _http_evidence(obs)
        if self.system == "quickbooks_desktop" and obs.endpoint == "agent_status":
            return self.agent_status(obs, ev)
        if obs.endpoint == "status_page":
            return self.status_page(obs, ev)
        if obs.endpoint == "token":
            finding = self.token_response(obs, ev)
        elif self.system == "salesforce":
            finding = self.salesforce_api(obs, ev)
        elif self.system == "quickbooks_online":
            finding = self.qbo_api(obs, ev)
        else:
            finding = self.unrecognised_http(obs, ev)
        if self.system == "salesforce":
            finding = self.apply_quota(obs, finding)
        return finding

    def unrecognised_http(self, obs: HttpObservation, ev: dict, detail: str = "") -> _Finding:
        ev = {**ev, "body_excerpt": _excerpt(obs.body)} if obs.body.strip() else ev
        if 200 <= obs.status < 300:
            seen = (f"{self.name} ({obs.endpoint}) answered HTTP {obs.status} with a body we "
                    f"cannot read{detail}.")
        else:
            seen = (f"{self.name} ({obs.endpoint}) answered HTTP {obs.status}{detail}, "
                    "which we do not recognise.")
        return _Finding("unknown", "unknown", ev, seen)

    def status_rules(self, obs: HttpObservation, ev: dict, *, decisive: bool) -> _Finding | None:
        rule = _match_status(self.section("statuses"), obs, decisive=decisive)
        if rule is None:
            return None
        return _failure(rule, ev, f"{self.name} ({obs.endpoint}) answered HTTP {obs.status}.")

    def oauth_error(self, ev: dict, error: str, description: str, where: str) -> _Finding:
        """An OAuth ``error`` (and ``error_description``) seen ``where`` ("The … token
        endpoint answered HTTP 400 with"): the matching rule's cause, else ``unknown``."""
        ev["oauth_error"] = error
        if description:
            ev["error_description"] = description
        said = f"{error}" + (f" ({_quote(description)})" if description else "")
        rule = _match_oauth(self.section("oauth_errors"), error, description)
        if rule is not None:
            return _failure(rule, ev, f"{where} {said}.")
        return _Finding("unknown", "unknown", ev, f"{where} {said}, which we do not recognise.")

    def token_response(self, obs: HttpObservation, ev: dict) -> _Finding:
        data = _json(obs.body)
        error = _ci(data, "error") if isinstance(data, dict) else None
        if isinstance(error, str) and error:
            description = _str(_ci(data, "error_description"))
            return self.oauth_error(ev, error, description, f"The {self.name} token endpoint "
                                                            f"answered HTTP {obs.status} with")
        # A token issued. The probe keeps only a token response's non-secret fields
        # (token_type, expires_in, …), so the access token itself may be absent.
        if 200 <= obs.status < 300 and isinstance(data, dict) and (
                "access_token" in data or "token_type" in data):
            if _num(data.get("expires_in")) is not None:
                ev["token_lifetime_seconds"] = _num(data.get("expires_in"))
            return _Finding("connected", "connected", ev,
                            f"The {self.name} token endpoint issued a token.")
        return (self.status_rules(obs, ev, decisive=True)
                or self.unrecognised_http(obs, ev))

    def status_page(self, obs: HttpObservation, ev: dict) -> _Finding:
        data = _json(obs.body)
        status = data.get("status") if isinstance(data, dict) else None
        if isinstance(status, dict) and isinstance(status.get("indicator"), str):
            indicator = status["indicator"]
            ev["status_indicator"] = indicator
            if isinstance(status.get("description"), str):
                ev["status_description"] = status["description"]
            said = f"{self.name}'s status page shows indicator \"{indicator}\"" + (
                f" ({_quote(status['description'])})" if "status_description" in ev else "")
            rule = _first_search(self.section("status_indicators"), "indicator", indicator)
            if rule is None:
                return _Finding("info", "", ev, said + ", which we do not recognise.")
            return _failure(rule, ev, said + ".")
        if isinstance(status, str) and status:
            ev["trust_status"] = status
            for key in ("key", "environment"):
                if isinstance(data.get(key), str):
                    ev[f"instance_{key}"] = data[key]
            for key in ("Incidents", "Maintenances"):
                if isinstance(data.get(key), list):
                    ev[key.lower()] = len(data[key])
            said = f"The {self.name} Trust site shows status {status}"
            rule = _first_search(self.section("trust_statuses"), "status", status)
            if rule is None:
                return _Finding("info", "", ev, said + ", which we do not recognise.")
            return _failure(rule, ev, said + ".")
        # the status page itself is auxiliary: an unreadable one is evidence only
        return _Finding("info", "", {"status_page_status": obs.status},
                        f"{self.name}'s status page answered HTTP {obs.status} with nothing "
                        "we can read.")

    # --- QuickBooks Online API ---
    def qbo_api(self, obs: HttpObservation, ev: dict) -> _Finding:
        faults = _qbo_faults(obs.body)
        if faults:
            first = faults[0]
            for key, ekey in (("code", "error_code"), ("message", "error_message"),
                              ("detail", "error_detail"), ("type", "fault_type")):
                if first.get(key):
                    ev[ekey] = first[key]
            for fault in faults:
                code = code_key(fault.get("code"))
                rule = next((r for r in self.section("fault_codes") if r.match["code"] == code),
                            None) if code is not None else None
                if rule is None:
                    text = " ".join(_str(fault.get(k)) for k in ("message", "detail", "type"))
                    rule = _first_search(self.section("fault_texts"), "pattern", text)
                if rule is not None:
                    for key, ekey in (("code", "error_code"), ("message", "error_message"),
                                      ("detail", "error_detail")):
                        if fault.get(key):
                            ev[ekey] = fault[key]
                    return _failure(rule, ev, self._fault_seen(obs, fault))
        found = self.status_rules(obs, ev, decisive=True)
        if found:
            return found
        if faults:
            return _Finding("unknown", "unknown", ev,
                            self._fault_seen(obs, faults[0]).rstrip(".")
                            + ", which we do not recognise.")
        data = _json(obs.body)
        if 200 <= obs.status < 300:
            if isinstance(data, dict) and data:
                return _Finding("connected", "connected", ev,
                                f"{self.name} ({obs.endpoint}) answered normally.")
            return self.unrecognised_http(obs, ev)
        return self.status_rules(obs, ev, decisive=False) or self.unrecognised_http(obs, ev)

    def _fault_seen(self, obs: HttpObservation, fault: dict) -> str:
        code = f" error {fault['code']}" if fault.get("code") else " a fault"
        text = fault.get("message") or fault.get("detail") or ""
        return (f"{self.name} ({obs.endpoint}) answered HTTP {obs.status} with{code}"
                + (f": {_quote(text)}." if text else "."))

    # --- Salesforce API ---
    def salesforce_api(self, obs: HttpObservation, ev: dict) -> _Finding:
        data = _json(obs.body)
        if obs.endpoint == "limits" and 200 <= obs.status < 300:
            found = self.limits(obs, ev, data)
            if found:
                return found
        errors = _sf_errors(obs.body, data)
        if errors:
            ev["error_code"] = errors[0][0] or None
            ev["error_message"] = errors[0][1]
            ev = {k: v for k, v in ev.items() if v is not None}
            for code, message in errors:
                rule = None
                key = code_key(code)
                for candidate in self.section("error_codes"):
                    unless = candidate.match.get("unless")
                    if candidate.match["code"] == key and not (unless and unless.search(message)):
                        rule = candidate
                        break
                if rule is None:
                    rule = _first_search(self.section("texts"), "pattern", message)
                if rule is not None:
                    if code:
                        ev["error_code"] = code
                    ev["error_message"] = message
                    return _failure(rule, ev, self._sf_seen(obs, code, message))
        if isinstance(data, dict) and isinstance(_ci(data, "error"), str):
            return self.token_response(obs, ev)   # OAuth-style error from a resource server
        found = self.status_rules(obs, ev, decisive=True)
        if found:
            return found
        if errors:
            return _Finding("unknown", "unknown", ev,
                            self._sf_seen(obs, *errors[0]).rstrip(".")
                            + ", which we do not recognise.")
        if 200 <= obs.status < 300:
            if data is not None or obs.status == 204:
                return _Finding("connected", "connected", ev,
                                f"{self.name} ({obs.endpoint}) answered normally.")
            return self.unrecognised_http(obs, ev)
        return self.status_rules(obs, ev, decisive=False) or self.unrecognised_http(obs, ev)

    def _sf_seen(self, obs: HttpObservation, code: str, message: str) -> str:
        what = f" with {code}" if code else ""
        return (f"{self.name} ({obs.endpoint}) answered HTTP {obs.status}{what}"
                + (f": {_quote(message)}." if message else "."))

    def limits(self, obs: HttpObservation, ev: dict, data: Any) -> _Finding | None:
        daily = _ci(data, "DailyApiRequests") if isinstance(data, dict) else None
        if not isinstance(daily, Mapping):
            return None
        limit, remaining = _num(_ci(daily, "Max")), _num(_ci(daily, "Remaining"))
        if limit is None or remaining is None:
            return self.unrecognised_http(obs, ev, " (DailyApiRequests without numbers)")
        if limit <= 0:
            # Not a used-up daily limit: the org has no API requests at all (an edition without
            # API access, or API access turned off); we cannot tell which from here.
            ev.update(max=limit, remaining=remaining)
            return _Finding("unknown", "unknown", ev,
                            f"{self.name} reports a daily API request limit of {_fmt(limit)} "
                            f"(DailyApiRequests Max {_fmt(limit)}, Remaining "
                            f"{_fmt(remaining)}). That is not a used-up daily limit: the org "
                            "may have no API access in its edition, or API access may be "
                            "turned off.",
                            advice="We cannot tell which from here; the org's Salesforce "
                                   "admin can check the edition and the \"API Enabled\" "
                                   "permission. Please pass these details to support.")
        ev.update(max=limit, remaining=remaining, used=max(limit - remaining, 0))
        seen = (f"{_fmt(ev['used'])} of {_fmt(limit)} daily API requests used "
                f"({_fmt(remaining)} remaining).")
        if remaining <= 0:
            rule = self.section("limits")[0]
            return _failure(rule, ev, seen)
        return _Finding("connected", "connected", ev, seen)

    def apply_quota(self, obs: HttpObservation, finding: _Finding) -> _Finding:
        quota = _quota(obs)
        if quota is None:
            return finding
        used, limit = quota
        numbers = {"used": used, "max": limit, "remaining": max(limit - used, 0)}
        for key, value in numbers.items():
            finding.evidence.setdefault(key, value)
        if 0 < limit <= used and finding.kind != "failure" and self.section("limits"):
            ev = {**finding.evidence, **numbers}
            return _failure(self.section("limits")[0], ev,
                            f"{self.name} reports {_fmt(used)} of {_fmt(limit)} daily API "
                            "requests used (Sforce-Limit-Info header).")
        return finding

    # --- OAuth redirect and token age ---
    def callback(self, obs: OAuthCallbackObservation) -> _Finding:
        params = obs.params
        if params.get("error"):
            return self.oauth_error({}, params["error"], params.get("error_description", ""),
                                    f"The {self.name} consent screen came back with")
        if params.get("code"):
            ev = {}
            if params.get("realmId"):
                ev["realm_id"] = params["realmId"]
            return _Finding("connected", "connected", ev,
                            f"The {self.name} consent screen was completed.")
        return _Finding("unknown", "unknown", {"query": obs.query},
                        f"The {self.name} consent screen came back without a code or an "
                        "error, which we do not recognise.")

    def token(self, obs: TokenObservation) -> _Finding:
        age, life = _num(obs.issued_seconds_ago), _num(obs.expires_in)
        ev = {"token_age_seconds": age, "token_lifetime_seconds": life,
              "token_expired": obs.expired}
        if obs.expired and self.section("token_expired"):
            finding = _failure(self.section("token_expired")[0], ev,
                               f"The access token was issued {_fmt(age)} seconds ago and "
                               f"lasts {_fmt(life)} seconds.")
            finding.from_token = True
            return finding
        return _Finding("info", "", ev, f"The access token was issued {_fmt(age)} seconds ago "
                                        f"and lasts {_fmt(life)} seconds.")


def _qbo_faults(body: str) -> list[dict]:
    """Fault errors of a QuickBooks Online answer, either JSON layout or XML; [] if none."""
    out: list[dict] = []
    data = _json(body)
    fault = _ci(data, "fault") if isinstance(data, dict) else None
    if isinstance(fault, Mapping):
        errors = _ci(fault, "error")
        if isinstance(errors, Mapping):
            errors = [errors]
        ftype = _str(_ci(fault, "type"))
        for error in errors if isinstance(errors, list) else []:
            if isinstance(error, Mapping):
                out.append({"code": _str(_ci(error, "code")), "type": ftype,
                            "message": _str(_ci(error, "message")),
                            "detail": _str(_ci(error, "detail"))})
        if not out:
            out.append({"code": "", "type": ftype, "message": "", "detail": ""})
    root = _xml(body) if data is None else None
    if root is not None:
        for element in root.iter():
            if _local(element.tag) != "Fault":
                continue
            for error in element:
                if _local(error.tag) != "Error":
                    continue
                parts = {_local(child.tag).lower(): (child.text or "").strip()
                         for child in error}
                out.append({"code": error.get("code", ""), "type": element.get("type", ""),
                            "message": parts.get("message", ""),
                            "detail": parts.get("detail", "")})
    for fault_entry in out:  # "message=...; errorCode=003200; statusCode=401" without a code
        if not fault_entry["code"]:
            m = re.search(r"errorCode=(\d+)", fault_entry["message"] + fault_entry["detail"])
            if m:
                fault_entry["code"] = m.group(1)
    return out


def _sf_errors(body: str, data: Any) -> list[tuple[str, str]]:
    """(errorCode, message) pairs of a Salesforce REST error array/object or SOAP fault."""
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    out = []
    for item in items:
        if isinstance(item, Mapping) and (_ci(item, "errorCode") or _ci(item, "message")):
            out.append((_str(_ci(item, "errorCode")), _str(_ci(item, "message"))))
    if data is None:
        root = _xml(body)
        if root is not None:
            code = message = ""
            for element in root.iter():
                name = _local(element.tag).lower()
                text = (element.text or "").strip()
                if name in ("exceptioncode", "faultcode") and text and not code:
                    code = text.split(":")[-1]
                elif name in ("exceptionmessage", "faultstring") and text and not message:
                    message = text
            if code or message:
                out.append((code, message))
    return out


# ---------------------------------------------------------------------------------------------
# combining

def _explain(cause: str, evidence: dict, ignore: tuple[str, ...] = ()) -> tuple[str, bool]:
    """The cause's plain-words explanation, and whether it already quotes the numbers seen (a
    variant whose evidence keys are all present). Keys in ``ignore`` select no variant (a
    status page that reported no problem must not fill "reports a problem on its status
    page")."""
    info = load_rules().causes[cause]
    for requires, text in info.variants:
        if all(evidence.get(key) not in (None, "") and key not in ignore for key in requires):
            values = {key: _fmt(value) for key, value in evidence.items()}
            try:
                return " ".join(text.format_map(values).split()), bool(requires)
            except (KeyError, ValueError, IndexError):
                break
    return " ".join(info.explanation.split()), False


def _latest_per_endpoint(observations: Sequence[Observation]) -> list[tuple[int, Observation]]:
    last: dict[str, int] = {}
    for i, obs in enumerate(observations):
        endpoint = getattr(obs, "endpoint", None)
        if endpoint:
            last[endpoint] = i
    return [(i, obs) for i, obs in enumerate(observations)
            if not getattr(obs, "endpoint", None) or last[obs.endpoint] == i]


def _brief_title(finding: _Finding) -> str:
    if finding.kind == "transport":
        return cause_title("timeout" if finding.evidence.get("transport_error") == "timeout"
                           else "unavailable")
    return cause_title(finding.cause) if finding.cause else "Evidence"


def _brief(finding: _Finding) -> dict:
    """One ``also_seen`` entry: ``cause`` (id), ``title`` (its plain title, so a UI can show
    "title: seen"), ``seen`` (a sentence) and ``endpoint`` when known."""
    out = {"cause": finding.cause or "evidence", "title": _brief_title(finding),
           "seen": finding.seen}
    if finding.evidence.get("endpoint"):
        out["endpoint"] = finding.evidence["endpoint"]
    return out


def _is_error_page(obs: Observation) -> bool:
    if not isinstance(obs, HttpObservation):
        return False
    kind = (obs.headers.get("content-type") or "").lower()
    return "html" in kind or bool(re.match(r"\s*<(!doctype\s+html|html)\b", obs.body, re.I))


def _to_unknown(finding: _Finding, seen: str, advice: str) -> None:
    finding.kind, finding.cause, finding.seen, finding.advice = "unknown", "unknown", seen, advice
    finding.evidence.pop("rule_source", None)
    finding.rule = None


def _status_page_said(page: _Finding) -> str:
    ev = page.evidence
    if "status_indicator" in ev:
        indicator = ev["status_indicator"]
        return ('its status page reports no incident (indicator "none")' if indicator == "none"
                else f'its status page shows indicator "{indicator}"')
    return f'its Trust site reports "{ev.get("trust_status")}" for this instance'


def _reconcile(system: str, findings: list[_Finding]) -> None:
    """Settles observations that contradict each other, in place, before they are combined."""
    name = SYSTEM_NAMES[system]
    pages = [f for f in findings if f.endpoint == "status_page" and "status_page_error"
             not in f.evidence]
    page = pages[-1] if pages else None
    ranks = load_rules().causes

    # 1. A minor incident or maintenance on the status page only supports an outage when the
    #    API itself failed (5xx, no answer) or was not observed: a readable answer outranks it.
    if page is not None and page.kind == "failure" and page.rule is not None \
            and page.rule.match.get("defer_to_api"):
        api = [f for f in findings if f.endpoint in _API_ENDPOINTS]
        failed = any(f.kind == "transport" or (f.status or 0) >= 500
                     for f in findings if f is not page)
        if api and not failed:
            said = page.seen.rstrip(".")
            page.kind, page.cause = "info", ""
            page.evidence.pop("rule_source", None)
            healthy = all(f.kind == "connected" for f in api)
            page.note = (f"{said}, but {name}'s API answered normally all the same."
                         if healthy else
                         f"{said}, but {name}'s API answered, so we do not put the problem "
                         "down to that.")

    # 2. A 5xx outage from the API while the status page reports all is well: not a declared
    #    outage, and not certainly the vendor's (a gateway on the way answers 502 too).
    if page is not None and page.kind == "connected":
        for f in findings:
            if (f.kind == "failure" and f.endpoint != "status_page" and (f.status or 0) >= 500
                    and ranks[f.cause].rank == 0):
                what = (f"{name}'s API ({f.endpoint}) answered HTTP {f.status} with an error "
                        "page" if f.error_page and f.rule is not None
                        and f.rule.section == "statuses" else f.seen.rstrip("."))
                _to_unknown(f, f"{what}, although {_status_page_said(page)}.",
                            "We do not call this an outage while the status page reports none: "
                            "it may be a short-lived fault at the vendor or on the way to it. "
                            "Try again in a few minutes; if it persists, pass these details to "
                            "support.")

    # 3. A daily-limit error next to limits that show quota left (or a limit of 0):
    #    REQUEST_LIMIT_EXCEEDED also means the concurrent long-running request limit.
    limits = next((f for f in reversed(findings) if f.endpoint == "limits"
                   and isinstance(f.evidence.get("max"), int | float)
                   and isinstance(f.evidence.get("remaining"), int | float)), None)
    for f in findings:
        if f.kind != "failure" or f.cause != "salesforce.daily_api_limit_exceeded" \
                or f is limits:
            continue
        own_left = f.evidence.get("remaining")
        source = None
        if limits is not None and (limits.evidence["remaining"] > 0
                                   or limits.evidence["max"] <= 0):
            source, ev = "the org's limits show", limits.evidence
        elif isinstance(own_left, int | float) and own_left > 0 and f.evidence.get("max"):
            source, ev = "the Sforce-Limit-Info header shows", f.evidence
        if source is None:
            continue
        for key in ("max", "remaining", "used"):
            if key in ev:
                f.evidence[key] = ev[key]
        numbers = (f"{_fmt(ev['remaining'])} of {_fmt(ev['max'])} daily API requests remaining"
                   if ev["max"] > 0 else f"a daily API request limit of {_fmt(ev['max'])}")
        _to_unknown(f, f"{f.seen.rstrip('.')}, yet {source} {numbers}.",
                    "So this is not the daily request limit being used up; Salesforce gives the "
                    "same error when too many long-running requests run at the same time "
                    "(the concurrent request limit). Please pass these details to support.")


def diagnose(system: str, observations: Sequence[Observation | Mapping]) -> Diagnosis:
    """Diagnoses one connection of ``system`` from its observations (oldest first).

    ``observations`` may hold Observation instances or raw mappings in the fixtures format.
    Never raises for what a vendor sent (garbage bodies give ``unknown``); raises
    ObservationError for an unknown system or a malformed observation.
    """
    system = parse_system(system)
    parsed = parse_observations(list(observations))
    result = _combine(system, parsed)
    return Diagnosis(result.system, result.cause, _clean(result.explanation),
                     _clean_value(result.evidence), result.transport_errors)


def _combine(system: str, parsed: list[Observation]) -> Diagnosis:
    classifier = _Classifier(system)
    findings: list[_Finding] = []
    for index, obs in _latest_per_endpoint(parsed):
        finding = classifier.classify(obs)
        finding.index = index
        finding.endpoint = getattr(obs, "endpoint", None)
        if isinstance(obs, HttpObservation):
            finding.status = obs.status
            finding.error_page = _is_error_page(obs)
        findings.append(finding)
    _reconcile(system, findings)

    ranks = load_rules().causes
    failures = [f for f in findings if f.kind == "failure"]
    connected = [f for f in findings if f.kind == "connected"]
    unknowns = [f for f in findings if f.kind == "unknown"]
    transports = [f for f in findings if f.kind == "transport"]
    if failures and connected and all(f.from_token for f in failures):
        # an old token next to a healthy answer: the product refreshed it in between
        failures = []
    transport_errors: tuple[str, ...] = ()
    if failures:
        winner = min(failures, key=lambda f: (ranks[f.cause].rank, -f.index))
    elif unknowns:
        winner = unknowns[-1]
    elif transports:
        winner = transports[-1]
        transport_errors = tuple(f.evidence["transport_error"] for f in transports)
    elif connected:
        winner = connected[-1]
    else:
        seen = " ".join(f.seen for f in findings) or "No observations were made."
        evidence: dict[str, Any] = {"observations": len(parsed)}
        for f in findings:
            for key, value in f.evidence.items():
                evidence.setdefault(key, value)
        return Diagnosis(system, "unknown",
                         f"Nothing we saw shows whether the connection works. {seen}", evidence)

    evidence = dict(winner.evidence)
    for f in findings:
        if f is winner:
            continue
        for key in _SUPPORTING:
            if key in f.evidence and key not in evidence:
                evidence[key] = f.evidence[key]
    others = [_brief(f) for f in findings
              if f is not winner and f.kind in ("failure", "unknown", "transport")]
    if others:
        evidence["also_seen"] = others
    cause = winner.cause if winner.kind in ("failure", "connected") else "unknown"
    if cause == "unknown":
        if transport_errors:
            explanation = " ".join(dict.fromkeys(f.seen for f in transports)) + (
                " We could not check the connection itself; try again shortly.")
        else:
            explanation = winner.seen + " " + (
                winner.advice or "We do not name a cause for a signal we do not recognise; "
                                 "please pass these details to support.")
    else:
        # the status page fills a variant only when it reported the problem itself
        ignore = () if any(f.endpoint == "status_page" and f.kind == "failure"
                           for f in findings) else ("status_indicator", "trust_status")
        explanation, quoted = _explain(cause, evidence, ignore)
        if not quoted:
            explanation += " Seen: " + winner.seen
    notes = [f.note for f in findings if f.note]
    if notes:
        explanation += " " + " ".join(notes)
    return Diagnosis(system, cause, explanation, evidence, transport_errors)
