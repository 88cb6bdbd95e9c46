"""Combines the findings of one connection's observations into one :class:`Diagnosis`: the
ranking of causes, apart from the vendor parsing (``desktop``, ``online``, ``salesforce``).

- per endpoint only the latest observation counts (a 401 then a successful retry is healthy);
- a recognised failure beats everything else; among failures the lowest catalogue ``rank`` wins
  (outages, then root causes, then "a token refresh fixes it"), the latest on a tie;
- an unrecognised signal gives ``unknown`` (never a guess), with the raw signal in evidence;
- only transport errors give ``unknown`` with outcome ``timeout`` or ``unavailable``;
- observations that contradict each other are reconciled first (``_reconcile``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..observations import HttpObservation, Observation, parse_observations, parse_system
from ..ruleset import load_catalogue_texts, load_rules
from .desktop import DesktopClassifier
from .findings import Finding, to_unknown
from .online import OnlineClassifier
from .parsing import clean, clean_value, fmt, is_html
from .result import SYSTEM_NAMES, Diagnosis, cause_title
from .salesforce import SalesforceClassifier

CLASSIFIERS = {c.system: c for c in (DesktopClassifier, OnlineClassifier, SalesforceClassifier)}

# the endpoints whose answer proves (or disproves) that the connection itself works
_API_ENDPOINTS = ("rest_api", "limits", "company_info")
# evidence other observations may add to the winning one's
_SUPPORTING = ("token_age_seconds", "token_lifetime_seconds", "token_expired", "used", "max",
               "remaining", "quota_source", "status_indicator", "trust_status", "last_seen")


def _explain(cause: str, evidence: dict, ignore: tuple[str, ...] = (),
             language: str | None = None) -> tuple[str, bool]:
    """The cause's plain-words explanation, and whether it already quotes the numbers seen (a
    variant whose evidence keys are all present). Keys in ``ignore`` select no variant (a
    status page that reported no problem must not fill "reports a problem on its status
    page"). ``language``: the texts of ``catalogue.<language>.yaml`` (None: catalogue.yaml)."""
    info = (load_catalogue_texts(language) if language else load_rules().causes)[cause]
    for requires, text in info.variants:
        if all(evidence.get(key) not in (None, "") and key not in ignore for key in requires):
            values = {key: fmt(value, language) for key, value in evidence.items()}
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


def _brief_title(finding: Finding) -> str:
    if finding.kind == "transport":
        return cause_title("timeout" if finding.evidence.get("transport_error") == "timeout"
                           else "unavailable")
    return cause_title(finding.cause) if finding.cause else "Evidence"


def _brief(finding: Finding) -> dict:
    """One ``also_seen`` entry: ``cause`` (id), ``title`` (its plain title, so a UI can show
    "title: seen"), ``seen`` (a sentence) and ``endpoint`` when known."""
    out = {"cause": finding.cause or "evidence", "title": _brief_title(finding),
           "seen": finding.seen}
    if finding.evidence.get("endpoint"):
        out["endpoint"] = finding.evidence["endpoint"]
    return out


def _status_page_said(page: Finding) -> str:
    ev = page.evidence
    if "status_indicator" in ev:
        indicator = ev["status_indicator"]
        return ('its status page reports no incident (indicator "none")' if indicator == "none"
                else f'its status page shows indicator "{indicator}"')
    return f'its Trust site reports "{ev.get("trust_status")}" for this instance'


def _reconcile(system: str, findings: list[Finding]) -> None:
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
                to_unknown(f, f"{what}, although {_status_page_said(page)}.",
                            "We do not call this an outage while the status page reports none: "
                            "it may be a short-lived fault at the vendor or on the way to it. "
                            "Try again in a few minutes; if it persists, pass these details to "
                            "support.")

    # 3. /limits refused (403: the user lacks "View Setup and Configuration") while the query
    #    answered with its Sforce-Limit-Info header: the quota comes from the header, and the
    #    refusal is not the connection's problem.
    refused = next((f for f in findings if f.endpoint == "limits" and f.status == 403
                    and f.kind == "unknown"), None)
    header = next((f for f in findings if f.endpoint == "rest_api"
                   and f.evidence.get("quota_source") == "sforce_limit_info"), None)
    if refused is not None and header is not None:
        refused.kind, refused.cause = "info", ""
        refused.note = (f"{name} refused its limits resource (HTTP 403: the integration user "
                        "lacks the \"View Setup and Configuration\" permission), so the daily "
                        "request quota was read from the query's Sforce-Limit-Info header.")

    # 4. A daily-limit error next to limits that show quota left (or a limit of 0):
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
        numbers = (f"{fmt(ev['remaining'])} of {fmt(ev['max'])} daily API requests remaining"
                   if ev["max"] > 0 else f"a daily API request limit of {fmt(ev['max'])}")
        to_unknown(f, f"{f.seen.rstrip('.')}, yet {source} {numbers}.",
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
    return Diagnosis(result.system, result.cause, clean(result.explanation),
                     clean_value(result.evidence), result.transport_errors)


def _combine(system: str, parsed: list[Observation]) -> Diagnosis:
    classifier = CLASSIFIERS[system]()
    findings: list[Finding] = []
    for index, obs in _latest_per_endpoint(parsed):
        finding = classifier.classify(obs)
        finding.index = index
        finding.endpoint = getattr(obs, "endpoint", None)
        if isinstance(obs, HttpObservation):
            finding.status = obs.status
            finding.error_page = is_html(obs)
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


def cause_explanation(cause_id: str, evidence: Mapping | None = None,
                      language: str | None = None) -> str:
    """The plain-words explanation of a catalogue cause or of connected/unknown/timeout/
    unavailable, for a customer: its variant whose evidence is present (a status page's
    variant only for an outage), without the raw signals a diagnosis adds. Raises KeyError
    for anything else. ``language`` (``"es"``): in that language's catalogue texts (English
    is catalogue.yaml's; a language without a catalogue file raises RulesError)."""
    outage = load_rules().causes[cause_id].rank == 0
    return _explain(cause_id, dict(evidence or {}),
                    () if outage else ("status_indicator", "trust_status"), language)[0]
