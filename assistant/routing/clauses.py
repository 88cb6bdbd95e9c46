"""Trouble words and the clauses of a message that only say a system is fine.

"Salesforce works but QuickBooks Online keeps disconnecting" is about QuickBooks Online: the
router leaves out the clause before "but". :class:`Clauses` splits a message at the routing
data's contrast words (and at sentence ends), and leaves a clause out when

- it holds a healthy entry ("fine", "no problem", "funciona") and no trouble outside a
  healthy phrase ("no problem" holds "problem", but "no funciona" is not inside "funciona");
- the clause after it does not go on about the same system: one that says what is wrong
  before naming a system ("… fine | but suddenly stopped, Salesforce still ok") or that names
  none and whose words lead to no other system ("QBO logs in fine | but then freezes");
- and what stays still says what is wrong (a trouble word or a cause phrase). Otherwise a
  complaint in words no list holds ("QBO wasn't working, but Salesforce syncs") would leave
  the healthy system as the only one named: the whole text is kept, and the router asks
  rather than names the wrong guide.

Words for the work itself (``activity_words``: "sync") are trouble when nothing else is
said ("nothing is syncing" asks which connection) but not in a healthy clause ("Salesforce
sync works fine").
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .schema import CommonFile
from .text import Analyser, contains, words

Entry = tuple[frozenset[str], tuple[str, ...]]
"""A word-list entry: its words (accents removed) and its terms (stems; none for "won't")."""


def _inside(entry: Entry, other: Entry) -> bool:
    """True if ``entry``'s terms are among ``other``'s ("issue" in "no issues")."""
    return bool(entry[1]) and set(entry[1]) <= set(other[1])


def _at(said: list[str], i: int, phrases) -> bool:
    """True if one of ``phrases`` (tuples of words) starts at ``said[i]``."""
    return any(tuple(said[i:i + len(p)]) == p for p in phrases)


def found(entries: list[Entry], bag: set[str], terms: list[str]) -> list[Entry]:
    """The ``entries`` that the text whose words are ``bag`` and terms ``terms`` holds: an
    entry's words, or its terms in order ("failed" is found by the stem of "fail")."""
    return [(p, phrase) for p, phrase in entries
            if p <= bag or (phrase and contains(terms, phrase))]


class Clauses:
    """The routing data's trouble, activity, healthy and contrast words, read by
    ``analyser``; ``names``: every name of a system as words; ``causes``: every cause phrase
    as terms; ``leads``: for a text, the flow its words lead to most (or None) and the flows
    whose systems it names (the router's evidence)."""

    def __init__(self, analyser: Analyser, common: CommonFile, names: set[tuple[str, ...]],
                 causes: list[tuple[str, ...]],
                 leads: Callable[[str], tuple[str | None, set[str]]]):
        def entries(phrases: list[str]) -> list[Entry]:
            return [(frozenset(words(p)), analyser.phrase(p)) for p in phrases]

        self.analyser = analyser
        self.trouble = entries(common.problem_words)
        self.activity = entries(common.activity_words)
        self.healthy = entries(common.healthy_words)
        self.contrast = {w for p in common.contrast_words for w in words(p)}
        self.exception = [tuple(words(p)) for p in common.exception_words]
        self.names = names - {()}
        self.causes = causes
        self.leads = leads

    def troubled(self, bag: set[str], terms: list[str]) -> bool:
        """True if a text (words ``bag``, terms ``terms``) holds a trouble or activity word:
        with no system named, it asks which connection."""
        return bool(found(self.trouble + self.activity, bag, terms))

    def kept_text(self, text: str) -> str:
        """``text`` without the clauses that only say a system is fine; the rest as written
        (a vendor message keeps its punctuation)."""
        clauses: list[str] = []
        for sentence in re.finditer(r"[^.;!?\n]+[.;!?\n]*", text):
            start = sentence.start()
            for word in re.finditer(r"\S+", sentence.group(0)):
                first = words(word.group(0))
                at = sentence.start() + word.start()
                if first and first[0] in self.contrast and text[start:at].strip():
                    clauses.append(text[start:at])
                    start = at
            clauses.append(text[start:sentence.end()])
        kept = [clause for i, clause in enumerate(clauses)
                if not (self._healthy(clause)
                        and not (i + 1 < len(clauses) and self._continues(clause, clauses[i + 1])))]
        if not kept or len(kept) == len(clauses):
            return text
        rest = "".join(kept)
        return rest if self._complains(rest) else text

    def said_fine(self, text: str) -> set[str]:
        """The flows whose systems ``text`` says are fine, read in pieces (at sentence ends,
        commas, slashes, contrast and exception words): a healthy piece that names them and
        holds no cause phrase ("…, salesforce fine"; "only QBO works"), or one that starts
        with an exception word after a piece that says something is wrong ("everything is
        down | except QBO")."""
        pieces: list[list[str]] = []
        for part in re.split(r"[.;!?\n,/]+", text):
            said = words(part)
            start = 0
            for i in range(1, len(said)):
                if said[i] in self.contrast or _at(said, i, self.exception):
                    pieces.append(said[start:i])
                    start = i
            pieces.append(said[start:])
        fine: set[str] = set()
        before = ""
        for said in filter(None, pieces):
            piece = " ".join(said)
            if _at(said, 0, self.exception):
                is_fine = self._complains(before)
            else:  # a cause phrase in the piece says it is not fine ("a modal … click OK")
                is_fine = self._healthy(piece) and not self._complains(piece)
            if is_fine:
                fine |= self.leads(piece)[1]
            before = piece
        return fine

    def _healthy(self, clause: str) -> bool:
        """True if ``clause`` says a system is fine and nothing is wrong."""
        bag = set(words(clause))
        healthy = [h for h in self.healthy if h[0] <= bag]
        trouble = found(self.trouble, bag, self.analyser.terms(clause)) if healthy else []
        return bool(healthy) and all(any(_inside(t, h) for h in healthy) for t in trouble)

    def _continues(self, before: str, clause: str) -> bool:
        """True if ``clause`` goes on about the system of the clause ``before`` it: it says
        what is wrong before it names a system, or names none and its words lead to no other
        system's flow (not "Salesforce va bien | pero kickbooks online se desconecta")."""
        said = words(clause)
        first = next((i for i in range(len(said)) if _at(said, i, self.names)), None)
        if first is not None:
            return self._complains(" ".join(said[:first]))
        top, _ = self.leads(clause)
        return top is None or top in self.leads(before)[1]

    def _complains(self, text: str) -> bool:
        """True if ``text`` says something is wrong: a trouble word (not a word for the work
        itself) or a cause phrase of any flow. (A vendor code routes on the whole text.)"""
        bag, terms = set(words(text)), self.analyser.terms(text)
        return bool(found(self.trouble, bag, terms)
                    or any(contains(terms, phrase) for phrase in self.causes))
