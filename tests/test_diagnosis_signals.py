"""Real signals of every catalogue cause beyond the shared sample: ``tests/fixtures/signals.yaml``
holds other wordings, casings, layouts, HRESULT forms, status codes and observation kinds, each
citing its public source. A case whose cause is ``unknown`` is ambiguous or outside the catalogue
and must never get a confident cause."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from assistant.probes.diagnosis import SYSTEMS, causes_for, diagnose
from assistant.probes.observations import normalise_hresult, parse_case

SIGNALS = Path(__file__).resolve().parent / "fixtures" / "signals.yaml"
CASES = yaml.safe_load(SIGNALS.read_text(encoding="utf-8"))


def _expected(case: dict) -> list[str]:
    return case["cause"] if isinstance(case["cause"], list) else [case["cause"]]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_signal_case(case):
    system, observations = parse_case(case)
    result = diagnose(system, observations)
    assert result.cause in _expected(case), result.explanation
    if result.cause not in ("connected", "unknown"):
        assert result.evidence.get("rule_source", "").startswith("http")
    json.dumps(result.to_json())


def test_signal_cases_are_well_formed_and_cover_the_catalogue():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    known = {c for s in SYSTEMS for c in causes_for(s)} | {"connected", "unknown"}
    for case in CASES:
        assert re.match(r"https?://\S+$", case["source"]), case["id"]
        assert set(_expected(case)) <= known, case["id"]
    reached = {c for case in CASES for c in _expected(case)}
    assert {c for s in SYSTEMS for c in causes_for(s)} <= reached
    assert {"connected", "unknown"} <= reached


@pytest.mark.parametrize("raw,hresult", [
    ("80040414", "0x80040414"),      # bare hex digits as logs print them, not decimal
    ("8004041a", "0x8004041A"),
    ("-2147220460", "0x80040414"),   # signed decimal (.NET COMException.HResult)
    ("2147746836", "0x80040414"),    # unsigned decimal
    (2147746836, "0x80040414"),
    ("0x80040414", "0x80040414"),
])
def test_hresult_forms(raw, hresult):
    assert normalise_hresult(raw) == hresult


def test_decimal_hresult_in_a_log_line_is_read_only_in_the_sdk_range():
    result = diagnose("quickbooks_desktop", [
        {"kind": "log_line", "text": "BeginSession failed: HRESULT = -2147220460"}])
    assert (result.cause, result.evidence["hresult"]) == (
        "quickbooks_desktop.modal_dialog_open", "0x80040414")
    # a number of the same size outside 0x8004xxxx is not an SDK HRESULT
    result = diagnose("quickbooks_desktop", [
        {"kind": "log_line", "text": "sync 2147483647 finished with status -2147467259"}])
    assert result.cause == "unknown" and "hresult" not in result.evidence
