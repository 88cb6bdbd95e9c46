"""What one observation means on its own (a :class:`Finding`), and the parts of classifying a
vendor's answer that every vendor shares: transport errors, status pages, OAuth errors, token
ages and the HTTP status rules (reading the answer's text, JSON and XML is in :mod:`.parsing`).

Each vendor module subclasses :class:`Classifier`; ``combine`` ranks the findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..observations import (
    HttpObservation,
    LogLineObservation,
    OAuthCallbackObservation,
    Observation,
    SdkErrorObservation,
    TokenObservation,
    TransportObservation,
)
from ..ruleset import Rule, load_rules
from .parsing import ci, excerpt, fmt, is_html, num, parse_json, quote, text_of
from .result import SYSTEM_NAMES

_REQUEST_ID_HEADERS = ("intuit_tid", "intuit-tid", "sforce-call-id", "x-sfdc-request-id",
                       "x-request-id", "request-id", "x-correlation-id")


@dataclass
class Finding:
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
    soap: bool = False              # a SOAP fault: HTTP 500 is how SOAP sends every fault


def failure(rule: Rule, evidence: dict, seen: str) -> Finding:
    """The finding of a matched rule (``connected`` or a failure), citing the rule's source and
    entry (``salesforce.yaml error_codes[1]``)."""
    kind = "connected" if rule.cause == "connected" else "failure"
    evidence = {**evidence, "rule_source": rule.source, "rule_entry": rule.entry}
    return Finding(kind, rule.cause, evidence, seen, rule=rule)


def to_unknown(finding: Finding, seen: str, advice: str) -> None:
    """Turns a finding into ``unknown`` in place (the rule it matched is dropped)."""
    finding.kind, finding.cause, finding.seen, finding.advice = "unknown", "unknown", seen, advice
    finding.evidence.pop("rule_source", None)
    finding.evidence.pop("rule_entry", None)
    finding.rule = None


def first_search(rules: Sequence[Rule], key: str, text: str) -> Rule | None:
    for rule in rules:
        if text and rule.match[key].search(text):
            return rule
    return None


def first_full(rules: Sequence[Rule], key: str, value: str) -> Rule | None:
    """The first rule whose ``key`` regex matches the whole of ``value``."""
    for rule in rules:
        if rule.match[key].match(value.strip()):
            return rule
    return None


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


class Classifier:
    """Reads one observation of one system into a :class:`Finding`. Vendor subclasses
    implement ``api`` (their API's answers) and may override ``signal`` hooks."""

    system = ""

    def __init__(self):
        self.name = SYSTEM_NAMES[self.system]
        self.rules = load_rules()

    def section(self, name: str) -> tuple[Rule, ...]:
        return self.rules.section(self.system, name)

    def rank(self, cause: str) -> int:
        return self.rules.causes[cause].rank

    def classify(self, obs: Observation) -> Finding:
        if isinstance(obs, HttpObservation):
            return self.http(obs)
        if isinstance(obs, SdkErrorObservation | LogLineObservation):
            return self.desktop_signal(obs)
        if isinstance(obs, OAuthCallbackObservation):
            return self.callback(obs)
        if isinstance(obs, TokenObservation):
            return self.token(obs)
        assert isinstance(obs, TransportObservation)
        return self.transport(obs)

    def desktop_signal(self, obs: SdkErrorObservation | LogLineObservation) -> Finding:
        """An SDK error or log line seen for a system that has none: not recognised."""
        text = obs.message if isinstance(obs, SdkErrorObservation) else obs.text
        return Finding("unknown", "unknown", {"log_text": text},
                       f"{self.name} reported {quote(text)}, which we do not recognise.")

    def transport(self, obs: TransportObservation) -> Finding:
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
            return Finding("info", "", {"status_page_error": obs.error}, seen)
        return Finding("transport", "unknown", ev, seen)

    # --- HTTP ---
    def http_evidence(self, obs: HttpObservation) -> dict:
        ev: dict[str, Any] = {"endpoint": obs.endpoint, "status": obs.status}
        for name in _REQUEST_ID_HEADERS:
            value = obs.headers.get(name)
            if value:
                ev["request_id"] = value
                break
        retry = obs.headers.get("retry-after")
        if retry:
            ev["retry_after"] = num(retry) if num(retry) is not None else retry
        return ev

    def http(self, obs: HttpObservation) -> Finding:
        ev = self.http_evidence(obs)
        if obs.endpoint == "status_page":
            return self.status_page(obs, ev)
        page = self.maintenance_page(obs, ev)
        if page is not None:
            return page
        finding = self.api(obs, ev)
        return self.status_disagrees(obs, finding)

    def api(self, obs: HttpObservation, ev: dict) -> Finding:
        """A vendor API's answer (token endpoint included); vendors override it."""
        if obs.endpoint == "token":
            return self.token_response(obs, ev)
        return self.unrecognised_http(obs, ev)

    def maintenance_page(self, obs: HttpObservation, ev: dict) -> Finding | None:
        """An HTML "down for maintenance" page, whatever its status (vendors serve them with
        200 too): the ``maintenance_pages`` rule's outage cause."""
        if not is_html(obs):
            return None
        rule = first_search(self.section("maintenance_pages"), "pattern", obs.body)
        if rule is None:
            return None
        ev = {**ev, "body_excerpt": excerpt(obs.body)}
        return failure(rule, ev, f"{self.name} ({obs.endpoint}) answered HTTP {obs.status} "
                                 "with a page saying it is down for maintenance.")

    def status_disagrees(self, obs: HttpObservation, finding: Finding) -> Finding:
        """A 5xx is the vendor failing: an error code documented for a client-side cause does
        not outrank it. Such a finding becomes the status's own server-side cause when a
        decisive status rule names one (502/503/504), else ``unknown`` with both shown.
        SOAP faults are exempt: SOAP sends every fault with HTTP 500."""
        # the status the answer states inside its body ("statusCode: 500" in an Intuit fault)
        # counts as much as the HTTP status line
        stated = finding.evidence.get("stated_status")
        status = max(obs.status, stated if isinstance(stated, int) else 0)
        if (finding.kind != "failure" or status < 500 or finding.soap
                or self.rank(finding.cause) == 0):
            return finding
        code = finding.evidence.get("error_code") or finding.evidence.get("oauth_error")
        where = f"HTTP {obs.status}" if obs.status >= 500 else \
            f"HTTP {obs.status} stating status {status}"
        said = (f"{self.name} ({obs.endpoint}) answered {where}, a server error, "
                f"with {('code ' + str(code)) if code else 'an error'} that on its own would "
                f"mean \u201c{self.rules.causes[finding.cause].title}\u201d")
        server = _match_status(self.section("statuses"), obs, decisive=True)
        if server is not None and self.rank(server.cause) == 0:
            out = failure(server, {**finding.evidence, "code_cause": finding.cause},
                          f"{said}; the server error outranks the code.")
            out.soap = finding.soap
            return out
        finding.evidence["code_cause"] = finding.cause
        to_unknown(finding, f"{said}. The two disagree.",
                   "We do not name a cause when the status and the error code disagree: it may "
                   "be a fault at the vendor. Try again in a few minutes; if it persists, "
                   "pass these details to support.")
        return finding

    def unrecognised_http(self, obs: HttpObservation, ev: dict, detail: str = "") -> Finding:
        ev = {**ev, "body_excerpt": excerpt(obs.body)} if obs.body.strip() else ev
        if 200 <= obs.status < 300:
            seen = (f"{self.name} ({obs.endpoint}) answered HTTP {obs.status} with a body we "
                    f"cannot read{detail}.")
        else:
            seen = (f"{self.name} ({obs.endpoint}) answered HTTP {obs.status}{detail}, "
                    "which we do not recognise.")
        return Finding("unknown", "unknown", ev, seen)

    def status_rules(self, obs: HttpObservation, ev: dict, *, decisive: bool) -> Finding | None:
        rule = _match_status(self.section("statuses"), obs, decisive=decisive)
        if rule is None:
            return None
        return failure(rule, ev, f"{self.name} ({obs.endpoint}) answered HTTP {obs.status}.")

    def oauth_error(self, ev: dict, error: str, description: str, where: str) -> Finding:
        """An OAuth ``error`` (and ``error_description``) seen ``where`` ("The … token
        endpoint answered HTTP 400 with"): the matching rule's cause, else ``unknown``."""
        ev["oauth_error"] = error
        if description:
            ev["error_description"] = description
        said = f"{error}" + (f" ({quote(description)})" if description else "")
        rule = _match_oauth(self.section("oauth_errors"), error, description)
        if rule is not None:
            return failure(rule, ev, f"{where} {said}.")
        return Finding("unknown", "unknown", ev, f"{where} {said}, which we do not recognise.")

    def token_response(self, obs: HttpObservation, ev: dict) -> Finding:
        data = parse_json(obs.body)
        error = ci(data, "error") if isinstance(data, dict) else None
        if isinstance(error, str) and error:
            description = text_of(ci(data, "error_description"))
            return self.oauth_error(ev, error, description, f"The {self.name} token endpoint "
                                                            f"answered HTTP {obs.status} with")
        # A token issued. The probe keeps only a token response's non-secret fields
        # (token_type, expires_in, …), so the access token itself may be absent.
        if 200 <= obs.status < 300 and isinstance(data, dict) and (
                "access_token" in data or "token_type" in data):
            if num(data.get("expires_in")) is not None:
                ev["token_lifetime_seconds"] = num(data.get("expires_in"))
            return Finding("connected", "connected", ev,
                           f"The {self.name} token endpoint issued a token.")
        return (self.status_rules(obs, ev, decisive=True)
                or self.unrecognised_http(obs, ev))

    def status_page(self, obs: HttpObservation, ev: dict) -> Finding:
        data = parse_json(obs.body)
        status = data.get("status") if isinstance(data, dict) else None
        if isinstance(status, dict) and isinstance(status.get("indicator"), str):
            indicator = status["indicator"]
            ev["status_indicator"] = indicator
            if isinstance(status.get("description"), str):
                ev["status_description"] = status["description"]
            said = f"{self.name}'s status page shows indicator \"{indicator}\"" + (
                f" ({quote(status['description'])})" if "status_description" in ev else "")
            rule = first_full(self.section("status_indicators"), "indicator", indicator)
            if rule is None:
                return Finding("info", "", ev, said + ", which we do not recognise.")
            return failure(rule, ev, said + ".")
        if isinstance(status, str) and status:
            ev["trust_status"] = status
            for key in ("key", "environment"):
                if isinstance(data.get(key), str):
                    ev[f"instance_{key}"] = data[key]
            for key in ("Incidents", "Maintenances"):
                if isinstance(data.get(key), list):
                    ev[key.lower()] = len(data[key])
            said = f"The {self.name} Trust site shows status {status}"
            rule = first_full(self.section("trust_statuses"), "status", status)
            if rule is None:
                return Finding("info", "", ev, said + ", which we do not recognise.")
            return failure(rule, ev, said + ".")
        # the status page itself is auxiliary: an unreadable one is evidence only
        return Finding("info", "", {"status_page_status": obs.status},
                       f"{self.name}'s status page answered HTTP {obs.status} with nothing "
                       "we can read.")

    # --- OAuth redirect and token age ---
    def callback(self, obs: OAuthCallbackObservation) -> Finding:
        params = obs.params
        if params.get("error"):
            return self.oauth_error({}, params["error"], params.get("error_description", ""),
                                    f"The {self.name} consent screen came back with")
        if params.get("code"):
            ev = {}
            if params.get("realmId"):
                ev["realm_id"] = params["realmId"]
            return Finding("connected", "connected", ev,
                           f"The {self.name} consent screen was completed.")
        return Finding("unknown", "unknown", {"query": obs.query},
                       f"The {self.name} consent screen came back without a code or an "
                       "error, which we do not recognise.")

    def token(self, obs: TokenObservation) -> Finding:
        age, life = num(obs.issued_seconds_ago), num(obs.expires_in)
        ev = {"token_age_seconds": age, "token_lifetime_seconds": life,
              "token_expired": obs.expired}
        if obs.expired and self.section("token_expired"):
            finding = failure(self.section("token_expired")[0], ev,
                              f"The access token was issued {fmt(age)} seconds ago and "
                              f"lasts {fmt(life)} seconds.")
            finding.from_token = True
            return finding
        return Finding("info", "", ev, f"The access token was issued {fmt(age)} seconds ago "
                                       f"and lasts {fmt(life)} seconds.")
