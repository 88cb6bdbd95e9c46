"""QuickBooks Desktop: SDK errors (HRESULT and message), Web Connector log lines and the
desktop agent's status answer, read by the rules of ``rules/quickbooks_desktop.yaml``.

A message is read by its code and by its text: a ``messages`` rule marked
``outranks_code: true`` (a version problem, a revoked automatic login) names its cause whatever
the HRESULT says, because QuickBooks reports those under several codes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..observations import (
    HttpObservation,
    LogLineObservation,
    SdkErrorObservation,
    normalise_hresult,
)
from .findings import Classifier, Finding, failure, first_search
from .parsing import excerpt, parse_json, quote, text_of


def find_hresult(text: str) -> str | None:
    """The first QuickBooks SDK HRESULT (0x8004xxxx) in ``text``, hex (``0x80040408``,
    ``80040408``) or decimal as .NET/VB print it (``-2147220472``); None if there is none."""
    m = re.search(r"\b(?:0x)?(8004[0-9a-f]{4})\b", text, re.IGNORECASE)
    if m:
        return f"0x{m.group(1).upper()}"
    for m in re.finditer(r"(?<![\w.-])-?21\d{8}\b", text):
        number = normalise_hresult(m.group(0))
        if number and number.startswith("0x8004"):
            return number
    return None


class DesktopClassifier(Classifier):
    system = "quickbooks_desktop"

    def desktop_signal(self, obs: SdkErrorObservation | LogLineObservation) -> Finding:
        if isinstance(obs, SdkErrorObservation):
            return self.signal(obs.hresult, obs.message, {"hresult": obs.hresult,
                                                          "sdk_message": obs.message})
        return self.log_line(obs)

    def signal(self, hresult: str | None, message: str, ev: dict, *,
               what: str = "QuickBooks reported error") -> Finding:
        messages = self.section("messages")
        rule = first_search([r for r in messages if r.match.get("outranks_code")],
                            "pattern", message)
        if rule is None and hresult:
            rule = next((r for r in self.section("hresults") if r.match["hresult"] == hresult),
                        None)
        if rule is None:
            rule = first_search(messages, "pattern", message)
        label = f" {hresult}" if hresult else ""
        text = f": {quote(message)}" if message else ""
        if rule is not None:
            return failure(rule, ev, f"{what}{label}{text}.")
        if hresult:
            seen = f"QuickBooks returned error {hresult}, which we do not recognise{text}."
        else:
            seen = f"QuickBooks reported {quote(message) if message else 'an error'}, " \
                   f"which we do not recognise."
        return Finding("unknown", "unknown", ev, seen)

    def log_line(self, obs: LogLineObservation) -> Finding:
        ev: dict[str, Any] = {"log_text": obs.text}
        hresult = find_hresult(obs.text)
        if hresult:
            ev["hresult"] = hresult
        m = re.search(r"\b(QBWC\d{4}|DESK\d+)\b", obs.text, re.IGNORECASE)
        if m:
            ev["error_code"] = m.group(1).upper()
        finding = self.signal(hresult, obs.text, ev, what="The connector's log says")
        if finding.kind == "failure":
            finding.seen = f"The connector's log says {quote(obs.text)}."
        elif not hresult:
            finding.seen = (f"The connector's log says {quote(obs.text)}, "
                            "which we do not recognise.")
        return finding

    def api(self, obs: HttpObservation, ev: dict) -> Finding:
        if obs.endpoint == "agent_status":
            return self.agent_status(obs, ev)
        return self.unrecognised_http(obs, ev)

    def agent_status(self, obs: HttpObservation, ev: dict) -> Finding:
        data = parse_json(obs.body)
        if not 200 <= obs.status < 300:
            return Finding("unknown", "unknown", {**ev, "body_excerpt": excerpt(obs.body)},
                           f"The desktop agent's status answered HTTP {obs.status}, "
                           "which we do not recognise.")
        if not isinstance(data, dict) or not isinstance(data.get("connected"), bool):
            return Finding("unknown", "unknown", {**ev, "body_excerpt": excerpt(obs.body)},
                           "The desktop agent's status could not be read "
                           f"({quote(obs.body, 80) if obs.body.strip() else 'empty answer'}).")
        ev["agent_connected"] = data["connected"]
        if isinstance(data.get("last_seen"), str | int | float):
            ev["last_seen"] = data["last_seen"]
        last_error = data.get("last_error")
        if isinstance(last_error, Mapping):
            raw = last_error.get("hresult")
            hresult = normalise_hresult(raw) if raw is not None else None
            message = text_of(last_error.get("message"))
            ev["sdk_message"] = message
            if raw is not None:
                ev["hresult"] = hresult or text_of(raw)
            return self.signal(hresult, message, ev, what="The desktop agent's last error was")
        if last_error is not None:
            return Finding("unknown", "unknown", {**ev, "body_excerpt": excerpt(obs.body)},
                           "The desktop agent reported an error we cannot read.")
        rule = next((r for r in self.section("agent_status")
                     if r.match["connected"] == data["connected"]), None)
        seen = ("The desktop agent reports it is connected." if data["connected"] else
                "The desktop agent reports it is not connected"
                + (f" (last seen {ev['last_seen']})." if "last_seen" in ev else "."))
        if rule is None:
            return Finding("unknown", "unknown", ev, seen)
        return failure(rule, ev, seen)
