"""Parameters are declared once (aigc_demo/core/params.py): the playground's widgets, the API's
parameter list and descriptions, and the studio's validation all come from that declaration."""

from __future__ import annotations

import dataclasses

import gradio as gr
import pytest

from aigc_demo.core.params import PARAMS, Params
from aigc_demo.core.types import MODALITIES, ValidationError
from aigc_demo.settings import preset_settings
from aigc_demo.studio import Studio
from aigc_demo.ui import build_app
from aigc_demo.ui.i18n import param_key


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    studio = Studio(preset_settings("tiny", data_dir=tmp_path_factory.mktemp("data")))
    return studio, build_app(studio)


def _widgets(demo: gr.Blocks) -> dict[str, gr.Component]:
    """Playground widgets by their label's translation key (param.<modality>.<name>)."""
    found = {}
    for block in demo.blocks.values():
        key = getattr(getattr(block, "label", None), "key", None)
        if isinstance(key, str) and key.startswith("param."):
            found[key] = block
    return found


@pytest.mark.parametrize("modality", MODALITIES)
def test_playground_widgets_have_the_declared_limits(app, modality):
    studio, demo = app
    widgets = _widgets(demo)
    params = studio.params(modality)
    for name, param in params.items():
        widget = widgets[param_key(modality, name)]
        if param.numeric:
            assert (widget.minimum, widget.maximum) == (param.minimum, param.maximum), name
            if isinstance(widget, gr.Slider):
                assert widget.step == param.step, name
        if param.kind == "choice":
            assert [value for _, value in widget.choices] == [*param.choices, ""]
        if param.help:
            assert widget.info.key == param_key(modality, name, "help")


@pytest.mark.parametrize("modality", MODALITIES)
def test_the_declared_edges_pass_validation_and_one_step_beyond_fails(app, modality):
    studio, _ = app
    params: Params = studio.params(modality)
    base = params.request_type(prompt="a prompt")
    for name, param in params.items():
        if not param.numeric:
            continue
        for edge in (param.minimum, param.maximum):  # the declaration alone (the preset's cost ceiling: test_fairness)
            checked, _ = params.validate(dataclasses.replace(base, **{name: edge}), studio.settings.max_prompt_chars)
            assert getattr(checked, name) == edge
        for beyond in (param.minimum - 1, param.maximum + 1):
            with pytest.raises(ValidationError, match=f"^{name}: must be between"):
                studio.prepare(modality, dataclasses.replace(base, **{name: beyond}))


def test_api_lists_the_declared_parameters_in_order_with_descriptions(app):
    _, demo = app
    info = demo.get_api_info()["named_endpoints"]
    for modality in MODALITIES:
        endpoint = info[f"/generate_{modality}"]
        assert [p["parameter_name"] for p in endpoint["parameters"]] == [*PARAMS[modality], "model"]
        assert all(p["parameter_has_default"] for p in endpoint["parameters"])
    doc = demo.fns[next(i for i, fn in demo.fns.items() if fn.api_name == "generate_text")].fn.__doc__
    assert "max_new_tokens: Upper bound on the answer's length. (1 to 4096)" in doc


def test_every_request_field_is_declared():
    for modality, params in PARAMS.items():
        fields = [f.name for f in dataclasses.fields(params.request_type)]
        assert list(params) == fields, modality
        assert params["prompt"].kind == "prompt" and params["seed"].minimum == -1
