"""The prompt blocklist: terms a prompt may not contain, found however they are spelled.

Text and terms are both reduced to a *skeleton* before they are compared: Unicode NFKC
(full-width and styled letters), case folding, accents dropped, look-alike letters from other
scripts mapped to Latin (Cyrillic ``о``, Greek ``ο``...), digits and symbols used for letters
mapped back (``b0mb``, ``m@ke``), and every separator removed (spaces, hyphens, dots,
underscores, zero-width characters), so ``make-a-bomb``, ``makeabomb``, ``m a k e a b o m b``
and ``制 造 炸 弹`` all read as the listed term.

Latin terms still match whole words only ("arms" does not block "charms", "nerve agent" does
not block "nerve agents"); a short word (four letters or fewer) spelled with separators must
have one between every letter ("c s a m"), so that "vitamin C. Sam" is not read as "csam".
Terms in other scripts (e.g. Chinese) match anywhere.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from aigc_demo.core.types import ValidationError

# Letters of other scripts that look like Latin ones (after case folding).
CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ӏ": "i", "ь": "b",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ω": "w", "μ": "u",
    # Latin look-alikes that NFKD does not take apart
    "ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "ȷ": "j", "ɡ": "g", "ɑ": "a", "ǝ": "e", "ɪ": "i",
}  # fmt: skip
DIGITS_FOR_LETTERS = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b", "9": "g"}
SYMBOLS_FOR_LETTERS = {"@": "a", "$": "s", "!": "i", "|": "i", "€": "e", "£": "l"}  # only between letters
FOLDED = {"l": "i"}  # l, 1, | and I look alike: they are one letter in the skeleton
SHORT_WORD = 4


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def skeleton(text: str) -> tuple[str, list[bool]]:
    """The comparable letters of ``text``, and for each whether a separator came before it."""
    chars = [c for c in unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
             if unicodedata.category(c) != "Mn"]
    letters: list[str] = []
    gaps: list[bool] = []
    gap = True
    for i, ch in enumerate(chars):
        ch = CONFUSABLES.get(ch, ch)
        if ch in SYMBOLS_FOR_LETTERS and 0 < i < len(chars) - 1 and chars[i - 1].isalnum() and chars[i + 1].isalnum():
            ch = SYMBOLS_FOR_LETTERS[ch]
        if not ch.isalnum():
            gap = True
            continue
        for letter in unicodedata.normalize("NFKC", ch):  # e.g. a mapped ligature
            letter = DIGITS_FOR_LETTERS.get(letter, letter)
            letter = FOLDED.get(letter, letter)
            letters.append(letter)
            gaps.append(gap)
            gap = False
    return "".join(letters), gaps


@dataclass(frozen=True)
class Term:
    """A listed term as written, and its skeleton split into words."""

    text: str
    words: tuple[str, ...]
    latin: bool = field(init=False)

    def __post_init__(self) -> None:
        joined = "".join(self.words)
        object.__setattr__(self, "latin", bool(joined) and _is_latin(joined[0]) and _is_latin(joined[-1]))

    @property
    def letters(self) -> str:
        return "".join(self.words)

    def found_in(self, letters: str, gaps: list[bool]) -> bool:
        target = self.letters
        start = letters.find(target)
        while start >= 0:
            if self._fits(letters, gaps, start):
                return True
            start = letters.find(target, start + 1)
        return False

    def _fits(self, letters: str, gaps: list[bool], start: int) -> bool:
        end = start + len(self.letters)
        if not self.latin:
            return True
        if start > 0 and not gaps[start] and _is_latin(letters[start - 1]):
            return False  # glued to the word before: "charms"
        if end < len(letters) and not gaps[end] and _is_latin(letters[end]):
            return False  # glued to the word after: "agents"
        position = start
        for word in self.words:
            inner = gaps[position + 1: position + len(word)]
            if len(word) <= SHORT_WORD and any(inner) and not all(inner):
                return False  # "C. Sam" is not "csam"; "c s a m" and "c-s-a-m" are
            position += len(word)
        return True


def _term(line: str) -> Term | None:
    text = " ".join(unicodedata.normalize("NFKC", line).casefold().split())
    words = tuple(skeleton(word)[0] for word in re.split(r"[\s\-_.·]+", text))
    words = tuple(w for w in words if w)
    return Term(text, words) if words else None


@dataclass(frozen=True)
class Blocklist:
    """Terms a prompt may not contain (see the module docstring for how they are matched)."""

    terms: tuple[str, ...] = ()
    source: str = ""
    _compiled: tuple[Term, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_lines(cls, lines: Iterable[str], source: str = "") -> "Blocklist":
        compiled: list[Term] = []
        for line in lines:
            term = _term(line.split("#", 1)[0])
            if term and term.text not in {t.text for t in compiled}:
                compiled.append(term)
        return cls(tuple(t.text for t in compiled), source, tuple(compiled))

    @classmethod
    def load(cls, path: Path | str | None) -> "Blocklist":
        """The list in ``path`` (one term per line, ``#`` starts a comment); empty for None."""
        if path is None:
            return cls()
        path = Path(path)
        return cls.from_lines(path.read_text(encoding="utf-8").splitlines(), str(path))

    def find(self, text: str) -> str | None:
        """The first listed term in ``text``, or None."""
        if not self._compiled or not text:
            return None
        letters, gaps = skeleton(text)
        for term in self._compiled:
            if term.found_in(letters, gaps):
                return term.text
        return None

    def check(self, text: str, field_name: str = "prompt") -> None:
        """Raise ValidationError naming ``field_name`` when ``text`` contains a listed term."""
        term = self.find(text)
        if term is not None:
            where = f" (blocklist {Path(self.source).name})" if self.source else ""
            raise ValidationError(
                field_name,
                f"contains the blocked term '{term}'{where}; this demo does not generate such "
                "content. Please rephrase.",
            )
