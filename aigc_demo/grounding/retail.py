"""Retail copy: every number (with its unit), feature and absolute claim must be among the
product facts (name, category, features, audience, look, voice-over line)."""

from __future__ import annotations

from . import terms
from .base import Flag, RunInputs, flag, number_flags, register

INDUSTRY = "retail"


@register(INDUSTRY)
def check_retail(inputs: RunInputs, text: str) -> list[Flag]:
    facts = inputs.text()
    flags = number_flags(text, facts, INDUSTRY, exempt=())
    known = terms.mentioned("retail_features", facts)
    flags += [flag("feature", INDUSTRY, text, m.start, m.end)
              for m in terms.find("retail_features", text) if m.concept not in known]
    superlatives = terms.cues("superlatives")
    flags += [flag("superlative", INDUSTRY, text, m.start(), m.end())
              for m in superlatives.finditer(text) if not superlatives.search(facts)]
    return sorted(flags, key=lambda f: f.start)
