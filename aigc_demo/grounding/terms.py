"""The checks' vocabularies and messages, read once from ``assets/grounding/terms.yaml``.

A concept (``nodule``, ``bearing``, ``refund`` ...) has patterns in both languages; :func:`find`
says where a text mentions which concepts, so an input in one language grounds an output in
the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import yaml

TERMS_FILE = Path(__file__).resolve().parents[2] / "assets" / "grounding" / "terms.yaml"


@dataclass(frozen=True)
class Mention:
    concept: str
    text: str
    start: int
    end: int


def _pattern(word: str) -> str:
    """ASCII patterns match at a word start, case-insensitively; others as written."""
    return rf"(?<![A-Za-z0-9]){word}" if word.isascii() and word[:1].isalnum() else word


@lru_cache(maxsize=1)
def data() -> dict[str, Any]:
    with open(TERMS_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@lru_cache(maxsize=None)
def concepts(section: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """``(concept, one regex of all its patterns)`` for a section of the file."""
    return tuple((name, re.compile("|".join(_pattern(w) for w in words), re.IGNORECASE))
                 for name, words in data()[section].items())


@lru_cache(maxsize=None)
def cues(section: str) -> re.Pattern[str]:
    """One regex of every cue of a section (both languages)."""
    words = [w for group in data()[section].values() for w in group]
    return re.compile("|".join(_pattern(w) for w in words), re.IGNORECASE)


@lru_cache(maxsize=None)
def _scanners(section: str) -> tuple[re.Pattern[str], ...]:
    """The section's concepts in two regexes (one named group per concept): the word-start
    patterns behind one shared look-behind, and the others behind a look-ahead for their first
    characters (when they all start with a plain one). Two fast passes over a text."""
    words: dict[str, list[str]] = {}
    others: dict[str, list[str]] = {}
    for name, group in data()[section].items():
        for word in group:
            (words if word.isascii() and word[:1].isalnum() else others).setdefault(name, []).append(word)
    scanners = []
    starts = {w[0] for group in others.values() for w in group}
    first = f"(?=[{''.join(re.escape(c) for c in sorted(starts))}])" if starts and not starts & set("\\([.^$*+?{|") else ""
    for table, prefix, flags in ((words, "(?<![A-Za-z0-9])", re.IGNORECASE), (others, first, 0)):
        if table:
            body = "|".join(f"(?P<{name}>{'|'.join(group)})" for name, group in table.items())
            scanners.append(re.compile(f"{prefix}(?:{body})", flags))
    return tuple(scanners)


def find(section: str, text: str) -> list[Mention]:
    """Every mention of the section's concepts in ``text``, in order, without overlaps."""
    found = sorted((Mention(m.lastgroup or "", m.group(0), m.start(), m.end())
                    for scanner in _scanners(section) for m in scanner.finditer(text)),
                   key=lambda m: (m.start, -(m.end - m.start)))
    out: list[Mention] = []
    for mention in found:
        if not out or mention.start >= out[-1].end:
            out.append(mention)
    return out


@lru_cache(maxsize=512)  # the inputs of a run are asked again for every output
def mentioned(section: str, text: str) -> frozenset[str]:
    """The concepts of a section that ``text`` mentions."""
    return frozenset(m.concept for m in find(section, text))


def reason(kind: str, industry: str, **values: Any) -> dict[str, str]:
    """The bilingual plain-language reason of a flag; a value given as ``{"en", "zh"}`` is
    put in each language's reason in that language."""
    source = data()["sources"].get(industry, {"en": "the inputs", "zh": "输入"})
    template = data()["reasons"][kind]
    return {language: template[language].format(
                source=source[language],
                **{k: v[language] if isinstance(v, Mapping) else v for k, v in values.items()})
            for language in ("en", "zh")}
