"""What the router returns: a :class:`Route` (a guide, step and cause, a question, or "no guide
fits") with the other flows that may fit (:class:`Alternative`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Alternative:
    """Another flow that may fit, with its confidence (0–1)."""

    flow: str
    title: str
    confidence: float

    def to_json(self) -> dict:
        return {"flow": self.flow, "title": self.title, "confidence": self.confidence}


@dataclass(frozen=True)
class Route:
    """Where a text leads. ``flow`` is None for a question (``question`` set) or when no
    guide fits (both None); ``step`` is the step to open (the flow's start unless a cause is
    known); ``message`` is one sentence for the customer; ``signal`` the vendor code
    recognised, if any."""

    flow: str | None
    step: str | None
    cause: str | None
    confidence: float
    question: str | None
    message: str
    alternatives: tuple[Alternative, ...] = ()
    signal: str | None = None

    def to_json(self) -> dict:
        """``{"flow", "step", "cause", "confidence", "question", "message", "signal",
        "alternatives": [{"flow", "title", "confidence"}]}``."""
        return {"flow": self.flow, "step": self.step, "cause": self.cause,
                "confidence": self.confidence, "question": self.question,
                "message": self.message, "signal": self.signal,
                "alternatives": [a.to_json() for a in self.alternatives]}
