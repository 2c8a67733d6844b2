"""Maintenance plan and briefing: signals, parts and numbers must come from the equipment
data, the readings (and their computed limit checks) or the last maintenance; a number given
as a limit must be the limit of some reading. Durations and due times are the plan's own."""

from __future__ import annotations

import re
from functools import lru_cache

from . import terms
from .base import Flag, RunInputs, flag, number_flags, register
from .numbers import quantities, rounds_to

INDUSTRY = "maintenance"


@lru_cache(maxsize=1)
def _limit_pattern() -> re.Pattern[str]:
    cues = terms.data()["limit_cues"]
    words = "|".join(terms._pattern(w) for w in [*cues["en"], *cues["zh"]])
    symbols = "|".join(re.escape(s) for s in cues["symbols"])
    return re.compile(rf"(?:(?:{words})\s*(?:{symbols})?|(?:{symbols}))\s*[:：]?\s*(?=[+\-]?\d)", re.IGNORECASE)


def _limits(inputs: RunInputs) -> list[float]:
    """The limits of the readings (both ends of a range) and how far beyond them each reading
    is, in percent (the computed check's "above the limit by 71%")."""
    from aigc_demo.industries.sensors import parse_limit

    out: list[float] = []
    for assessment in inputs.data("sensor_check") or []:
        limit = parse_limit(assessment.limit)
        if limit is not None:
            out += [v for v in (limit.low, limit.high) if v is not None]
        if assessment.deviation is not None:
            out.append(round(assessment.deviation * 100))
    return out


@register(INDUSTRY)
def check_maintenance(inputs: RunInputs, text: str) -> list[Flag]:
    source = "\n".join([inputs.text(), *inputs.variables("sensor_check").values()])
    flags = number_flags(text, source, INDUSTRY)
    flagged = {(f.start, f.end) for f in flags}
    for section, kind in (("maintenance_signals", "signal"), ("maintenance_parts", "part")):
        known = terms.mentioned(section, source)
        flags += [flag(kind, INDUSTRY, text, m.start, m.end) for m in terms.find(section, text) if m.concept not in known]
    limits = _limits(inputs)
    for cue in _limit_pattern().finditer(text):
        number = next((q for q in quantities(text[cue.end():cue.end() + 20])), None)
        if number is None or number.start != 0:
            continue
        start, end = cue.start(), cue.end() + number.end
        if (cue.end(), cue.end() + number.end) in flagged:
            continue  # already flagged as a number no input has
        if not any(rounds_to(number, v) for v in limits):
            flags.append(flag("limit", INDUSTRY, text, start, end))
    return sorted(flags, key=lambda f: f.start)
