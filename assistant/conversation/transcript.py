"""A session's path in words: each answer with its step's title and the answer's label, as
the wizard, the console, handoffs and the API show it. No Flask."""

from __future__ import annotations

from ..engine import CompiledFlow
from ..probes.diagnosis import cause_title
from ..store import TranscriptLine


def labelled(compiled: CompiledFlow, path: list[TranscriptLine]) -> list[dict]:
    """The path as plain dicts: ``position``, ``step``, ``step_title``, ``answer``,
    ``answer_label`` ("Checked automatically: …" for a live check's outcome),
    ``probe_check_id``, ``said`` (the free text the answer was chosen by, or None) and ``at``
    (ISO 8601)."""
    steps = compiled.flow.steps
    out = []
    for line in path:
        step = steps.get(line.from_step)
        answer = step.answer(line.answer) if step else None
        if step is not None and step.is_probe:
            try:
                label = f"Checked automatically: {cause_title(line.answer)}"
            except KeyError:  # an outcome the rules no longer know
                label = f"Checked automatically: {line.answer}"
        else:
            label = answer.label if answer else line.answer
        out.append({"position": line.position, "step": line.from_step,
                    "step_title": step.title if step else line.from_step,
                    "answer": line.answer, "answer_label": label,
                    "probe_check_id": line.probe_check_id, "said": line.said,
                    "at": line.at.isoformat() if hasattr(line.at, "isoformat") else str(line.at)})
    return out


def with_checks(lines: list[dict], checks) -> list[dict]:
    """``lines`` (from :func:`labelled`), a live check's line also carrying what it found
    (``check``: outcome, diagnosis, evidence, latency, time, connection) — never a secret
    (none is stored). ``checks`` is the :class:`~assistant.store.ProbeChecks` store."""
    for line in lines:
        check = checks.get(line["probe_check_id"]) if line.get("probe_check_id") else None
        if check is not None:
            line["check"] = {
                "connection_id": check.connection_id, "probe": check.probe,
                "outcome": check.outcome, "cause": check.cause, "title": check.title,
                "explanation": check.explanation, "evidence": check.evidence,
                "latency_ms": check.latency_ms,
                "at": (check.finished_at or check.started_at).isoformat()}
    return lines
