"""Gradio's per-request work cut by ``aigc_demo.ui.request_path`` gives the same answers.

Each test runs a real Gradio Blocks event through ``Blocks.process_api`` twice, once as Gradio
does it and once with the app's cuts installed, and compares what the browser would receive and
what the session keeps.
"""

from __future__ import annotations

import asyncio
import contextlib

import gradio as gr
import gradio.utils as gradio_utils
import pytest
from gradio.state_holder import SessionState

from aigc_demo.ui import request_path
from aigc_demo.ui.sessions import LeanSessionState


def _demo() -> tuple[gr.Blocks, list[gr.Component]]:
    """An event with a text, a number, a JSON and a State output, like the playground's."""
    with gr.Blocks() as demo:
        prompt = gr.Textbox()
        text, used, details, ids = gr.Textbox(), gr.Number(value=3), gr.JSON(value={"a": 1}), gr.State([])
        gr.Button().click(lambda p: (p, 1, {}, []), prompt, [text, used, details, ids], api_name="go")
    return demo, [text, used, details, ids]


def _postprocess(demo: gr.Blocks, state: SessionState, predictions: list) -> list:
    block_fn = next(iter(demo.fns.values()))
    return asyncio.run(demo.postprocess_data(block_fn, predictions, state))


@pytest.mark.parametrize("state_class", [SessionState, LeanSessionState])
def test_skipped_outputs_answer_as_gradio_does(state_class):
    cases = [
        ["partial text", gr.skip(), gr.skip(), gr.skip()],  # a streamed chunk
        ["done", 7, {"seed": 7}, ["rec-1"]],  # the last one
        [gr.skip(), gr.skip(), gr.skip(), gr.skip()],  # nothing changes
        ["again", gr.update(visible=False), gr.skip(), ["rec-2"]],  # a real update next to a skip
    ]
    demo, outputs = _demo()
    block_fn = next(iter(demo.fns.values()))
    plain_state, cut_state = state_class(demo), state_class(demo)
    request_path.pass_skips(demo)
    for predictions in cases:
        expected = asyncio.run(gr.Blocks.postprocess_data(demo, block_fn, list(predictions), plain_state))  # Gradio's
        assert _postprocess(demo, cut_state, list(predictions)) == expected
    # the session keeps the same State values; its config (read only for deep links, which the app
    # does not use) holds the last value each output was sent, where Gradio's would drop a skipped one's
    assert cut_state.state_data[outputs[3]._id] == plain_state.state_data[outputs[3]._id] == ["rec-2"]
    assert cut_state.config_values[outputs[0]._id]["props"]["value"] == "again"
    assert cut_state.config_values[outputs[2]._id]["props"]["value"].model_dump() == {"seed": 7}
    assert cut_state.config_values[outputs[1]._id]["props"]["visible"] is False


def test_a_skip_builds_no_component():
    demo, (_, used, details, _) = _demo()
    request_path.pass_skips(demo)
    state = SessionState(demo)
    built: list[str] = []
    original = gr.JSON.__init__

    def counting(self, *args, **kwargs):
        built.append(type(self).__name__)
        original(self, *args, **kwargs)

    gr.JSON.__init__ = counting
    try:
        assert _postprocess(demo, state, ["chunk", gr.skip(), gr.skip(), gr.skip()]) == \
            ["chunk", {"__type__": "update"}, {"__type__": "update"}, None]
    finally:
        gr.JSON.__init__ = original
    assert built == [] and state[details._id] is details and state[used._id] is used  # still the app's own


def test_install_cuts_the_queue_summary_and_the_matplotlib_import(monkeypatch):
    monkeypatch.setattr(gradio_utils, "MatplotlibBackendMananger", gradio_utils.MatplotlibBackendMananger)
    demo, _ = _demo()
    demo.queue()
    request_path.install(demo)
    assert demo._queue.ANAYLTICS_CACHE_FREQUENCY >= request_path.ANALYTICS_EVERY
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # not installed: Gradio's manager would only fail to import it
        assert gradio_utils.MatplotlibBackendMananger is contextlib.nullcontext
    else:
        assert gradio_utils.MatplotlibBackendMananger is not contextlib.nullcontext
