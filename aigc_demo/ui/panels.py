"""Draws a plugin's panels: each :class:`~aigc_demo.scenarios.PanelSpec` (plain data) becomes
one Gradio component; the plugin's view fills it with values computed by code, never by the model."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..scenarios import PanelSpec


def panel_component(spec: PanelSpec, elem_id: str, label: Any) -> gr.Component:
    """A Dataframe, LinePlot, BarPlot or Markdown for ``spec``, titled ``label`` (a translation);
    hidden until a run gives it data."""
    if spec.kind == "table":
        return gr.Dataframe(label=label, interactive=False, wrap=True, elem_id=elem_id, visible=False)
    if spec.kind == "line":
        return gr.LinePlot(x=spec.x, y=spec.y, color=spec.color or None, label=label, height=260, elem_id=elem_id,
                           visible=False)
    if spec.kind == "bar":
        return gr.BarPlot(x=spec.x, y=spec.y, color=spec.color or None, label=label, height=260, elem_id=elem_id,
                          visible=False)
    return gr.Markdown(label=label, elem_id=elem_id, elem_classes=["panel-note"], visible=False)
