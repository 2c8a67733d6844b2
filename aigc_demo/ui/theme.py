"""The app's theme: Gradio's Soft theme in teal, darkened where its text contrast falls below
WCAG 2.2 AA (4.5:1): field label chips, the primary (Run) button, selected choices, hints."""

from __future__ import annotations

import gradio as gr

SYSTEM_FONTS = ("ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Noto Sans", "sans-serif")
MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Menlo", "monospace")


def studio_theme() -> gr.themes.Base:
    return gr.themes.Soft(primary_hue="teal", font=SYSTEM_FONTS, font_mono=MONO_FONTS).set(
        block_label_text_color="*primary_800",  # on primary_100: ~7:1 (Soft: primary_500, ~2.3:1)
        block_title_text_color="*primary_800",
        block_info_text_color="*neutral_600",  # the 12 px hints
        body_text_color_subdued="*neutral_600",  # footer, placeholders
        button_primary_background_fill="*primary_700",  # white text ~5.5:1
        button_primary_background_fill_hover="*primary_800",
        button_primary_text_color="white",
        checkbox_label_background_fill_selected="*primary_700",
        color_accent="*primary_700",
        color_accent_soft="*primary_100",
        input_border_color_focus="*primary_700",
    )
