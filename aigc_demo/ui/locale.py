"""The language of the page a request comes from, and run-time messages in it.

Gradio picks the page's language from the browser; the browser sends the same preference in
``Accept-Language``, so a handler writes its status lines, toasts and errors in that language.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from aigc_demo.core.text import lang
from aigc_demo.core.types import ProgressFn, ValidationError
from ..messages import say
from ..scenarios import Scenario


def page_language(request: gr.Request | None) -> str:
    """"zh" when the browser prefers Chinese (first language of Accept-Language), else "en"."""
    headers = getattr(request, "headers", None) or {}
    accept = str(headers.get("accept-language", "") or "")
    return lang(accept.split(",")[0].strip())


def from_browser(request: gr.Request | None) -> bool:
    """Whether a page sent the request (browsers send Accept-Language; API clients need not)."""
    headers = getattr(request, "headers", None) or {}
    return bool(headers.get("accept-language"))


def local_progress(progress: gr.Progress, language: str) -> ProgressFn:
    """Gradio's progress bar with no English words on it (the status line says what runs)."""

    def report(step: int, total: int, desc: str = "") -> None:
        progress((step, total), desc=None, unit=say("ux.progress.unit", language))

    return report


def field_error(scenario: Scenario, error: ValidationError, language: str) -> gr.Error:
    """A form error that names the field by its label: "Product name is empty: please fill it in."."""
    try:
        label = scenario.field(error.field).label(language)
    except (KeyError, ValueError, AttributeError):
        label = error.field
    message = str(error).removeprefix(f"{error.field}: ")
    if message.startswith("is empty"):
        key = "ux.error.empty_table" if "row" in message else "ux.error.empty"
        text = say(key, language, label=label)
    else:
        text = say("ux.error.field", language, label=label, message=message)
    return gr.Error(text, title=say("ux.error.title", language), print_exception=False)


def toast(kind: str, key: str, language: str, **values: Any) -> None:
    """A gr.Info / gr.Warning toast from the catalogue."""
    show = gr.Info if kind == "info" else gr.Warning
    show(say(key, language, **values), title=say("ux.review.toast_title", language))
