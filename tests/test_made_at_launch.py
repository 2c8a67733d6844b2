"""Gradio's config and FastAPI app made once, by launch() (``aigc_demo.ui.made_at_launch``): a
Blocks built inside ``deferred()`` gets no app until it launches, its config (made when first
needed) is the one Gradio computes, it serves as usual, and nothing outside the block (another
thread, a later Blocks, a build that failed) is changed."""

from __future__ import annotations

import threading
import urllib.request

import gradio as gr
import pytest
from gradio_client import Client

from aigc_demo.ui import made_at_launch
from conftest import free_port


def _small_app() -> gr.Blocks:
    with gr.Blocks() as demo:
        box, out = gr.Textbox(), gr.Textbox()
        box.submit(str.upper, box, out, api_name="shout")
    return demo.queue()


def test_a_deferred_build_makes_no_app_and_its_config_when_first_needed():
    with made_at_launch.deferred():
        demo = _small_app()
        assert demo.app is None and demo.config == {}  # neither closing the Blocks nor queue() made them
    assert demo.config == {}  # nor leaving deferred()
    assert "/shout" in demo.get_api_info()["named_endpoints"]  # reads the config: made first
    reference = _small_app()  # built as Gradio does
    assert reference.app is not None
    assert demo.config == demo.get_config_file()  # what Gradio computes for it, outside the block
    assert [c["type"] for c in demo.config["components"]] == [c["type"] for c in reference.config["components"]]
    assert [d["api_name"] for d in demo.config["dependencies"]] == ["shout"]
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        assert demo.app is not None
        with urllib.request.urlopen(demo.local_url) as page:
            assert page.status == 200
        assert Client(demo.local_url, verbose=False).predict("quiet", api_name="/shout") == "QUIET"
    finally:
        demo.close()


def test_other_threads_and_later_builds_are_left_as_they_are():
    built: list[gr.Blocks] = []
    with made_at_launch.deferred():
        worker = threading.Thread(target=lambda: built.append(_small_app()))
        worker.start()
        worker.join(timeout=60)
    assert built and built[0].app is not None and built[0].config["components"]
    with pytest.raises(RuntimeError):
        with made_at_launch.deferred():
            raise RuntimeError("a build that failed")
    after = _small_app()
    assert after.app is not None and after.config["components"]
