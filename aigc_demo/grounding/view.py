"""The flags of an output as a short Markdown list, for the review bar: in the page's language,
or in both (English, then Chinese) where no language is known."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..core.text import Bilingual

MAX_SHOWN = 8
HEADING = Bilingual("Check before approving", "审核前请核对")
MORE = Bilingual("{n} more", "另有 {n} 项")


def _quoted(span: str) -> str:
    span = " ".join(span.split())
    span = span if len(span) <= 60 else span[:57] + "…"
    return "`" + span.replace("`", "'") + "`" if span else ""


def flags_markdown(flags: Iterable[Mapping[str, Any]], language: str | None = None, limit: int = MAX_SHOWN) -> str:
    """"" when there is nothing to check; else a heading and one line per flag: the words
    flagged and the reason, in ``language`` ("en" or "zh"; None: English · Chinese)."""
    flags = list(flags)
    if not flags:
        return ""

    def say(text: Mapping[str, str], **values: Any) -> str:
        if language in ("en", "zh"):
            return text.get(language, "").format(**values)
        return f"{text.get('en', '').format(**values)} · {text.get('zh', '').format(**values)}"

    lines = [f"🔎 **{say(HEADING)}** ({len(flags)})"]
    for item in flags[:limit]:
        span = _quoted(str(item.get("span", "")))
        lines.append(f"- {span + ' — ' if span else ''}{say(item.get('reason') or {})}")
    if len(flags) > limit:
        lines.append(f"- … {say(MORE, n=len(flags) - limit)}")
    return "\n".join(lines)
