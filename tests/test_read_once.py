"""Gradio reads each function's signature and type hints once (``aigc_demo.ui.read_once``): the
answers are Gradio's own, remembered per function and per method of a function, handed out as
copies where a caller could change them, forgotten with the function, and an app built this way
has exactly the config an app built without it has."""

from __future__ import annotations

import gc
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import gradio.blocks
import gradio.component_meta
import gradio.utils

from aigc_demo.ui import read_once

ROOT = Path(__file__).resolve().parents[1]


def _handler(text: str, count: int = 1) -> str:
    return text * count


class _Holder:
    def method(self, text: str) -> str:
        return text


def test_gradios_modules_read_signatures_once_with_gradios_answers():
    read_once.install()
    read_once.install()  # idempotent
    view = gradio.blocks.inspect
    assert view is not inspect and gradio.component_meta.inspect is view and gradio.utils.inspect is view
    first = view.signature(_handler)
    assert first == inspect.signature(_handler) and view.signature(_handler) is first  # read once
    assert view.getfullargspec(_handler) == inspect.getfullargspec(_handler)
    assert view.getfullargspec(_handler) is view.getfullargspec(_handler)
    # A method: one answer for every object it is bound to, the bound signature (no self).
    one, two = _Holder().method, _Holder().method
    assert view.signature(one) is view.signature(two) and list(view.signature(one).parameters) == ["text"]
    # Not a function, or a call with options: read as before (a new answer each time).
    assert view.signature(_Holder) == inspect.signature(_Holder) and view.signature(_Holder) is not view.signature(_Holder)
    assert view.signature(_handler, follow_wrapped=False) is not first
    assert view.cleandoc is inspect.cleandoc  # the rest of inspect is inspect's


def test_type_hints_are_copies():
    read_once.install()
    hints = gradio.utils.get_type_hints(_handler)
    assert hints == {"text": str, "count": int, "return": str}
    hints["text"] = bytes  # a caller changing its answer changes nobody else's
    assert gradio.utils.get_type_hints(_handler)["text"] is str


def test_each_function_is_read_once_and_forgotten_with_it():
    reads: list[str] = []

    def read(subject: object) -> str:
        reads.append(getattr(subject, "__qualname__", ""))  # not the subject: it must be free to go
        return f"answer {len(reads)}"

    remembered = read_once.remembered(read)

    def passing(value: int) -> int:
        return value

    assert remembered(passing) == remembered(passing) == "answer 1"
    assert remembered(_Holder().method) == remembered(_Holder().method) == "answer 2"
    assert remembered(passing) == "answer 1" and len(reads) == 2
    assert remembered(len) == "answer 3" and remembered(len) == "answer 4"  # a builtin: read each time
    functions = remembered.answers  # type: ignore[attr-defined]
    assert sum(map(len, functions.values())) == 2
    del passing
    gc.collect()
    assert sum(map(len, functions.values())) == 1  # the method's function (the class holds it) stays


CONFIG_PROBE = """
import json, sys
import gradio as gr
if sys.argv[1] == "once":
    from aigc_demo.ui import read_once
    read_once.install()

def greet(name: str, times: int, request: gr.Request) -> str:
    return name * times

class Shouter:
    def shout(self, text: str) -> str:
        return text.upper()

with gr.Blocks() as demo:
    name, times, out = gr.Textbox(label="name"), gr.Slider(1, 5, step=1), gr.Textbox()
    gr.Button("go").click(greet, [name, times], out, api_name="greet")
    name.submit(Shouter().shout, name, out, api_name="shout")
    gr.Markdown("**hi**")
print(json.dumps({"config": demo.get_config_file(), "api": demo.get_api_info()}, default=str))
"""


def test_an_app_built_reading_once_has_gradios_config_and_api():
    def probe(mode: str) -> dict:
        done = subprocess.run([sys.executable, "-c", CONFIG_PROBE, mode], cwd=ROOT, capture_output=True, text=True,
                              timeout=180, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    once, plain = probe("once"), probe("plain")
    for answer in (once, plain):
        answer["config"].pop("app_id")  # random per Blocks
    assert once == plain
    assert {"/greet", "/shout"} <= set(once["api"]["named_endpoints"])
