"""Fair sharing of the one generation slot: who may queue what, and runs nobody waits for.

Gradio's queue is first come, first served with one size limit for every event. Here:

- generation (the groups of ``ui.concurrency``: local ``gpu``, batched ``gpu-image``, ``remote-*``) admits at most ``AIGC_USER_QUEUE_LIMIT``
  requests per user (the login name with --auth, else the browser session) waiting or running,
  and at most ``AIGC_QUEUE_SIZE`` waiting in all;
- everything else (reviews, listings, status: their own groups) is never refused because
  generation is busy (only a generous bound of its own);
- a refusal is HTTP 429 with a ``Retry-After`` header and a message that says how long to wait
  (the browser shows it), estimated from the average generation time so far;
- a run whose client went away (closed tab, dropped connection) is stopped through its
  cancel token within about a second (:class:`DisconnectWatch`).

This works around Gradio internals (``Blocks._queue``), kept in this one module.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import gradio as gr
from fastapi import HTTPException

from ..security import session_key
from .concurrency import GPU_GROUP, is_generation
from .runs import SessionRuns
DEFAULT_RUN_SECONDS = 10.0  # the wait estimate before any run has finished
LIGHT_QUEUE_FACTOR = 8  # light events waiting, at most this many times AIGC_QUEUE_SIZE (64 or more)


class FairQueue:
    """Admission control in front of Gradio's queue (see the module docstring)."""

    def __init__(self, demo: gr.Blocks, queue_size: int, user_limit: int) -> None:
        self.demo = demo
        self.queue_size = queue_size
        self.user_limit = user_limit
        self.refused = 0

    def install(self) -> None:
        """Put the admission check in front of ``demo``'s queue (once)."""
        queue = self.demo._queue
        if getattr(queue, "fair_queue", None) is self:
            return
        original = queue.push

        async def push(body: Any, request: Any, username: str | None) -> Any:
            self.admit(body, username)
            return await original(body=body, request=request, username=username)

        queue.push = push  # type: ignore[method-assign]
        queue.fair_queue = self  # type: ignore[attr-defined]

    # ------------------------------------------------------------ decisions

    def _events(self, group: str) -> tuple[list[Any], list[Any]]:
        queue = self.demo._queue
        waiting = list(getattr(queue.event_queue_per_concurrency_id.get(group), "queue", []))
        running = [e for job in queue.active_jobs if job for e in job if e.concurrency_id == group]
        return waiting, running

    def wait_seconds(self, group: str = GPU_GROUP) -> int:
        """About how long a new generation request of ``group`` would wait now."""
        queue = self.demo._queue
        times = [t.avg_time for fn, t in list(queue.process_time_per_fn.items())
                 if fn.concurrency_id == group and t.count and t.avg_time]
        per_run = sum(times) / len(times) if times else DEFAULT_RUN_SECONDS
        waiting, running = self._events(group)
        return max(5, math.ceil((len(waiting) + len(running)) * per_run))

    def admit(self, body: Any, username: str | None) -> None:
        """Raise HTTP 429 (with Retry-After and a plain message) when ``body`` may not queue."""
        fn = self.demo.fns.get(body.fn_index) if body.fn_index is not None else None
        if fn is None:
            return
        if not is_generation(fn.concurrency_id):
            light = sum(len(q.queue) for cid, q in list(self.demo._queue.event_queue_per_concurrency_id.items())
                        if not is_generation(cid))
            if light >= max(64, LIGHT_QUEUE_FACTOR * self.queue_size):
                self._refuse("The server is very busy: too many requests are waiting. Please try again in a few seconds.", 5)
            return
        group = fn.concurrency_id  # the gpu group, or a remote modality's own (ui.concurrency)
        waiting, running = self._events(group)
        owner = username or body.session_hash
        groups = [g for g in list(self.demo._queue.event_queue_per_concurrency_id) if is_generation(g)]
        everywhere = [e for g in {group, *groups} for part in self._events(g) for e in part]
        mine = sum(1 for e in everywhere if (e.username or e.session_hash) == owner)
        wait = self.wait_seconds(group)
        if mine >= self.user_limit:
            self._refuse(f"You already have {mine} generation request(s) waiting or running (at most {self.user_limit} "
                         f"per user, so everyone gets a turn). Please wait for them: about {wait} s.", wait)
        if len(waiting) >= self.queue_size:
            self._refuse(f"The queue is full: {len(waiting)} generation requests are waiting. "
                         f"Please try again in about {wait} s.", wait)

    def _refuse(self, message: str, seconds: int) -> None:
        self.refused += 1
        raise HTTPException(status_code=429, detail=message, headers={"Retry-After": str(seconds)})


class DisconnectWatch:
    """Stops the runs whose client went away: Gradio marks their queued event not ``alive``
    (its stream closed); a thread started with the first run checks every ``interval``."""

    def __init__(self, demo: gr.Blocks, runs: SessionRuns, interval: float = 0.5) -> None:
        self.demo = demo
        self.runs = runs
        self.interval = interval
        self.stopped = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        runs.on_start = self.ensure_started

    def gone(self, session: str) -> bool:
        """The session (by its key, ``security.session_key``) has a running event that Gradio
        has given up on: its client disconnected."""
        jobs = list(getattr(self.demo._queue, "active_jobs", []))
        return any(not e.alive and session_key(e.session_hash) == session for job in jobs if job for e in job)

    def ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="aigc-disconnect-watch", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval)
            self.check()

    def check(self) -> int:
        """Cancel every run whose client went away; returns how many were stopped now."""
        stopped = self.runs.cancel_where(self.gone)
        self.stopped += stopped
        return stopped


def install(demo: gr.Blocks, runs: SessionRuns, queue_size: int, user_limit: int) -> tuple[FairQueue, DisconnectWatch]:
    """Fair admission and the disconnect watch for ``demo`` (after ``demo.queue()``)."""
    fair = FairQueue(demo, queue_size, user_limit)
    fair.install()
    return fair, DisconnectWatch(demo, runs)
