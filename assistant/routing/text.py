"""Words from text, the same way for customers' messages and for the flows and routing data.

``words(text)``: lower case, accents and apostrophes removed ("won't" → ``wont``, "caducó" →
``caduco``) and a possessive's "'s" with them ("QBO's" → ``qbo``), split on anything but letters
and digits.

:class:`Analyser` turns words into *terms*: two words that make one known word are joined
("sales force" → ``salesforce``), stop words (English and Spanish, from bm25s, plus the routing
data's) are dropped, a word that is not known is corrected to the closest known one
(Damerau-Levenshtein by rapidfuzz: one edit for words of 4–9 letters, two from 10, so
"conect" → ``connect``, "salesfroce" → ``salesforce``; words of 4 letters or fewer are neither
corrected nor corrected into; a word of the language is not a typo, so "might" stays
``might``, not ``night``: see :func:`language_words`) and every word is stemmed by the
Snowball stemmer of the analyser's language (PyStemmer: English, or Spanish for customers
writing Spanish, so that "desconectó", "desconectado" and "desconecta" are one term). Index and
query of one router use one analyser, so English words in a Spanish message still meet the
flows' English words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_SPANISH
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein
from spellchecker import SpellChecker

_WORD = re.compile(r"[a-z0-9]+")
_APOSTROPHE = re.compile(r"['\u2019\u02bc`]")
# "QBO's", "Salesforce's": a possessive names the same thing as the bare word
_POSSESSIVE = re.compile(r"['\u2019\u02bc`]s\b")
# words that are not corrected: numbers, codes, and short words (too many near neighbours)
_MIN_CORRECTED = 4


def words(text: str) -> list[str]:
    """``text`` as lower-case ASCII words (accents, apostrophes and a possessive's "'s"
    removed)."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _WORD.findall(_APOSTROPHE.sub("", _POSSESSIVE.sub("", text)))


def _normalised(items: Iterable[str]) -> set[str]:
    return {w for item in items for w in words(item)}


# the Snowball stemmer of each language the routing speaks (ISO 639-1 → PyStemmer's name)
STEMMERS = {"en": "english", "es": "spanish"}

# A word seen at least this often per million words of the language is a word of it.
# Measured on pyspellchecker 0.9.1's lists: 38,718 English and 22,838 Spanish words kept
# (~4 MB each as a set); common misspellings ("recieve", "conection", "contrasena") are not in them.
LANGUAGE_WORD_PER_MILLION = 0.1


@lru_cache(maxsize=len(STEMMERS))
def language_words(language: str) -> frozenset[str]:
    """The words of ``language`` (a key of :data:`STEMMERS`) as :func:`words` writes them:
    those of pyspellchecker's word-frequency list (built from OpenSubtitles and cleaned; see
    https://pyspellchecker.readthedocs.io) seen at least :data:`LANGUAGE_WORD_PER_MILLION`
    times per million words. Loaded once per process (English 0.35 s, Spanish 0.19 s)."""
    frequency = SpellChecker(language=language, distance=1).word_frequency
    least = frequency.total_words * LANGUAGE_WORD_PER_MILLION / 1e6
    return frozenset(w for word, count in frequency.items() if count >= least
                     for w in words(word))


@lru_cache(maxsize=len(STEMMERS))
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(STEMMERS[language])


class Analyser:
    """Terms of a text against a known vocabulary (the words of the flows and routing data).

    ``stop_words`` are dropped on top of bm25s's English and Spanish lists; ``keep`` are words
    never dropped (words a phrase needs, like "not" in "not running"); ``language``: the
    stemmer's (a key of :data:`STEMMERS`; KeyError for another). Words of
    ``language`` and of English (the flows' own; a Spanish message carries English words) are
    never corrected."""

    def __init__(self, vocabulary: Iterable[str], stop_words: Iterable[str] = (),
                 keep: Iterable[str] = (), language: str = "en"):
        self.language = language
        _stemmer(language)   # an unknown language fails here, not at the first message
        keep_words = _normalised(keep)
        self.stop = (_normalised(STOPWORDS_EN_PLUS) | _normalised(STOPWORDS_SPANISH)
                     | _normalised(stop_words)) - keep_words
        self.known = _normalised(vocabulary) - self.stop
        # short words have too many near neighbours to be corrected into ("want" → "wont")
        self._choices = sorted(w for w in self.known if len(w) > _MIN_CORRECTED)
        # the word lists are shared by every analyser of the process (~4 MB each)
        self._languages = tuple(language_words(code) for code in dict.fromkeys((language, "en")))

    def correct(self, word: str) -> str:
        """The known word closest to ``word`` (``word`` itself when it is known, a word of
        the language, short, contains a digit, or nothing is close enough)."""
        if (word in self.known or word in self.stop or len(word) < _MIN_CORRECTED
                or not word.isalpha() or any(word in known for known in self._languages)):
            return word
        edits = 1 if len(word) < 10 else 2
        found = process.extractOne(word, self._choices, scorer=DamerauLevenshtein.distance,
                                   score_cutoff=edits)
        return found[0] if found else word

    def words(self, text: str, *, correct: bool = True) -> list[str]:
        """The text's words, known compounds joined, stop words dropped, typos corrected."""
        raw = words(text)
        out: list[str] = []
        i = 0
        while i < len(raw):
            if i + 1 < len(raw) and raw[i] + raw[i + 1] in self.known \
                    and not (raw[i] in self.known and raw[i + 1] in self.known):
                out.append(raw[i] + raw[i + 1])
                i += 2
                continue
            if raw[i] not in self.stop:
                out.append(self.correct(raw[i]) if correct else raw[i])
            i += 1
        return out

    def terms(self, text: str, *, correct: bool = True) -> list[str]:
        """Stems of :meth:`words`: what is indexed and matched."""
        return _stemmer(self.language).stemWords(self.words(text, correct=correct))

    def phrase(self, text: str) -> tuple[str, ...]:
        """A data phrase as the terms a text must contain, in this order, to match it."""
        return tuple(self.terms(text, correct=False))


def contains(terms: list[str], phrase: tuple[str, ...], gap: int = 2) -> bool:
    """True if ``phrase``'s terms occur in ``terms`` in order, with at most ``gap`` other
    terms between two of them ("api request limit" contains "api limit")."""
    if not phrase:
        return False
    starts = [i for i, t in enumerate(terms) if t == phrase[0]]
    for start in starts:
        at, ok = start, True
        for term in phrase[1:]:
            window = terms[at + 1:at + 2 + gap]
            if term not in window:
                ok = False
                break
            at = at + 1 + window.index(term)
        if ok:
            return True
    return False
