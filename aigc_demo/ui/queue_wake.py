"""Gradio's queue loop woken by work instead of looking for it every millisecond.

Gradio's ``Queue.start_processing`` sleeps ``sleep_when_free`` (1 ms) whenever it has nothing to
start: with the queue empty, and also while every request it started is still running. So during
a generation the event loop wakes a thousand times a second and takes the GIL from the model's
own Python loop (the tiny models, and any model's sampling loop, are Python-bound on a CPU); an
idle server does the same forever. Measured in benchmarks/RESULTS.md (issue 15, round four).
Its progress loop, which looks for progress to send every 10 ms (also when idle), looks every
``PROGRESS_EVERY_S`` instead: a progress bar needs no more.

:func:`install` gives one app's queue a ``sleep_when_free`` that is still the same float to
Gradio, but a sleep on it (through ``gradio.queueing``'s view of ``asyncio``) lasts until work
may have arrived: an event pushed, or a job ended (a slot freed). ``MAX_SLEEP_S`` bounds it, so a
wake-up this module does not know of costs at most that. Where Gradio no longer sleeps this way,
nothing changes. Nothing is patched on import.
"""

from __future__ import annotations

import asyncio
import functools
import types
from typing import Any

import gradio as gr
import gradio.queueing as queueing

MAX_SLEEP_S = 0.1  # the longest the loop sleeps without a wake-up
PROGRESS_EVERY_S = 0.1  # progress bars updated 10 times a second (Gradio: looked at 100 times, even idle)


class WakeUp(float):
    """Gradio's ``sleep_when_free`` (the same number) with a wake-up: sleeping on it waits until
    :meth:`wake` or ``MAX_SLEEP_S``."""

    def __init__(self, value: float) -> None:  # the number itself is float's
        self._waiter: asyncio.Future[None] | None = None
        self._woken = False  # woken while nobody slept: the next sleep returns at once

    async def sleep(self) -> None:
        if self._woken:
            self._woken = False
            return
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_later(MAX_SLEEP_S, _settle, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def wake(self) -> None:
        """Called on the event loop when work may be waiting."""
        if self._waiter is None:
            self._woken = True
        else:
            _settle(self._waiter)


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def _sleep(delay: float, result: Any = None) -> Any:
    """``asyncio.sleep`` for ``gradio.queueing``: a sleep on a :class:`WakeUp` waits for it."""
    if isinstance(delay, WakeUp):
        await delay.sleep()
        return result
    return await asyncio.sleep(delay, result)


def _asyncio_with_wake_ups() -> types.ModuleType:
    """A stand-in for the ``asyncio`` module as ``gradio.queueing`` sees it: the same, but its
    ``sleep`` is :func:`_sleep`."""
    view = types.ModuleType("asyncio", "asyncio as gradio.queueing sees it (aigc_demo.ui.queue_wake)")
    view.__dict__.update(asyncio.__dict__)
    view.sleep = _sleep  # type: ignore[attr-defined]
    return view


def _waking(method: Any, wake: WakeUp) -> Any:
    @functools.wraps(method)
    async def waking(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        finally:
            wake.wake()

    return waking


def install(demo: gr.Blocks) -> bool:
    """Wake ``demo``'s queue loop on work (call after ``demo.queue()``); False where this Gradio
    has no such loop to change."""
    queue = getattr(demo, "_queue", None)
    free = getattr(queue, "sleep_when_free", None)
    if isinstance(free, WakeUp):
        return True
    if not (isinstance(free, float) and hasattr(queue, "push") and hasattr(queue, "process_events")
            and hasattr(queueing, "asyncio")):
        return False
    wake = WakeUp(free)
    queue.push = _waking(queue.push, wake)  # a new event
    queue.process_events = _waking(queue.process_events, wake)  # a job's end frees its slot
    queue.sleep_when_free = wake
    if isinstance(getattr(queue, "progress_update_sleep_when_free", None), float):
        queue.progress_update_sleep_when_free = max(queue.progress_update_sleep_when_free, PROGRESS_EVERY_S)
    if queueing.asyncio is asyncio:  # once per process; other queues' sleeps pass through
        queueing.asyncio = _asyncio_with_wake_ups()  # type: ignore[attr-defined]
    return True
