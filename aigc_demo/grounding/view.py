"""The flags of an output as a short bilingual Markdown list, for the review bar."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

MAX_SHOWN = 8
HEADING = "🔎 **Check before approving · 审核前请核对**"


def _quoted(span: str) -> str:
    span = " ".join(span.split())
    span = span if len(span) <= 60 else span[:57] + "…"
    return "`" + span.replace("`", "'") + "`" if span else ""


def flags_markdown(flags: Iterable[Mapping[str, Any]], limit: int = MAX_SHOWN) -> str:
    """"" when there is nothing to check; else a heading and one line per flag: the words
    flagged, the reason in English, then in Chinese."""
    flags = list(flags)
    if not flags:
        return ""
    lines = [f"{HEADING} ({len(flags)})"]
    for item in flags[:limit]:
        reason = item.get("reason") or {}
        span = _quoted(str(item.get("span", "")))
        lines.append(f"- {span + ' — ' if span else ''}{reason.get('en', '')} · {reason.get('zh', '')}")
    if len(flags) > limit:
        lines.append(f"- … {len(flags) - limit} more · 另有 {len(flags) - limit} 项")
    return "\n".join(lines)
