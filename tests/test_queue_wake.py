"""Gradio's queue loop woken by work (``aigc_demo.ui.queue_wake``): every request is still started
and answered, in order, while the loop sleeps a handful of times a second instead of a thousand.
A real Gradio app served on 127.0.0.1, called through gradio_client."""

from __future__ import annotations

import asyncio
import time

import gradio as gr
import gradio.queueing as queueing
import pytest
from gradio_client import Client

from aigc_demo.ui import queue_wake
from conftest import free_port

WORK_S = 0.4  # each request's run


def _slow_app() -> gr.Blocks:
    def work(name: str) -> str:
        time.sleep(WORK_S)
        return f"done {name}"

    with gr.Blocks() as demo:
        box, out = gr.Textbox(), gr.Textbox()
        box.submit(work, box, out, api_name="work", concurrency_limit=1)
    return demo.queue()


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """When the woken loop slept (one entry per sleep)."""
    seen: list[float] = []
    original = queue_wake.WakeUp.sleep

    async def counted(self: queue_wake.WakeUp) -> None:
        seen.append(time.monotonic())
        await original(self)

    monkeypatch.setattr(queue_wake.WakeUp, "sleep", counted)
    return seen


def test_requests_are_started_and_answered_while_the_loop_sleeps_on_work(sleeps):
    demo = _slow_app()
    assert queue_wake.install(demo) and queue_wake.install(demo)  # once; the second call changes nothing
    assert isinstance(demo._queue.sleep_when_free, queue_wake.WakeUp)
    assert float(demo._queue.sleep_when_free) in (0.001, 0.05)  # still Gradio's number (0.05 on Windows)
    assert demo._queue.progress_update_sleep_when_free == queue_wake.PROGRESS_EVERY_S
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        sleeps.clear()
        start = time.monotonic()
        jobs = [client.submit(f"r{i}", api_name="/work") for i in range(3)]  # one at a time (limit 1)
        assert [job.result(timeout=30) for job in jobs] == ["done r0", "done r1", "done r2"]
        busy = time.monotonic() - start
        # Gradio's own loop sleeps 1 ms at a time: ~1,000 sleeps over these 1.2+ s. Woken by work,
        # it sleeps once per event pushed or ended, or MAX_SLEEP_S at most.
        assert busy >= 3 * WORK_S
        assert len(sleeps) <= busy / queue_wake.MAX_SLEEP_S + 3 * 4, len(sleeps)
        sleeps.clear()
        time.sleep(0.5)  # idle
        assert len(sleeps) <= 0.5 / queue_wake.MAX_SLEEP_S + 2
        assert client.predict("again", api_name="/work") == "done again"  # an idle loop still starts work
    finally:
        demo.close()


def test_other_sleeps_in_gradio_queueing_pass_through():
    demo = _slow_app()
    assert queue_wake.install(demo)
    view = queueing.asyncio
    assert view is not asyncio and view.Queue is asyncio.Queue  # the same asyncio, but for sleep

    async def plain() -> float:
        start = time.monotonic()
        assert await view.sleep(0.05, "kept") == "kept"
        return time.monotonic() - start

    assert asyncio.run(plain()) >= 0.05
    assert queue_wake.install(_slow_app())  # a second app in the process: the view is not wrapped again
    assert queueing.asyncio is view


def test_a_wake_up_before_or_during_the_sleep_ends_it(monkeypatch):
    monkeypatch.setattr(queue_wake, "MAX_SLEEP_S", 5.0)  # a sleep that ends sooner was woken
    wake = queue_wake.WakeUp(0.001)

    async def woken_early() -> float:
        wake.wake()  # work arrived while the loop was busy
        start = time.monotonic()
        await wake.sleep()
        return time.monotonic() - start

    assert asyncio.run(woken_early()) < 2.0

    async def woken_during() -> float:
        start = time.monotonic()
        asyncio.get_running_loop().call_later(0.01, wake.wake)
        await wake.sleep()
        return time.monotonic() - start

    assert asyncio.run(woken_during()) < 2.0
