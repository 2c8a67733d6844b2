"""Plain checks on generated text that catch what small models do wrong: echoing the prompt
back, and looping. Code, not a model: fast, explainable, the same in English and Chinese."""

from __future__ import annotations

import re
from collections import Counter

ECHO_CHARS = 60  # a span this long copied from the prompt is an echo, not an answer
LOOP_REPEATS = 3  # the same run of words this often is a loop
FLAG = "⚠️ quality:"  # how a flag starts in a result's notes (and so in its record)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\s\u3400-\u9fff\uf900-\ufaff]+")


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def echoed_span(prompt: str, text: str, span: int = ECHO_CHARS) -> str | None:
    """The first ``span``-character stretch of ``text`` found word for word in ``prompt``."""
    prompt, text = _squeeze(prompt), _squeeze(text)
    for start in range(0, max(len(text) - span + 1, 0)):
        window = text[start : start + span]
        if window in prompt:
            return window
    return None


def repeated_run(text: str, repeats: int = LOOP_REPEATS) -> str | None:
    """A run of words (characters in Chinese) that comes back ``repeats`` times or more."""
    tokens = _WORD.findall(text)
    size = 12 if len(_CJK.findall(text)) > len(tokens) / 2 else 8
    grams = Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))
    gram, count = grams.most_common(1)[0] if grams else ((), 0)
    if count < repeats:
        return None
    joiner = "" if size == 12 else " "
    return joiner.join(gram)


def quality_flags(prompt: str, text: str) -> list[str]:
    """Notes, in plain words, for each problem found; none for a good answer."""
    flags = []
    if echo := echoed_span(prompt, text):
        flags.append(f"{FLAG} the answer copies the prompt (\u201c{echo[:40]}\u2026\u201d) instead of answering; "
                     "run it again with another seed (-1) or a shorter form")
    if loop := repeated_run(text):
        flags.append(f"{FLAG} the answer repeats itself (\u201c{loop[:40]}\u2026\u201d); run it again with another "
                     "seed (-1), or lower the temperature")
    return flags
