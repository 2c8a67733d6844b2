"""Market brief: every number must be one of the computed figures or inputs, with its sign,
and the words for the period's direction (rose / fell, 上涨 / 下跌) must fit the return."""

from __future__ import annotations

import re

from .base import Flag, RunInputs, flag, number_flags, register
from .numbers import quantities, same_number

INDUSTRY = "market"
_UP = r"rose|rise[sn]?|rising|gain(?:ed|s)?|up\b|climb(?:ed|s)?|increas(?:ed|es)|advanc(?:ed|es)|上涨|涨|上升|增长|走高|攀升"
_DOWN = r"fell|fall(?:s|en)?|falling|dropp?(?:ed|s)?|down\b|declin(?:ed|es)|lost|loss|slid|下跌|跌|下降|回落|走低|亏损"
_DIRECTION = re.compile(rf"(?:(?P<up>{_UP})|(?P<down>{_DOWN}))", re.IGNORECASE)
DIRECTION_WINDOW = 30  # characters before a quoted return searched for rose / fell


def _figures_source(inputs: RunInputs) -> str:
    """Everything the brief may quote: the figures in both languages, the table (high, low,
    period), the first close, and the form (asset, headlines, horizon ...)."""
    parts = [*inputs.variables("market_figures").values(), inputs.text()]
    fig = inputs.data("market_figures")
    if fig is not None:
        from aigc_demo.industries.market import figures_table, figures_text, fmt_price

        parts += [*figures_text(fig, "en"), *figures_text(fig, "zh")]
        parts += [" ".join(row) for row in figures_table(fig)]
        parts += [fmt_price(fig.first_close), f"{fig.days}", " ".join(str(w) for w in fig.windows)]
    return "\n".join(parts)


@register(INDUSTRY)
def check_market(inputs: RunInputs, text: str) -> list[Flag]:
    source = _figures_source(inputs)
    flags = number_flags(text, source, INDUSTRY)
    flags += _signs(text, source)
    fig = inputs.data("market_figures")
    if fig is not None:
        flags += _direction(text, fig.period_return, source)
    return flags


def _signs(text: str, source: str) -> list[Flag]:
    """A percentage written with a sign whose figure has the opposite sign."""
    signed = [s for s in quantities(source) if s.signed and s.dimension == "percent"]
    out = []
    for q in quantities(text):
        if not q.signed or q.dimension != "percent":
            continue
        same = [s for s in signed if same_number(q, s)]
        if same and all((s.value < 0) != (q.value < 0) for s in same):
            out.append(flag("sign", INDUSTRY, text, q.start, q.end))
    return out


def _direction(text: str, period_return: float, source: str) -> list[Flag]:
    """"fell 35%" when the period return was +35.00% (and the other way round)."""
    from aigc_demo.industries.market import fmt_pct

    shown = fmt_pct(period_return)
    target = next((s for s in quantities(shown)), None)
    others = [s for s in quantities(source) if s.dimension == "percent" and target and not same_number(s, target)]
    out = []
    for q in quantities(text):
        if target is None or q.dimension != "percent" or q.signed or not same_number(q, target):
            continue
        if any(same_number(q, o) for o in others):  # the same digits are another figure too
            continue
        before = text[max(0, q.start - DIRECTION_WINDOW):q.start]
        words = list(_DIRECTION.finditer(before))
        if not words:
            continue
        says_up = words[-1].group("up") is not None
        if says_up != (period_return > 0) and period_return != 0:
            start = q.start - len(before) + words[-1].start()
            out.append(flag("direction", INDUSTRY, text, start, q.end, detail=f"{shown}"))
    return out
