"""What every grounding check shares: the run's inputs, a flag, and the check registry."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from . import terms
from .numbers import dates, index, quantities


@dataclass(frozen=True)
class Flag:
    """One thing a reviewer should look at: its kind, the words in the output (and where),
    and why, in English and Chinese."""

    kind: str
    span: str
    start: int
    end: int
    reason: Mapping[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "span": self.span, "start": self.start, "end": self.end,
                "reason": dict(self.reason)}


@dataclass(frozen=True)
class RunInputs:
    """What a scenario run's text output may rest on: the checked form values, the pre-steps'
    results (``{step: Computed}``), the choice labels of the chosen values (both languages)
    and the output's language."""

    scenario: str
    task: str
    values: Mapping[str, Any]
    computed: Mapping[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    language: str = "en"

    def text(self, *names: str) -> str:
        """The form values ``names`` (all of them when none is named) as one text; a table
        value gives its cells, a choice also its labels."""
        chosen = names or tuple(self.values)
        parts: list[str] = []
        for name in chosen:
            value = self.values.get(name)
            if isinstance(value, list):
                parts += [" ".join(str(c) for c in (row.values() if isinstance(row, Mapping) else row)) for row in value]
            elif value is not None:
                parts.append(str(value))
        if not names:
            parts += self.labels
        return "\n".join(parts)

    def data(self, step: str) -> Any:
        computed = self.computed.get(step)
        return getattr(computed, "data", None)

    def variables(self, step: str) -> Mapping[str, str]:
        computed = self.computed.get(step)
        return getattr(computed, "variables", {}) or {}


Check = Callable[[RunInputs, str], list[Flag]]
CHECKS: dict[str, Check] = {}  # scenario id -> its check


def register(scenario: str) -> Callable[[Check], Check]:
    """Register ``check(inputs, text) -> [Flag]`` for a scenario's text outputs."""

    def decorate(fn: Check) -> Check:
        if scenario in CHECKS:
            raise ValueError(f"a grounding check for '{scenario}' is already registered")
        CHECKS[scenario] = fn
        return fn

    return decorate


def flag(kind: str, industry: str, text: str, start: int, end: int, **values: Any) -> Flag:
    span = text[start:end].strip()
    return Flag(kind, span, start, end, terms.reason(kind, industry, span=span, **values))


YEAR_SECONDS = 3.2e7


def number_flags(text: str, source: str, industry: str, *, exempt: tuple[str, ...] = ("time",)) -> list[Flag]:
    """Every number (and date) in ``text`` that ``source`` does not back, except quantities of
    the ``exempt`` dimensions (by default durations up to a year: when a plan, a follow-up or
    a reply chooses them itself, there is nothing to back them)."""
    sources = index(source)
    known_dates = {d for d, _, _ in dates(source)}
    out = [flag("date", industry, text, start, end) for iso, start, end in dates(text) if iso not in known_dates]
    for q in quantities(text):
        if q.dimension in exempt and (q.dimension != "time" or q.base <= YEAR_SECONDS):
            continue
        verdict = sources.backed(q)
        if verdict != "ok":
            out.append(flag(verdict, industry, text, q.start, q.end))
    return out


_SENTENCE_END = re.compile(r"(?<!\d)\.(?!\d)|[。；;！？!?\n]")
_CLAUSE_END = re.compile(r"(?<!\d)[.,](?!\d)|[。；;！？!?\n，、：:]")


def pieces(text: str, clauses: bool = False) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence (or clause) of ``text``; decimal points do not split."""
    ends = (_CLAUSE_END if clauses else _SENTENCE_END).finditer(text)
    out, start = [], 0
    for m in ends:
        if text[start:m.start()].strip():
            out.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        out.append((start, len(text)))
    return out


def piece_at(spans: list[tuple[int, int]], position: int) -> tuple[int, int]:
    """The piece holding ``position`` (``spans`` in order, as :func:`pieces` gives them)."""
    i = bisect_right(spans, (position, float("inf"))) - 1
    return spans[i] if i >= 0 and spans[i][0] <= position < spans[i][1] else (position, position)
