"""The rules every setting obeys: its type, a finite value, its range, its choices.

``settings.from_env`` reads text from flags and environment variables through
:func:`parse_number` and :func:`parse_flag`; ``Settings`` checks every value against
:data:`NUMBERS` and :data:`CHOICES` when it is made (:func:`check`), so settings built in code
obey the same rules. Each error is one line naming the environment variable, the rule and the
value, and the app refuses to start with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from aigc_demo.core.params import MAX_PROMPT_CHARS

DEVICES = ("auto", "cuda", "mps", "cpu")
DTYPES = ("auto", "float32", "float16", "bfloat16")
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class Number:
    """A numeric setting: ``low <= value <= high`` (``low`` excluded when ``above``);
    ``optional`` settings may be None (unset); ``zero_is_off`` reads 0 as None."""

    field: str
    env: str
    kind: type  # int or float
    low: float
    high: float
    above: bool = False
    optional: bool = False
    zero_is_off: bool = False
    meaning: str = ""  # what the bound protects, said in the error

    def describe(self) -> str:
        low = f"greater than {self.low:g}" if self.above else f"at least {self.low:g}"
        return f"{low} and at most {self.high:g}"


NUMBERS: tuple[Number, ...] = (
    Number("port", "AIGC_PORT", int, 1, 65535),
    Number("threads", "AIGC_THREADS", int, 1, 256, optional=True),
    Number("max_cost_scale", "AIGC_MAX_COST_SCALE", float, 0, 1000, above=True),
    Number("memory_budget_gb", "AIGC_MEMORY_BUDGET_GB", float, 0, 1_000_000, above=True, optional=True),
    Number("idle_unload_seconds", "AIGC_IDLE_UNLOAD_SECONDS", float, 0, 365 * 86400, meaning="0 keeps models loaded"),
    Number("failure_cooldown_seconds", "AIGC_FAILURE_COOLDOWN_SECONDS", float, 0, 86400),
    Number("max_prompt_chars", "AIGC_MAX_PROMPT_CHARS", int, 1, MAX_PROMPT_CHARS),
    Number("queue_size", "AIGC_QUEUE_SIZE", int, 1, 10_000),
    Number("user_queue_limit", "AIGC_USER_QUEUE_LIMIT", int, 1, 1000),
    Number("max_batch_size", "AIGC_MAX_BATCH_SIZE", int, 1, 64),
    Number("run_timeout_seconds", "AIGC_RUN_TIMEOUT_SECONDS", float, 0, 7 * 86400, above=True, optional=True,
           zero_is_off=True, meaning="0 turns the limit off"),
    Number("max_upload_mb", "AIGC_MAX_UPLOAD_MB", float, 0, 100_000, above=True),
    Number("min_free_disk_mb", "AIGC_MIN_FREE_DISK_MB", float, 0, 10**9),
    Number("remote_timeout_seconds", "AIGC_REMOTE_TIMEOUT_SECONDS", float, 0, 86400, above=True),
    Number("remote_concurrency", "AIGC_REMOTE_CONCURRENCY", int, 1, 1000),
)
NUMBER_RULES = {rule.field: rule for rule in NUMBERS}
CHOICES: dict[str, tuple[str, tuple[str, ...]]] = {"device": ("AIGC_DEVICE", DEVICES), "dtype": ("AIGC_DTYPE", DTYPES)}


def _error(rule: Number, value: Any, problem: str) -> ValueError:
    hint = f"; {rule.meaning}" if rule.meaning else ""
    return ValueError(f"{rule.env} {problem} (got {value!r}){hint}")


def parse_number(rule: Number, text: Any) -> int | float | None:
    """A setting's number from a flag or environment text, checked (see :func:`check_number`)."""
    raw = text.strip() if isinstance(text, str) else text
    try:
        number = float(raw)
    except (TypeError, ValueError):
        kind = "a whole number" if rule.kind is int else "a number"
        raise _error(rule, text, f"must be {kind} {rule.describe()}") from None
    return check_number(rule, number, original=text)


def check_number(rule: Number, value: Any, original: Any = None) -> int | float | None:
    """``value`` as the rule's type, or a ValueError naming the variable, the range and the value."""
    shown = value if original is None else original
    if value is None:
        if rule.optional:
            return None
        raise _error(rule, shown, "must be set")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _error(rule, shown, f"must be a number {rule.describe()}")
    if not math.isfinite(value):
        raise _error(rule, shown, f"must be a finite number {rule.describe()}")
    if rule.kind is int and value != int(value):
        raise _error(rule, shown, f"must be a whole number {rule.describe()}")
    if rule.zero_is_off and value == 0:
        return None
    if value < rule.low or (rule.above and value == rule.low) or value > rule.high:
        raise _error(rule, shown, f"must be {rule.describe()}")
    return int(value) if rule.kind is int else float(value)


def parse_flag(env: str, text: str | None) -> bool:
    """A yes/no setting: 1/true/yes/on or 0/false/no/off (or empty)."""
    word = (text or "").strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{env} must be one of {', '.join(TRUE_WORDS)} or {', '.join(w for w in FALSE_WORDS if w)} (got {text!r})")


def check_choice(field: str, value: Any) -> str:
    env, choices = CHOICES[field]
    if value not in choices:
        raise ValueError(f"{env} must be one of {', '.join(choices)} (got {value!r})")
    return value


def check(settings: Any) -> None:
    """Every numeric and choice setting of ``settings`` obeys its rule (ValueError otherwise)."""
    for rule in NUMBERS:
        value = getattr(settings, rule.field)
        if value is None and rule.zero_is_off:
            continue
        check_number(rule, value)
    for field in CHOICES:
        check_choice(field, getattr(settings, field))
    if not isinstance(settings.host, str) or not settings.host.strip():
        raise ValueError(f"AIGC_HOST must be a host name or address (got {settings.host!r})")
