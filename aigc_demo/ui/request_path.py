"""Gradio's per-request work that this app triggers, cut to what the request needs.

Measured server-side with py-spy on ``/generate_*`` REST calls (benchmarks/RESULTS.md, issue 15
items 1-2), four costs of Gradio's own ran on every request, or on every streamed chunk:

- an output left unchanged with ``gr.skip()`` (``{"__type__": "update"}``) is an "update"
  to Gradio, which builds a new component object for it and its config, ~2-5 ms each; a text
  stream skips three outputs per token. :func:`pass_skips` answers skips itself, exactly as
  Gradio would (``{"__type__": "update"}``, ``None`` for a ``State``), and hands Gradio the rest.
- ``MatplotlibBackendMananger`` tries ``import matplotlib`` around every call; when it is not
  installed that is a failed search of ``sys.path`` each time (~1.5 ms). Without matplotlib the
  manager does nothing, so :func:`install` puts a no-op in its place.
- after every event the queue rebuilds its monitoring summary (a pandas DataFrame of up to
  10,000 past events); it is rebuilt every ``ANALYTICS_EVERY`` events instead.
- the queue's loop looks for work every millisecond, even while a request runs, taking the GIL
  from the model's Python loop: :mod:`.queue_wake` wakes it on work instead.

:func:`install` applies them to one app (after ``demo.queue()``); nothing changes on import.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
from typing import Any

import gradio as gr
import gradio.utils as gradio_utils
from gradio.blocks import Block

from . import queue_wake

SKIP = {"__type__": "update"}  # what gr.skip() returns
ANALYTICS_EVERY = 100  # events between rebuilds of the queue's monitoring summary


def is_skip(value: Any) -> bool:
    return isinstance(value, dict) and value == SKIP


def pass_skips(demo: gr.Blocks) -> None:
    """Make ``demo`` answer ``gr.skip()`` outputs without building components for them."""
    postprocess = demo.postprocess_data  # Gradio's, bound to demo

    async def postprocess_data(block_fn: Any, predictions: Any, state: Any) -> list[Any]:
        outputs = block_fn.outputs
        if (not isinstance(predictions, (list, tuple)) or len(outputs) < 2 or len(predictions) != len(outputs)
                or block_fn.batch or block_fn.is_validator_function or not any(map(is_skip, predictions))):
            return await postprocess(block_fn, predictions, state)
        kept = [i for i, value in enumerate(predictions) if not is_skip(value)]
        values: Any = [predictions[i] for i in kept]
        if len(kept) == 1:  # Gradio takes a one-output event's value as it is, not in a list
            values = values[0]
            if isinstance(values, dict) and values and all(isinstance(key, Block) for key in values):
                return await postprocess(block_fn, predictions, state)  # would read as {component: value}
        done: list[Any] = []
        if kept:
            rest = copy.copy(block_fn)  # the same event, with only the outputs that change
            rest.outputs = [outputs[i] for i in kept]
            done = list(await postprocess(rest, values, state))
        answered = iter(done)
        return [next(answered) if i in kept else (None if outputs[i].stateful else dict(SKIP))
                for i in range(len(outputs))]

    demo.postprocess_data = postprocess_data  # type: ignore[method-assign]


def install(demo: gr.Blocks) -> gr.Blocks:
    """Apply the four cuts above to ``demo`` (call after ``demo.queue()``)."""
    pass_skips(demo)
    queue_wake.install(demo)
    if importlib.util.find_spec("matplotlib") is None:  # nothing to switch: Gradio's manager would only fail an import
        gradio_utils.MatplotlibBackendMananger = contextlib.nullcontext  # type: ignore[attr-defined, assignment]
    queue = getattr(demo, "_queue", None)
    if queue is not None and hasattr(queue, "ANAYLTICS_CACHE_FREQUENCY"):  # Gradio's spelling
        queue.ANAYLTICS_CACHE_FREQUENCY = max(queue.ANAYLTICS_CACHE_FREQUENCY, ANALYTICS_EVERY)
    return demo
