"""Parameter checks shared by every request: prompts, numeric ranges, size snapping."""

from __future__ import annotations

from typing import Any

from aigc_demo.core.types import ValidationError

MAX_PROMPT_CHARS = 4000


def check_prompt(prompt: Any, field_name: str = "prompt", max_chars: int = MAX_PROMPT_CHARS) -> str:
    """Strip control characters; reject empty or over-long prompts."""
    if not isinstance(prompt, str):
        raise ValidationError(field_name, "must be text")
    cleaned = "".join(ch for ch in prompt if ch in "\n\t" or ch.isprintable()).strip()
    if not cleaned:
        raise ValidationError(field_name, "is empty; please describe what you want")
    if len(cleaned) > max_chars:
        raise ValidationError(field_name, f"is {len(cleaned)} characters; the limit is {max_chars}")
    return cleaned


def check_range(field_name: str, value: Any, low: float, high: float, kind: type = int) -> Any:
    """Coerce to ``kind`` and check low <= value <= high."""
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ValidationError(field_name, f"must be a number between {low} and {high}") from None
    if isinstance(value, bool) or not (low <= number <= high):
        raise ValidationError(field_name, f"must be between {low} and {high} (got {value})")
    return number


def snap(value: int, multiple: int, minimum: int | None = None) -> int:
    """Round to the nearest multiple (at least ``minimum`` or one multiple)."""
    snapped = max(minimum or multiple, int(round(value / multiple)) * multiple)
    return snapped


