"""The playground's "Model" choice and the /list_models endpoint.

The dropdown is drawn with the configured model only and filled from the studio's candidates
(``aigc_demo.model_choice``) when a page loads or its Refresh button is pressed, never while
the app is built: the app starts, and its default model works, with every model server down.
Its value is "" for the configured model, so an API call that leaves ``model`` out runs that.
"""

from __future__ import annotations

from typing import Any, Callable

import gradio as gr

from ..core.types import MODALITIES, ValidationError
from ..model_choice import Choices
from ..security import redact, redact_data
from ..studio import Studio
from .i18n import Translator

DEFAULT_MARK = " (default · 默认)"


def choice_items(choices: Choices) -> list[tuple[str, str]]:
    """(label, value) pairs: the configured model (value "") first, then the other candidates.
    Labels are redacted: a configured reference may hold a token (a path, a URL)."""
    if not choices.refs:
        return [("—", "")]
    return [(redact(choices.default) + DEFAULT_MARK, ""), *((redact(ref), ref) for ref in choices.refs[1:])]


def render_picker(studio: Studio, modality: str, t: Translator) -> gr.Dropdown:
    """The dropdown (and its Refresh button and note); returns the dropdown, an input of the run."""
    configured = studio.settings.model_for(modality) or ""
    with gr.Row(equal_height=True):
        dropdown = gr.Dropdown(choice_items(Choices(modality, (configured,) if configured else ())), value="",
                               label=t("model_choice.label"), info=t("model_choice.help"), scale=4,
                               interactive=bool(configured), elem_id=f"model-choice-{modality}")
        refresh = gr.Button(t("model_choice.refresh"), size="sm", scale=1, min_width=90,
                            elem_id=f"model-choice-refresh-{modality}")
    note = gr.Markdown(visible=False, elem_classes=["model-choice-note"])

    def fill(again: bool = False) -> tuple[Any, Any]:
        found = studio.model_choices(modality, refresh=again) if configured else Choices(modality, ())
        return (gr.Dropdown(choices=choice_items(found)),
                gr.Markdown(f"⚠️ {found.note}" if found.note else "", visible=bool(found.note)))

    options: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden", "queue": False}
    gr.on(None, fill, None, [dropdown, note], **options)  # on every page load
    refresh.click(lambda: fill(True), None, [dropdown, note], **options)
    return dropdown


def list_models_endpoint(studio: Studio) -> Callable[..., dict[str, Any]]:
    """``/list_models(modality="", refresh=False)`` for ``gr.api``."""

    def list_models(modality: str = "", refresh: bool = False) -> dict[str, Any]:
        """The models each modality may run here: {modality: {"default": the configured model
        reference, "models": every candidate (the default first), "note": why a server's list is
        missing, or ""}}. Pass one of these references as ``model`` to /generate_<modality>;
        "" (or leaving it out) runs the default.

        Args:
            modality: text, image, audio or video; empty for all of them
            refresh: ask the model servers again instead of using their lists from the last 30 s
        """
        if modality not in ("", *MODALITIES):
            raise ValidationError("modality", f"must be one of {', '.join(MODALITIES)} or empty (got {modality!r}) · "
                                              f"必须是 {', '.join(MODALITIES)} 之一或留空")
        wanted = [modality] if modality else list(MODALITIES)
        return redact_data({m: studio.model_choices(m, refresh=bool(refresh)).as_dict() for m in wanted})

    return list_models
