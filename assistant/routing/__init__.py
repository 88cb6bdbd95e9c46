"""Free text → guide, step and cause: vendor signals first (the diagnosis rules), then the
flows' own words (bm25s, typo-tolerant by rapidfuzz), never a guess below a threshold; and free
text as an answer inside a step. No Flask: the web layer and the CLI call it.

``load_router(flows, language)`` reads the routing data beside the flows (``routing/`` folders:
format in :mod:`.schema`, loading in :mod:`.data`) and returns a :class:`Router` for customers
writing in that language (English, or Spanish: Spanish words, stems and sentences);
``Router.route(text)`` gives a :class:`Route`; ``Router.match_answer(step, text)`` chooses a
step's answer from free text.
"""

from __future__ import annotations

from ..flow import Flow
from .answers import AnswerMatch
from .data import load_routing, routing_folders, routing_languages
from .router import Router
from .routes import Alternative, Route
from .schema import BASE_LANGUAGE, RoutingData
from .signals import Signal, find_signals

__all__ = ["AnswerMatch", "Alternative", "Route", "Router", "RoutingData", "Signal", "find_signals",
           "load_router", "load_routing", "routing_folders", "routing_languages"]


def load_router(flows: dict[str, Flow], language: str = BASE_LANGUAGE) -> Router:
    """A router over ``flows`` for customers writing in ``language`` (``"en"``, ``"es"``),
    with the routing data beside their files. For another language than the flows' own, the
    flows' translations (``NAME.es.yaml``) are indexed beside their own text and shown (titles),
    and that language's routing data is added (see :mod:`.data`).

    Raises FlowError when the routing data is broken, or has no words in ``language``."""
    data = load_routing(flows, routing_folders(flows), language)
    if language == BASE_LANGUAGE:
        return Router(flows, data)
    from ..flow.translate import load_translations, localize
    translations, _ = load_translations(flows)   # a refused file: that flow stays as it is
    shown = {fid: localize(flow, translations.get((fid, language)))
             for fid, flow in flows.items()}
    return Router(shown, data, also=flows)
