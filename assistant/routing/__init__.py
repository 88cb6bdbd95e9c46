"""Free text → guide, step and cause: vendor signals first (the diagnosis rules), then the
flows' own words (bm25s, typo-tolerant by rapidfuzz), never a guess below a threshold; and free
text as an answer inside a step. No Flask: the web layer and the CLI call it.

``load_router(flows)`` reads the routing data beside the flows (``routing/`` folders, see
:mod:`.data`) and returns a :class:`Router`; ``Router.route(text)`` gives a :class:`Route`;
``Router.match_answer(step, text)`` chooses a step's answer from free text.
"""

from __future__ import annotations

from ..flow import Flow
from .answers import AnswerMatch
from .data import RoutingData, load_routing, routing_folders
from .router import Alternative, Route, Router
from .signals import Signal, find_signals

__all__ = ["AnswerMatch", "Alternative", "Route", "Router", "RoutingData", "Signal", "find_signals",
           "load_router", "load_routing", "routing_folders"]


def load_router(flows: dict[str, Flow]) -> Router:
    """A router over ``flows`` with the routing data beside their files (FlowError when that
    data is broken)."""
    return Router(flows, load_routing(flows, routing_folders(flows)))
