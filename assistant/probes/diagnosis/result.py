"""The answer of a diagnosis (:class:`Diagnosis`) and the catalogue's titles."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..observations import parse_system
from ..ruleset import load_catalogue_texts, load_rules

OUTCOMES_EXTRA = ("connected", "unknown", "timeout", "unavailable")

SYSTEM_NAMES = {"quickbooks_desktop": "QuickBooks Desktop",
                "quickbooks_online": "QuickBooks Online", "salesforce": "Salesforce"}


@dataclass(frozen=True)
class Diagnosis:
    """The meaning of one connection's observations.

    ``cause`` is ``connected``, a catalogue cause id (``salesforce.session_expired``) or
    ``unknown``; ``explanation`` is plain words for a customer with the numbers seen;
    ``evidence`` holds JSON-safe facts (endpoint, status, error_code, hresult, used/max,
    ``rule_source`` and ``rule_entry`` of the rule that named the cause, ...).
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


def cause_title(cause_id: str, language: str | None = None) -> str:
    """Short plain title of a catalogue cause or of connected/unknown/timeout/unavailable, in
    ``language`` (None: catalogue.yaml's English). Raises KeyError for anything else."""
    return (load_catalogue_texts(language) if language else load_rules().causes)[cause_id].title
