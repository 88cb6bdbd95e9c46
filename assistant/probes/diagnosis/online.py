"""QuickBooks Online: Accounting API answers (JSON ``Fault``/``fault`` layouts and XML
``IntuitResponse``), read by the rules of ``rules/quickbooks_online.yaml``.

Sources: https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
(Fault layouts); QBO answers XML when the request's ``Accept`` is not JSON
(https://developer.intuit.com/app/developer/qbo/docs/develop/explore-the-quickbooks-online-api/data-formats).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..observations import HttpObservation
from ..ruleset import code_key
from .findings import Classifier, Finding, failure, first_search
from .parsing import ci, local, parse_json, parse_xml, quote, text_of

_STATED_STATUS = re.compile(r"statusCode\s*[=:]\s*(\d{3})\b", re.IGNORECASE)


def qbo_faults(body: str) -> list[dict]:
    """Fault errors of a QuickBooks Online answer, either JSON layout or XML; [] if none.
    Each is ``{"code", "type", "message", "detail"}`` (strings, possibly empty)."""
    out: list[dict] = []
    data = parse_json(body)
    fault = ci(data, "fault") if isinstance(data, dict) else None
    if isinstance(fault, Mapping):
        errors = ci(fault, "error")
        if isinstance(errors, Mapping):
            errors = [errors]
        ftype = text_of(ci(fault, "type"))
        for error in errors if isinstance(errors, list) else []:
            if isinstance(error, Mapping):
                out.append({"code": text_of(ci(error, "code")), "type": ftype,
                            "message": text_of(ci(error, "message")),
                            "detail": text_of(ci(error, "detail"))})
        if not out:
            out.append({"code": "", "type": ftype, "message": "", "detail": ""})
    root = parse_xml(body) if data is None else None
    if root is not None:
        for element in root.iter():
            if local(element.tag) != "Fault":
                continue
            for error in element:
                if local(error.tag) != "Error":
                    continue
                parts = {local(child.tag).lower(): (child.text or "").strip()
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


def healthy_answer(body: str) -> bool:
    """A readable entity answer: a non-empty JSON object, or an XML ``IntuitResponse`` holding
    an entity (``CompanyInfo``, ``QueryResponse``, ...) and no ``Fault``."""
    data = parse_json(body)
    if data is not None:
        return isinstance(data, dict) and bool(data)
    root = parse_xml(body)
    if root is None or local(root.tag) != "IntuitResponse":
        return False
    children = [local(child.tag) for child in root]
    return bool(children) and "Fault" not in children


class OnlineClassifier(Classifier):
    system = "quickbooks_online"

    def api(self, obs: HttpObservation, ev: dict) -> Finding:
        if obs.endpoint == "token":
            return self.token_response(obs, ev)
        faults = qbo_faults(obs.body)
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
                    text = " ".join(text_of(fault.get(k)) for k in ("message", "detail", "type"))
                    rule = first_search(self.section("fault_texts"), "pattern", text)
                if rule is not None:
                    for key, ekey in (("code", "error_code"), ("message", "error_message"),
                                      ("detail", "error_detail")):
                        if fault.get(key):
                            ev[ekey] = fault[key]
                    stated = _STATED_STATUS.search(fault["message"] + " " + fault["detail"])
                    if stated:
                        ev["stated_status"] = int(stated.group(1))
                    return failure(rule, ev, self._fault_seen(obs, fault))
        found = self.status_rules(obs, ev, decisive=True)
        if found:
            return found
        if faults:
            return Finding("unknown", "unknown", ev,
                           self._fault_seen(obs, faults[0]).rstrip(".")
                           + ", which we do not recognise.")
        if 200 <= obs.status < 300:
            if healthy_answer(obs.body):
                return Finding("connected", "connected", ev,
                               f"{self.name} ({obs.endpoint}) answered normally.")
            return self.unrecognised_http(obs, ev)
        return self.status_rules(obs, ev, decisive=False) or self.unrecognised_http(obs, ev)

    def _fault_seen(self, obs: HttpObservation, fault: dict) -> str:
        code = f" error {fault['code']}" if fault.get("code") else " a fault"
        text = fault.get("message") or fault.get("detail") or ""
        return (f"{self.name} ({obs.endpoint}) answered HTTP {obs.status} with{code}"
                + (f": {quote(text)}." if text else "."))
