"""Sensor readings against their limits, checked by code (not by the model) for a maintenance
plan's prompt: :func:`assess_readings` and :func:`readings_flags`.

The plugin: compute step ``sensor_check`` (readings -> ``$sensor_flags``) and its panel, the
readings against their limits. Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from aigc_demo.core.text import Bilingual, lang
from aigc_demo.scenarios import Computed, PanelSpec, register_compute

from .maintenance import clean_cell
from .panel_values import table_value

_FLOAT = r"[-+]?\d+(?:\.\d+)?"


@dataclass(frozen=True)
class Limit:
    low: float | None = None
    high: float | None = None


def parse_limit(text: str) -> Limit | None:
    """"< 2.8", "≤ 60 °C", "max 60", "6-8 %", "65–70 bar", "> 50", "min 65", "上限 60", "60 以下"."""
    t = clean_cell(text).lower().replace("–", "-").replace("—", "-").replace("～", "~")
    if m := re.search(rf"({_FLOAT})\s*(?:-|~|to|至|到|\.\.)\s*({_FLOAT})", t):
        a, b = float(m[1]), float(m[2])
        return Limit(min(a, b), max(a, b))
    if m := re.search(rf"(?:<=?|≤|＜|max\.?|maximum|below|under|上限|不超过|不高于|小于|低于)\s*({_FLOAT})", t):
        return Limit(high=float(m[1]))
    if m := re.search(rf"({_FLOAT})\s*[^\d\s]{{0,6}}\s*(?:max|以下|以内)", t):
        return Limit(high=float(m[1]))
    if m := re.search(rf"(?:>=?|≥|＞|min\.?|minimum|above|over|下限|不低于|至少|大于|高于)\s*({_FLOAT})", t):
        return Limit(low=float(m[1]))
    if m := re.search(rf"({_FLOAT})\s*[^\d\s]{{0,6}}\s*(?:min|以上)", t):
        return Limit(low=float(m[1]))
    return None


ALARM_WORDS = re.compile(r"alarm|fault|trip|warning|报警|告警|故障|跳闸|警告|\b[A-Z]{1,3}-?\d{2,4}\b", re.IGNORECASE)


@dataclass(frozen=True)
class Assessment:
    signal: str
    value: str
    limit: str
    status: str  # "above", "below", "alarm", "ok" or "unknown"
    deviation: float | None = None  # fraction beyond the limit (0.71 = 71 % above)


def assess_readings(rows: Iterable[Mapping[str, str]]) -> list[Assessment]:
    """Compare each reading's first number with its limit. Rows are mappings with "signal",
    "value" and "limit" (and optionally "note"); a row outside no limit but naming an alarm
    (alarm, fault, trip, 报警, ...) is "alarm"."""
    out = []
    for row in rows:
        signal, value, limit_text = (str(row.get(k, "") or "").strip() for k in ("signal", "value", "limit"))
        note = str(row.get("note", "") or "")
        if not signal and not value:
            continue
        number = re.search(_FLOAT, value.replace(",", ""))
        limit = parse_limit(limit_text)
        status, deviation = "unknown", None
        if number and limit:
            x = float(number[0])
            if limit.high is not None and x > limit.high:
                status, deviation = "above", (x - limit.high) / abs(limit.high) if limit.high else None
            elif limit.low is not None and x < limit.low:
                status, deviation = "below", (limit.low - x) / abs(limit.low) if limit.low else None
            else:
                status = "ok"
        # within limits: only the note can raise an alarm; no limit to check: any mention can
        mentions = f"{value} {note}" if status == "ok" else f"{signal} {value} {note}"
        if status in ("ok", "unknown") and ALARM_WORDS.search(mentions):
            status = "alarm"
        out.append(Assessment(signal, value, limit_text, status, deviation))
    return out


_STATUS_TEXT = {
    "above": Bilingual("ABOVE the limit by", "超出上限"),
    "below": Bilingual("BELOW the limit by", "低于下限"),
    "alarm": Bilingual("alarm reported", "有报警"),
}


def readings_flags(assessments: Iterable[Assessment], language: str = "en") -> str:
    """Bullet lines for the readings that need attention (computed, so the model need not judge)."""
    language = lang(language)
    lines = []
    for a in assessments:
        if a.status not in _STATUS_TEXT:
            continue
        by = f" {a.deviation:.0%}" if a.deviation is not None else ""
        status = _STATUS_TEXT[a.status][language]
        if not by:
            status = status.removesuffix(" by")
        sep = "：" if language == "zh" else ": "
        limit = (f"，限值 {a.limit}" if language == "zh" else f", limit {a.limit}") if a.limit else ""
        lines.append(f"- {a.signal}{sep}{a.value}{limit} → {status}{by}")
    if not lines:
        return "- 所有读数均在限值内" if language == "zh" else "- all readings are within their limits"
    return "\n".join(lines)


def readings_panels(assessments: list[Assessment], language: str) -> list[Any]:
    """The readings table: each signal with its value, limit and status."""
    headers = ["信号", "读数", "限值", "状态"] if language == "zh" else ["Signal", "Value", "Limit", "Status"]
    return [table_value(headers, [[a.signal, a.value, a.limit, a.status] for a in assessments])]


@register_compute(
    "sensor_check", inputs=("readings",), variables=("sensor_flags",),
    panels=(PanelSpec("table", Bilingual(en="Readings against limits", zh="读数与限值对比")),),
    view=readings_panels,
)
def sensor_check(inputs: dict[str, Any], language: str) -> Computed:
    """Readings outside their limits, from rows with signal / value / limit (/ note) columns."""
    assessments = assess_readings(inputs["readings"])
    return Computed({"sensor_flags": readings_flags(assessments, language)}, data=assessments)
