"""Messages the app writes at run time (status lines, toasts, summaries), in the page's language.

They live in the one UI catalogue, ``assets/i18n.yaml``, next to the static labels; this module
reads it without Gradio so that code below ``ui/`` (the scenario runner) can use it too.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aigc_demo.core.files import ASSETS_DIR
from aigc_demo.core.text import lang
from aigc_demo.core.yaml_io import safe_load


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """Every UI string: key -> {"en": ..., "zh": ...}."""
    return safe_load((ASSETS_DIR / "i18n.yaml").read_text(encoding="utf-8"))


def say(key: str, language: str | None = "en", **values: Any) -> str:
    """The message ``key`` in ``language`` ("zh-CN" counts as zh), with ``{name}`` filled in."""
    entry = catalogue()[key]
    return entry[lang(language)].format(**values)
