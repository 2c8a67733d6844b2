"""Customer-service reply: numbers and promises (refunds, free delivery, shops, discounts ...)
must be in the FAQ entries the reply was given; when no entry covers the question, the reply
must hand over to a person rather than answer."""

from __future__ import annotations

from . import terms
from .base import Flag, RunInputs, flag, number_flags, register

INDUSTRY = "service"


def _entries_text(inputs: RunInputs) -> tuple[str, bool]:
    """The used entries (question and answer), the brand and its contact; and whether any
    entry was used."""
    turn = inputs.data("faq_context")
    if turn is None:  # no retrieval result: what the prompt was given is all there is
        return inputs.variables("faq_context").get("faq_entries", ""), True
    parts = [f"{h.entry.question}\n{h.entry.answer}" for h in turn.used]
    return "\n".join([*parts, turn.faq.name, turn.faq.contact]), bool(turn.used)


@register(INDUSTRY)
def check_service(inputs: RunInputs, text: str) -> list[Flag]:
    entries, covered = _entries_text(inputs)
    conversation = inputs.text("question", "history")  # order numbers and the like
    flags = number_flags(text, f"{entries}\n{conversation}", INDUSTRY, exempt=())
    known = terms.mentioned("service_policies", entries)
    flags += [flag("policy", INDUSTRY, text, m.start, m.end)
              for m in terms.find("service_policies", text) if m.concept not in known]
    if not covered and text.strip() and not terms.cues("handover_cues").search(text):
        first = text.strip().splitlines()[0]
        start = text.index(first)
        flags.append(flag("escalation", INDUSTRY, text, start, start + min(len(first), 80)))
    return sorted(flags, key=lambda f: f.start)
