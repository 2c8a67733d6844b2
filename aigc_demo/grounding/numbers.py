"""Numbers in text, with their units, and whether a number is backed by the inputs.

:func:`quantities` finds every number in a text: digits with thousands separators and
decimals, a sign, a percent or a unit after it (mm, °C, bar, 小时 ...), "1.8万", and Chinese
numerals before a measure word ("三个月"). Dates (2024-01-02, 2024年1月2日) and clock times
(14:00) are read whole, list markers ("1. ", "2、") are skipped. :func:`backed` says whether a
number matches one of the inputs' numbers, tolerant of rounding (12.3 for 12.34), of a
dropped sign, and of unit changes within one dimension (0.8 cm = 8 mm, 1 min = 60 s).
Standard library only.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

# unit as written (lower case) -> (dimension, factor to the dimension's base unit)
UNITS: dict[str, tuple[str, float]] = {
    "%": ("percent", 1), "％": ("percent", 1), "percent": ("percent", 1), "per cent": ("percent", 1),
    "mm/s": ("velocity", 1), "mm": ("length", 1), "cm": ("length", 10), "m": ("length", 1000),
    "km": ("length", 1e6), "毫米": ("length", 1), "厘米": ("length", 10), "公里": ("length", 1e6),
    "mg": ("mass", 1e-3), "g": ("mass", 1), "kg": ("mass", 1000), "克": ("mass", 1), "千克": ("mass", 1000),
    "公斤": ("mass", 1000), "t": ("force_t", 1), "吨": ("force_t", 1),
    "ml": ("volume", 1), "l": ("volume", 1000), "毫升": ("volume", 1), "升": ("volume", 1000),
    "bar": ("pressure", 1), "巴": ("pressure", 1), "mpa": ("pressure", 10), "kpa": ("pressure", 0.01),
    "psi": ("pressure", 0.0689476),
    "°c": ("temperature", 1), "℃": ("temperature", 1), "° c": ("temperature", 1), "度": ("temperature", 1),
    "ms": ("time", 1e-3), "s": ("time", 1), "sec": ("time", 1), "secs": ("time", 1), "seconds": ("time", 1),
    "second": ("time", 1), "min": ("time", 60), "mins": ("time", 60), "minutes": ("time", 60),
    "minute": ("time", 60), "h": ("time", 3600), "hr": ("time", 3600), "hrs": ("time", 3600),
    "hours": ("time", 3600), "hour": ("time", 3600), "days": ("time", 86400), "day": ("time", 86400),
    "working days": ("time", 86400), "weeks": ("time", 604800), "week": ("time", 604800),
    "months": ("time", 2.6e6), "month": ("time", 2.6e6), "years": ("time", 3.15e7), "year": ("time", 3.15e7),
    "秒": ("time", 1), "分钟": ("time", 60), "小时": ("time", 3600), "个小时": ("time", 3600),
    "天": ("time", 86400), "个工作日": ("time", 86400), "工作日": ("time", 86400), "周": ("time", 604800),
    "个月": ("time", 2.6e6), "年": ("time", 3.15e7), "班": ("time", 28800),
    "shift": ("time", 28800), "shifts": ("time", 28800),
    "rpm": ("rotation", 1), "转": ("rotation", 1), "k": ("colour_temp", 1),
    "a": ("current", 1), "安": ("current", 1), "v": ("voltage", 1), "w": ("power", 1), "kw": ("power", 1000),
    "mah": ("charge", 1), "岁": ("age", 1), "year-old": ("age", 1), "years old": ("age", 1),
    "pack-years": ("pack_years", 1), "包年": ("pack_years", 1),
    "eur": ("money", 1), "€": ("money", 1), "usd": ("money", 1), "$": ("money", 1), "¥": ("money", 1),
    "元": ("money", 1), "欧元": ("money", 1), "次": ("count", 1), "倍": ("times", 1),
}
_UNIT_WORDS = sorted(UNITS, key=len, reverse=True)
_UNIT_RE = "|".join(re.escape(u) + (r"(?![a-z])" if re.fullmatch(r"[a-z/ -]+", u) else "") for u in _UNIT_WORDS)
_CURRENCY_BEFORE = r"(?:(eur|usd|€|\$|¥|￥)\s?)?"

_DATE = re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})日?(?!\d)")
_TIME = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])")
_LIST_MARKER = re.compile(r"(?m)^[ \t>*\-]*(?:#+\s*)?\d{1,2}(?:[.)](?=\s)|、)")
_NUMBER = re.compile(
    _CURRENCY_BEFORE
    + r"(?<![A-Za-z0-9_.])([+\-−]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\d,]\d)(\s*[万亿])?"
    + r"(?:[\s\-]*(" + _UNIT_RE + r"))?",  # "8 h", "8h", "3-month", "58-year-old"
    re.IGNORECASE,
)
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_MEASURE = ("个小时", "个工作日", "个月", "小时", "分钟", "工作日", "天", "周", "年", "次", "岁", "倍", "项", "条",
               "台", "秒", "毫米", "厘米", "克", "公斤", "毫升", "班", "人", "名", "场", "处", "个")
_CN_NUMBER = re.compile(r"([零〇一二两三四五六七八九十百千]+)(" + "|".join(_CN_MEASURE) + ")")


@dataclass(frozen=True)
class Quantity:
    """One number as written: its value (sign kept), decimals shown, unit and place."""

    value: float
    decimals: int
    unit: str  # as written, lower case ("" for none)
    text: str
    start: int
    end: int
    signed: bool = False  # written with an explicit + or -

    @property
    def dimension(self) -> str:
        return UNITS[self.unit][0] if self.unit in UNITS else ""

    @property
    def base(self) -> float:
        return abs(self.value) * (UNITS[self.unit][1] if self.unit in UNITS else 1)


def cn_number(text: str) -> int | None:
    """"三" -> 3, "十二" -> 12, "两百五十" -> 250; None when it is not a numeral."""
    total, digit = 0, None
    for char in text:
        if char in _CN_DIGITS:
            digit = _CN_DIGITS[char]
        elif char in _CN_UNITS:
            total += (digit if digit is not None else 1) * _CN_UNITS[char]
            digit = None
        else:
            return None
    return total + (digit or 0)


def dates(text: str) -> list[tuple[str, int, int]]:
    """Every date, as ISO text ("2024-01-02"), with its place."""
    return [(f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}", m.start(), m.end()) for m in _DATE.finditer(text)]


def _masked(text: str) -> str:
    """The text with dates, clock times and list markers blanked out (same length)."""
    for pattern in (_DATE, _TIME, _LIST_MARKER):
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    return text


def quantities(text: str) -> list[Quantity]:
    """Every number in ``text`` (see the module docstring), in order."""
    return list(_quantities(text))


@lru_cache(maxsize=256)  # a run's inputs are read for every output; a text by several checks
def _quantities(text: str) -> tuple[Quantity, ...]:
    masked = _masked(text)
    out: list[Quantity] = []
    for m in _NUMBER.finditer(masked):
        sign, whole, fraction, scale, unit = m.group(2), m.group(3), m.group(4), m.group(5), m.group(6)
        value = float(whole.replace(",", "") + (f".{fraction}" if fraction else ""))
        if scale:
            value *= 1e4 if "万" in scale else 1e8
        if sign in ("-", "−"):
            value = -value
        unit = (unit or (m.group(1) or "")).lower().replace("￥", "¥")
        start = m.start(2) if not m.group(1) else m.start(1)
        out.append(Quantity(value, len(fraction or ""), unit, text[start:m.end()].strip(), start, m.end(), bool(sign)))
    for m in _CN_NUMBER.finditer(masked):
        value = cn_number(m.group(1))
        if value is None or value == 1:  # 一个 / 一次 mostly means "a"
            continue
        unit = m.group(2) if m.group(2) in UNITS else ""
        out.append(Quantity(float(value), 0, unit, m.group(0), m.start(), m.end()))
    out.sort(key=lambda q: q.start)
    return tuple(_range_unit(q, out[i + 1], masked) if i + 1 < len(out) else q for i, q in enumerate(out))


_RANGE = re.compile(r"\s*(?:-|–|—|~|～|to|至|到)\s*$", re.IGNORECASE)


def _range_unit(q: Quantity, after: Quantity, text: str) -> Quantity:
    """"2-4 days", "6 to 8 %": the first number of a range takes the unit of the second."""
    if q.unit or not after.unit or not _RANGE.match(text[q.end:after.start]):
        return q
    return Quantity(q.value, q.decimals, after.unit, q.text, q.start, q.end, q.signed)


def _close(a: float, b: float, decimals: int, scale: float = 1.0) -> bool:
    """``a`` written with ``decimals`` decimals may be ``b`` rounded (or the same number)."""
    return abs(a - b) <= (0.5 * 10 ** -decimals) * scale + 1e-9 * max(1.0, abs(b))


def same_number(q: Quantity, s: Quantity) -> bool:
    """The digits agree (rounding and a dropped sign allowed), units aside."""
    return _close(abs(q.value), abs(s.value), q.decimals)


def rounds_to(q: Quantity, value: float) -> bool:
    """``q`` is ``value`` as written (rounding and a dropped sign allowed)."""
    return _close(abs(q.value), abs(value), q.decimals)


def same_quantity(q: Quantity, s: Quantity) -> bool:
    """The same amount: units of one dimension are converted; a unit missing on either side
    is not held against it."""
    if q.dimension and s.dimension:
        if q.dimension != s.dimension:
            return False
        return _close(q.base, s.base, q.decimals, UNITS[q.unit][1])
    return same_number(q, s)


def backed(q: Quantity, sources: Iterable[Quantity]) -> str:
    """"ok" when a source number is the same quantity, "unit" when only the digits agree
    (another unit), "number" when no source has it."""
    digits = False
    for s in sources:
        if same_quantity(q, s):
            return "ok"
        digits = digits or same_number(q, s)
    return "unit" if digits else "number"


class NumberIndex:
    """The numbers of a source text, sorted, so :meth:`backed` looks only at near values (and
    at quantities of the same dimension, which a unit change may have rescaled)."""

    def __init__(self, sources: Iterable[Quantity]) -> None:
        ordered = sorted(sources, key=lambda s: abs(s.value))
        self.values = [abs(s.value) for s in ordered]
        self.sources = ordered
        self.by_dimension: dict[str, list[Quantity]] = {}
        for s in ordered:
            if s.dimension:
                self.by_dimension.setdefault(s.dimension, []).append(s)

    def backed(self, q: Quantity) -> str:
        """As :func:`backed`, over this index."""
        value, tolerance = abs(q.value), 0.5 * 10 ** -q.decimals + 1e-6 * max(1.0, abs(q.value))
        near = self.sources[bisect_left(self.values, value - tolerance):bisect_right(self.values, value + tolerance)]
        if any(same_quantity(q, s) for s in near) or any(same_quantity(q, s) for s in self.by_dimension.get(q.dimension, ())):
            return "ok"
        return "unit" if any(same_number(q, s) for s in near) else "number"


@lru_cache(maxsize=64)
def index(source: str) -> NumberIndex:
    """The (cached) number index of a source text."""
    return NumberIndex(_quantities(source))
