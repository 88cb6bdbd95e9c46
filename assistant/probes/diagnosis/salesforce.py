"""Salesforce: REST error arrays, SOAP faults (``soapenv:Fault`` with ``sf:`` codes, on any
endpoint, the token endpoint included), OAuth errors, ``/limits`` and the
``Sforce-Limit-Info`` header, read by the rules of ``rules/salesforce.yaml``.

Sources: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
(REST errors), https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm
(SOAP ``ExceptionCode`` values),
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
(``Sforce-Limit-Info: api-usage=N/M``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..observations import HttpObservation
from ..ruleset import code_key
from .findings import Classifier, Finding, failure, first_search
from .parsing import ci, fmt, local, num, parse_json, parse_xml, quote, text_of


def sf_errors(body: str, data: Any = None) -> tuple[list[tuple[str, str]], bool]:
    """``([(errorCode, message), ...], soap)`` of a Salesforce REST error array/object or a
    SOAP fault (``soap`` True then); ``([], False)`` if the body holds neither."""
    if data is None:
        data = parse_json(body)
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    out = []
    for item in items:
        if isinstance(item, Mapping) and (ci(item, "errorCode") or ci(item, "message")):
            out.append((text_of(ci(item, "errorCode")), text_of(ci(item, "message"))))
    if out or data is not None:
        return out, False
    root = parse_xml(body)
    if root is None:
        return [], False
    code = message = ""
    for element in root.iter():
        name = local(element.tag).lower()
        text = (element.text or "").strip()
        if name in ("exceptioncode", "faultcode") and text and not code:
            code = text.split(":")[-1]
        elif name in ("exceptionmessage", "faultstring") and text and not message:
            message = text
    return ([(code, message)], True) if code or message else ([], False)


def quota(obs: HttpObservation) -> tuple[int | float, int | float] | None:
    """``Sforce-Limit-Info: api-usage=15000/15000`` -> (used, max)."""
    info = obs.headers.get("sforce-limit-info") or ""
    m = re.search(r"api-usage\s*=\s*([\d,]+)\s*/\s*([\d,]+)", info, re.IGNORECASE)
    if not m:
        return None
    used, limit = num(m.group(1)), num(m.group(2))
    return (used, limit) if used is not None and limit is not None else None


class SalesforceClassifier(Classifier):
    system = "salesforce"

    def http(self, obs: HttpObservation) -> Finding:
        finding = super().http(obs)
        if obs.endpoint == "status_page":
            return finding
        return self.apply_quota(obs, finding)

    def api(self, obs: HttpObservation, ev: dict) -> Finding:
        data = parse_json(obs.body)
        if obs.endpoint == "token":
            errors, soap = sf_errors(obs.body, data)
            if not soap:
                return self.token_response(obs, ev)
        if obs.endpoint == "limits" and 200 <= obs.status < 300:
            found = self.limits(obs, ev, data)
            if found:
                return found
        errors, soap = sf_errors(obs.body, data)
        if errors:
            ev["error_code"] = errors[0][0] or None
            ev["error_message"] = errors[0][1]
            ev = {k: v for k, v in ev.items() if v is not None}
            for code, message in errors:
                rule = self.error_rule(code, message)
                if rule is not None:
                    if code:
                        ev["error_code"] = code
                    ev["error_message"] = message
                    found = failure(rule, ev, self._seen(obs, code, message))
                    found.soap = soap
                    return found
        if isinstance(data, dict) and isinstance(ci(data, "error"), str):
            return self.token_response(obs, ev)   # OAuth-style error from a resource server
        found = self.status_rules(obs, ev, decisive=True)
        if found:
            return found
        if errors:
            found = Finding("unknown", "unknown", ev,
                            self._seen(obs, *errors[0]).rstrip(".")
                            + ", which we do not recognise.")
            found.soap = soap
            return found
        if 200 <= obs.status < 300:
            if data is not None or obs.status == 204:
                return Finding("connected", "connected", ev,
                               f"{self.name} ({obs.endpoint}) answered normally.")
            return self.unrecognised_http(obs, ev)
        return self.status_rules(obs, ev, decisive=False) or self.unrecognised_http(obs, ev)

    def error_rule(self, code: str, message: str):
        """The rule an errorCode (``error_codes``, honouring ``unless``) or else its message
        (``texts``) matches; None if neither."""
        key = code_key(code)
        for candidate in self.section("error_codes"):
            unless = candidate.match.get("unless")
            if candidate.match["code"] == key and not (unless and unless.search(message)):
                return candidate
        return first_search(self.section("texts"), "pattern", message)

    def _seen(self, obs: HttpObservation, code: str, message: str) -> str:
        what = f" with {code}" if code else ""
        return (f"{self.name} ({obs.endpoint}) answered HTTP {obs.status}{what}"
                + (f": {quote(message)}." if message else "."))

    def limits(self, obs: HttpObservation, ev: dict, data: Any) -> Finding | None:
        daily = ci(data, "DailyApiRequests") if isinstance(data, dict) else None
        if not isinstance(daily, Mapping):
            return None
        limit, remaining = num(ci(daily, "Max")), num(ci(daily, "Remaining"))
        if limit is None or remaining is None:
            return self.unrecognised_http(obs, ev, " (DailyApiRequests without numbers)")
        ev["quota_source"] = "limits"
        if limit <= 0:
            # Not a used-up daily limit: the org has no API requests at all (an edition without
            # API access, or API access turned off); we cannot tell which from here.
            ev.update(max=limit, remaining=remaining)
            return Finding("unknown", "unknown", ev,
                           f"{self.name} reports a daily API request limit of {fmt(limit)} "
                           f"(DailyApiRequests Max {fmt(limit)}, Remaining "
                           f"{fmt(remaining)}). That is not a used-up daily limit: the org "
                           "may have no API access in its edition, or API access may be "
                           "turned off.",
                           advice="We cannot tell which from here; the org's Salesforce "
                                  "admin can check the edition and the \"API Enabled\" "
                                  "permission. Please pass these details to support.")
        ev.update(max=limit, remaining=remaining, used=max(limit - remaining, 0))
        seen = (f"{fmt(ev['used'])} of {fmt(limit)} daily API requests used "
                f"({fmt(remaining)} remaining).")
        if remaining <= 0:
            if not self.section("limits"):
                return Finding("unknown", "unknown", ev, seen)
            return failure(self.section("limits")[0], ev, seen)
        return Finding("connected", "connected", ev, seen)

    def apply_quota(self, obs: HttpObservation, finding: Finding) -> Finding:
        numbers = quota(obs)
        if numbers is None:
            return finding
        used, limit = numbers
        values = {"used": used, "max": limit, "remaining": max(limit - used, 0)}
        for key, value in values.items():
            finding.evidence.setdefault(key, value)
        finding.evidence.setdefault("quota_source", "sforce_limit_info")
        if 0 < limit <= used and finding.kind != "failure" and self.section("limits"):
            ev = {**finding.evidence, **values, "quota_source": "sforce_limit_info"}
            return failure(self.section("limits")[0], ev,
                           f"{self.name} reports {fmt(used)} of {fmt(limit)} daily API "
                           "requests used (Sforce-Limit-Info header).")
        return finding
