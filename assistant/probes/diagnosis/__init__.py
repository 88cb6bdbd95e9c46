"""What the observations of one connection mean: ``diagnose(system, observations)``. (Pasted
error text is read into observations for these same rules by :mod:`assistant.routing.signals`.)

Pure functions: no I/O besides reading the packaged rules once. Each observation is classified
by its vendor's module (``desktop``, ``online``, ``salesforce``, sharing ``findings`` and
``parsing``) with the rules of ``rules/<system>.yaml`` into a finding (a recognised failure,
``connected``, an unrecognised signal, a transport error or supporting evidence only);
``combine`` then ranks the findings into one :class:`Diagnosis` (see its docstring for the
ranking and reconciliation).

Never confidently wrong: a 5xx is the vendor failing, so an error code documented for a
client-side cause under a 5xx gives the status's server-side cause or ``unknown`` with both
shown (``findings.Classifier.status_disagrees``).

Every text the diagnosis returns (explanation, evidence strings) is free of control characters.
"""

from ..observations import SYSTEMS
from .combine import cause_explanation, diagnose
from .result import OUTCOMES_EXTRA, SYSTEM_NAMES, Diagnosis, cause_title, causes_for

__all__ = ["SYSTEMS", "SYSTEM_NAMES", "OUTCOMES_EXTRA", "Diagnosis", "diagnose",
           "causes_for", "cause_title", "cause_explanation"]
