"""Medical report: nothing the radiologist did not dictate. Findings (nodule, effusion ...)
absent from the dictation, findings said present where the dictation says absent (or the
other way round), sides (left / right / both) never dictated for a finding, and numbers
(sizes, counts) not in the dictation are flagged. Follow-up intervals are not."""

from __future__ import annotations

import re
from functools import lru_cache

from . import terms
from .base import Flag, RunInputs, flag, number_flags, piece_at, pieces, register

INDUSTRY = "medical"
FINDINGS, SIDES = "medical_findings", "sides"
_ABOUT = re.compile("左右")  # "about" in Chinese, not a side


def _sides_text(text: str) -> str:
    return _ABOUT.sub("  ", text)


def _negated(text: str, clauses: list[tuple[int, int]], position: int) -> bool:
    start, _ = piece_at(clauses, position)
    return bool(terms.cues("negation_cues").search(text, start, position))


@lru_cache(maxsize=64)  # the dictation is read again for every output of a run
def polarity(text: str) -> dict[str, set[bool]]:
    """For each finding the text mentions: {True} present, {False} absent, or both."""
    clauses = pieces(text, clauses=True)
    out: dict[str, set[bool]] = {}
    for m in terms.find(FINDINGS, text):
        out.setdefault(m.concept, set()).add(not _negated(text, clauses, m.start))
    return out


@register(INDUSTRY)
def check_medical(inputs: RunInputs, text: str) -> list[Flag]:
    dictated = inputs.text("findings")
    source = inputs.text()  # findings, indication, age, sex, examination
    flags = number_flags(text, source, INDUSTRY)
    flags += _findings(text, dictated, inputs.text("indication"))
    flags += _sides(text, dictated)
    return sorted(flags, key=lambda f: f.start)


def _findings(text: str, dictated: str, indication: str) -> list[Flag]:
    known = polarity(dictated)
    context = terms.mentioned(FINDINGS, indication)
    clauses = pieces(text, clauses=True)
    out = []
    for m in terms.find(FINDINGS, text):
        if m.concept not in known:
            if m.concept not in context:
                out.append(flag("finding", INDUSTRY, text, m.start, m.end))
            continue
        present = not _negated(text, clauses, m.start)
        if present not in known[m.concept]:
            said = {True: {"en": "dictated as present", "zh": "口述为存在"},
                    False: {"en": "dictated as absent", "zh": "口述为未见"}}[not present]
            start, end = piece_at(clauses, m.start)
            out.append(flag("negation", INDUSTRY, text, start, end, detail=said))
    return out


def _sides(text: str, dictated: str) -> list[Flag]:
    """A side never dictated; or, when the dictation names several sides, a side that no
    dictated sentence gives to the finding it is written with."""
    dictated_sides = _sides_text(dictated)
    known = terms.mentioned(SIDES, dictated_sides)
    sentences = [dictated_sides[a:b] for a, b in pieces(dictated_sides)]
    pairs = {(side, finding) for s in sentences for side in terms.mentioned(SIDES, s)
             for finding in terms.mentioned(FINDINGS, s)}
    checked = _sides_text(text)
    own = pieces(checked)
    out = []
    for m in terms.find(SIDES, checked):
        if m.concept not in known:
            out.append(flag("side", INDUSTRY, text, m.start, m.end))
            continue
        if len(known) < 2:
            continue
        start, end = piece_at(own, m.start)
        findings = terms.mentioned(FINDINGS, checked[start:end])
        if findings and not any((m.concept, f) in pairs for f in findings):
            out.append(flag("side", INDUSTRY, text, m.start, m.end))
    return out
