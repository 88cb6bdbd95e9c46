"""Free text → the guide, step and cause that fit it, or a question, or "no guide fits".

In order (:meth:`Router.route`):

1. **Vendor signals** (:mod:`.signals`): a vendor code (HRESULT, errorCode, Fault code, OAuth
   error) names its system and, through the diagnosis rules, its cause; the route opens the
   step of the flow that handles that cause. A code several systems use (``invalid_grant``)
   is settled by the system the text names, else asked. Wording alone (a vendor's message
   without a code) counts when the text names the system, or when it reads like a pasted
   message (6 words or more) and the words point nowhere else.
2. **Words**: BM25 (bm25s) over each flow's own text — names of its system, keywords, synonyms
   and cause phrases (routing data), title, summary, causes, steps and answers — in three
   fields weighted 3 : 1.5 : 0.5 (names, terms, text); a term found in every flow counts in
   the text field only. Typos are corrected first (:mod:`.text`). A cause is named when one
   of the guide's cause phrases matches and no other cause's does as well.
3. **Never a guess**: no evidence, another product named (Xero, Shopify, …) → no guide fits;
   two flows within 60 % of each other, or a name several flows share ("quickbooks") → a
   clarifying question; trouble words without any system ("connection error") → which
   connection is it?

``confidence`` is 0–1: 0.95 for a code, 0.85 for a vendor message with its system named,
0.7 for one without; from words, the top flow's share of the scores times its strength (its
score ÷ that of one distinctive name, at most 1). Below :attr:`Router.CONFIDENT` the router
asks instead of answering.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bm25s
from markupsafe import Markup

from ..flow import Flow, Step
from .answers import AnswerMatch, match_answer
from .clauses import Clauses
from .routes import Alternative, Route
from .schema import RoutingData
from .signals import MAX_CHARS, Signal, find_signals
from .text import Analyser, contains, words

_WEIGHTS = {"names": 3.0, "terms": 1.5, "text": 0.5}


@dataclass
class _Evidence:
    scores: dict[str, float]
    curated: dict[str, float]       # the part from names, terms and phrases (not the text)
    named: set[str]                 # flows whose system the text names
    family: list                    # families whose shared name the text uses
    other_product: bool
    trouble: bool
    word_count: int
    terms: list[str] = field(default_factory=list)


def _joined(phrase: tuple[str, ...]) -> str:
    """One index token for a whole phrase."""
    return "_".join(phrase)


def _plain(html: Markup | str) -> str:
    return Markup(html).striptags() if html else ""


class Router:
    """Routes free text over a set of flows with their routing data. Build once; thread-safe
    to use (it only reads)."""

    CONFIDENT = 0.5       # below: ask rather than answer
    AMBIGUOUS = 0.6       # a second flow scoring this share of the first makes it a question
    PASTED_WORDS = 6      # a vendor message this long without its system named still counts
    STRONG = 0.75         # evidence from names, terms and phrases, in distinctive names, that
    #                       can stand alone: a name (1), or two distinctive terms (2 × 0.5)
    PHRASE_BONUS = 0.5    # per word beyond the first of a matched phrase, in distinctive names

    def __init__(self, flows: dict[str, Flow], data: RoutingData,
                 also: dict[str, Flow] | None = None):
        """``flows`` in the language of ``data`` (their titles are shown); ``also``: the same
        flows in their own language, whose text is indexed too (a Spanish message often
        carries English words: "el token expired", "sync")."""
        self.flows = flows
        self.data = data
        self.language = data.language
        self.ids = list(flows)
        common = data.common
        texts = {fid: self._flow_texts(flow) for fid, flow in flows.items()}
        for fid, flow in (also or {}).items():
            if fid in texts and flow is not flows[fid]:
                texts[fid]["text"] += self._flow_texts(flow)["text"]
        phrase_texts = [p for w in data.flows.values()
                        for p in (*w.names, *w.synonyms,
                                  *(q for c in w.causes.values() for q in c.phrases))]
        family_names = [n for f in common.families for n in f.names]
        vocabulary = [t for parts in texts.values() for group in parts.values() for t in group]
        vocabulary += phrase_texts + family_names + common.other_products
        self.analyser = Analyser(vocabulary, common.stop_words, keep=common.keep_words,
                                 language=data.language)
        a = self.analyser
        docs = {name: [[t for text in texts[fid][name] for t in a.terms(text, correct=False)]
                       for fid in self.ids] for name in _WEIGHTS}
        # a name counts whole: "sf org" names Salesforce, "org" alone does not
        self._name_phrases = {a.phrase(n) for fid in self.ids for n in texts[fid]["names"]}
        docs["names"] = [[_joined(a.phrase(n)) for n in texts[fid]["names"]] for fid in self.ids]
        in_all = set.intersection(*(set(d) for d in docs["text"])) if docs["text"] else set()
        for name in ("names", "terms"):   # distinctive terms only, each counted once
            docs[name] = [sorted(set(d) - in_all) for d in docs[name]]
        for name in docs:   # bm25s needs a token in every document
            docs[name] = [d or ["\x00"] for d in docs[name]]
        self._index = {}
        for name, corpus in docs.items():
            # names and terms are sets: their length says nothing; the text's length does
            index = bm25s.BM25(k1=1.2, b=0.75 if name == "text" else 0.0)
            index.index(corpus, show_progress=False)
            self._index[name] = (index, {t for d in corpus for t in d})
        # the score of one name term that only one flow has: "strong" evidence
        unique = [t for d in docs["names"] for t in d
                  if sum(t in other for other in docs["names"]) == 1]
        names_index = self._index["names"][0]
        self._reference = _WEIGHTS["names"] * (
            float(names_index.get_scores(unique[:1]).max()) if unique else 1.0)
        self._names = {fid: [a.phrase(n) for n in data.flows[fid].names]
                       for fid in self.ids if fid in data.flows}
        self._families = [(f, [a.phrase(n) for n in f.names]) for f in common.families]
        self._causes = {fid: {cid: [a.phrase(p) for p in c.phrases]
                              for cid, c in data.flows[fid].causes.items()}
                        for fid in self.ids if fid in data.flows}
        self._phrases = {fid: [a.phrase(p) for p in (*texts[fid]["names"], *texts[fid]["terms"])]
                         for fid in self.ids}
        self._other = [a.phrase(p) for p in common.other_products]
        self._clauses = Clauses(
            a, common,
            names={tuple(words(n)) for fid in self.ids for n in texts[fid]["names"]}
            | {tuple(words(n)) for f in common.families for n in f.names},
            causes=[p for causes in self._causes.values() for ps in causes.values() for p in ps],
            leads=self._leads)
        self._by_system = {}
        for fid, flow in flows.items():
            self._by_system.setdefault(flow.system, fid)

    # --- building ---------------------------------------------------------------------------

    def _flow_texts(self, flow: Flow) -> dict[str, list[str]]:
        words_of = self.data.flows.get(flow.id)
        steps = flow.steps.values()
        return {
            "names": list(words_of.names) if words_of else [],
            "terms": [*flow.keywords, *(words_of.synonyms if words_of else ()),
                      *(p for c in (words_of.causes.values() if words_of else ())
                        for p in c.phrases)],
            "text": [flow.title, flow.summary,
                     *(f"{c.title} {_plain(c.detail_html)}" for c in flow.causes.values()),
                     *(f"{s.title} {_plain(s.body_html)}" for s in steps),
                     *(a.label for s in steps if not s.is_probe for a in s.answers)],
        }

    # --- helpers ----------------------------------------------------------------------------

    def cause_step(self, flow_id: str, cause: str | None) -> str:
        """The step of ``flow_id`` that handles ``cause``: where a probe step's outcome for it
        leads (the start's first), else the first step that lists it in ``causes`` (a step
        with answers before an end), else the flow's start."""
        flow = self.flows[flow_id]
        if cause:
            start = flow.steps[flow.start]
            probes = [start, *(s for s in flow.steps.values() if s.is_probe and s is not start)]
            for probe in probes:
                answer = probe.answer(cause) if probe.is_probe else None
                if answer is not None:
                    return answer.branches[0].to
            listing = [s for s in flow.steps.values() if cause in {c.id for c in s.causes}]
            listing.sort(key=lambda s: s.is_end)
            if listing:
                return listing[0].id
        return flow.start

    def _recognised(self, flow_id: str, cause: str) -> str:
        from ..probes.diagnosis import cause_title
        words_of = self.data.flows.get(flow_id)
        if words_of and cause in words_of.causes:
            return words_of.causes[cause].recognised
        return cause_title(cause) + "."

    def _matches(self, phrases: list[tuple[str, ...]], terms: list[str]) -> int:
        """The number of terms of the longest of ``phrases`` that ``terms`` contains."""
        return max((len(p) for p in phrases if contains(terms, p)), default=0)

    def _evidence(self, text: str) -> _Evidence:
        a = self.analyser
        terms = a.terms(text)
        scores = dict.fromkeys(self.ids, 0.0)
        curated = dict.fromkeys(self.ids, 0.0)
        names = [_joined(p) for p in self._name_phrases if contains(terms, p)]
        for name, (index, known) in self._index.items():
            query = [t for t in dict.fromkeys(names if name == "names" else terms) if t in known]
            if query:
                for fid, score in zip(self.ids, index.get_scores(query), strict=True):
                    scores[fid] += _WEIGHTS[name] * float(score)
                    if name != "text":
                        curated[fid] += _WEIGHTS[name] * float(score)
        for fid, phrases in self._phrases.items():
            # words that come as one of the flow's phrases ("user token") say more than each
            # word alone
            bonus = self.PHRASE_BONUS * self._reference * sum(
                len(p) - 1 for p in set(phrases) if len(p) > 1 and contains(terms, p))
            scores[fid] += bonus
            curated[fid] += bonus
        named = {fid for fid, phrases in self._names.items() if self._matches(phrases, terms)}
        family = [f for f, phrases in self._families if self._matches(phrases, terms)]
        bag = set(words(text))
        return _Evidence(scores=scores, curated=curated, named=named, family=family,
                         other_product=bool(self._matches(self._other, terms)),
                         trouble=self._clauses.troubled(bag, terms),
                         word_count=len(words(text)), terms=terms)

    def _leads(self, text: str) -> tuple[str | None, set[str]]:
        """The flow ``text``'s names, terms and phrases lead to most (None: none), and the
        flows whose systems it names."""
        ev = self._evidence(text)
        top = max(ev.curated, key=ev.curated.get, default=None)
        return (top if top is not None and ev.curated[top] else None), ev.named

    def _alternatives(self, confidences: dict[str, float], exclude: str | None = None
                      ) -> tuple[Alternative, ...]:
        ranked = sorted(((c, fid) for fid, c in confidences.items() if fid != exclude and c > 0),
                        reverse=True)
        return tuple(Alternative(fid, self.flows[fid].title, round(c, 2)) for c, fid in ranked)

    def _ask(self, question: str, candidates: list[str], confidences: dict[str, float],
             confidence: float | None = None) -> Route:
        if confidence is None:
            confidence = max((confidences.get(f, 0.0) for f in candidates), default=0.0)
        alternatives = tuple(
            Alternative(fid, self.flows[fid].title, round(confidences.get(fid, 0.0), 2))
            for fid in sorted(candidates, key=lambda f: -confidences.get(f, 0.0)))
        return Route(None, None, None, round(confidence, 2), question, question, alternatives)

    def _question_for(self, candidates: list[str]) -> str:
        for family in self.data.common.families:
            if set(candidates) <= set(family.flows):
                return family.question
        return self.data.common.question_any

    def _no_guide(self) -> Route:
        return Route(None, None, None, 0.0, None, self.data.common.no_guide)

    # --- routing ----------------------------------------------------------------------------

    def _from_signals(self, signals: list[Signal], ev: _Evidence,
                      confidences: dict[str, float]) -> Route | None:
        family_flows = {fid for f in ev.family for fid in f.flows}
        mentioned = ev.named | family_flows
        for by_code in (True, False):
            found = [s for s in signals if s.by_code == by_code and s.system in self._by_system]
            if not found:
                continue
            flows = list(dict.fromkeys(self._by_system[s.system] for s in found))
            if len(flows) > 1 and mentioned & set(flows):
                flows = [f for f in flows if f in mentioned]
            if len(flows) > 1:
                named = [f for f in flows if f in ev.named]
                flows = named if len(named) == 1 else flows
            if len(flows) > 1:
                if by_code:
                    return self._ask(self._question_for(flows), flows,
                                     dict.fromkeys(flows, 0.5))
                continue
            flow_id = flows[0]
            if not by_code:
                if flow_id in mentioned:
                    confidence = 0.85
                elif (not mentioned and not ev.other_product
                      and ev.word_count >= self.PASTED_WORDS
                      and max(confidences, key=confidences.get) == flow_id
                      or not any(confidences.values())):
                    confidence = 0.7
                else:
                    continue
            else:
                confidence = 0.95 if len(set(s.system for s in found)) == 1 else 0.9
            mine = [s for s in found if self._by_system[s.system] == flow_id]
            best = next((s for s in mine if s.cause), mine[0])
            said = self._word_cause(flow_id, ev.terms)
            if not by_code and ev.word_count < self.PASTED_WORDS and said \
                    and said != best.cause:
                # a few words of the customer's own, not a vendor message: the guide's more
                # specific phrase wins ("refresh token expired" over "token expired")
                best = Signal(best.system, said, None, False)
            said_as = self.data.common.messages
            shown = best.label or said_as.this_message
            if best.cause:
                message = said_as.recognised.format(
                    signal=shown, cause=self._recognised(flow_id, best.cause))
            else:
                message = said_as.recognised_open.format(signal=shown)
                confidence = min(confidence, 0.9)
            confidences = {**confidences, flow_id: confidence}
            return Route(flow_id, self.cause_step(flow_id, best.cause), best.cause,
                         confidence, None, message,
                         self._alternatives(confidences, exclude=flow_id), best.label)
        return None

    def _confidences(self, ev: _Evidence) -> dict[str, float]:
        total = sum(ev.curated.values())
        if total <= 0:
            return dict.fromkeys(self.ids, 0.0)
        return {fid: (s / total) * min(1.0, s / self._reference)
                for fid, s in ev.curated.items()}

    def route(self, text: str) -> Route:
        """Where ``text`` (a description or a pasted error) leads. Looks at the first
        MAX_CHARS characters; never raises for any text (empty text: no guide fits)."""
        text = text[:MAX_CHARS]
        kept = self._clauses.kept_text(text)
        ev = self._evidence(kept)
        confidences = self._confidences(ev)
        found = self._from_signals(find_signals(kept), ev, confidences)
        if found is not None:
            return found
        if ev.other_product and not ev.named and not ev.family:
            return self._no_guide()
        ranked = sorted(self.ids, key=lambda f: -ev.scores[f])
        if len(ev.named) == 1 and all(ev.named <= set(f.flows) for f in ev.family):
            # one system named (its family's name aside): the text is about that system,
            # whatever words it shares with others ("sfdc refresh token expired")
            only = next(iter(ev.named))
            ranked = [only] + [f for f in ranked if f != only]
            ev.curated = {f: c if f == only else 0.0 for f, c in ev.curated.items()}
            confidences = self._confidences(ev)
        top = ranked[0] if ranked else None
        strong = top is not None and ev.curated[top] >= self.STRONG * self._reference
        if not strong:
            if ev.family:
                flows = [f for fam in ev.family for f in fam.flows]
                return self._ask(ev.family[0].question, flows, confidences)
            if ev.trouble or any(ev.scores.values()):
                if ev.trouble:
                    return self._ask(self.data.common.question_any, self.ids, confidences)
            return self._no_guide()
        # the flows' own text ranks; only names, terms and phrases (curated) can make a
        # text ambiguous or settle it: a long message meets many words of a long body
        close = [f for f in ranked if f == top
                 or ev.curated[f] >= self.AMBIGUOUS * ev.curated[top]
                 or (f in ev.named and top in ev.named)]
        if len(close) > 1 or confidences[top] < self.CONFIDENT:
            candidates = close if len(close) > 1 else ranked
            return self._ask(self._question_for(candidates), candidates, confidences)
        if top in self._clauses.said_fine(text):
            # the text itself says that system is fine ("Salesforce is fine but the connector
            # isn't"): whatever else pointed to it, ask
            return self._ask(self.data.common.question_any, self.ids, confidences)
        cause = self._word_cause(top, ev.terms)
        said_as = self.data.common.messages
        if cause:
            message = said_as.sounds_like.format(cause=self._recognised(top, cause))
        else:
            message = said_as.guide.format(title=self.flows[top].title)
        return Route(top, self.cause_step(top, cause), cause, round(confidences[top], 2), None,
                     message, self._alternatives(confidences, exclude=top))

    def match_answer(self, step: Step, text: str) -> AnswerMatch:
        """The answer of ``step`` that free ``text`` means, or the ones to ask about (see
        :mod:`.answers`)."""
        return match_answer(step, text[:MAX_CHARS], self.analyser, self.data.common)

    def _word_cause(self, flow_id: str, terms: list[str]) -> str | None:
        """The cause of ``flow_id`` whose phrase matches best, if no other cause matches as
        well."""
        scored = sorted(((self._matches(p, terms), cid)
                         for cid, p in self._causes.get(flow_id, {}).items()), reverse=True)
        if not scored or scored[0][0] == 0 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
            return None
        return scored[0][1]
