"""Batched generation: concurrent, compatible image requests run as one pipeline call.

A diffusers pipeline takes a list of prompts and one generator per prompt; on a device with
spare width (every GPU, and even 2 CPU cores for small images) one call for N prompts costs
far less than N calls. ``Batcher.run`` is called by each request's own thread: the first
request for a batch key becomes the batch's leader, waits up to ``window_s`` (a few ms) for
more compatible requests (up to ``max_batch_size``), then takes the device turn (one batch at
a time) and runs them all with ``backend.generate_batch``. Requests that arrive while a batch
runs gather for the next one. Each request gets its own result (own seed, own files in its own
folder), so the studio publishes, labels and records each one as if it had run alone.

Under steady load the clients of a batch come back together: each gets its image, then sends
its next request a little later. So a free device waits, for at most ``patience_s``, until the
next batch is as wide as the load was since the last one began (the most requests of that key
in here at once); without that the clients split into two groups that take turns, each batch
half full (measured: batches of 6 and 2, or 5 and 3, with 8 clients). One client at a time is
a width of 1: it never waits for anyone, and a device idle for longer than ``patience_s``
does not wait either. The price: a request that happened to overlap another one may wait the
patience once, for a client that is not coming back.

Compatible = same model object, modality, size, steps, guidance and negative prompt, one
image each (``batch_key``). Any other image request runs alone (``backend.generate``, as
before) but still takes its turn on the device: image requests reach the studio several at a
time, so this is also what keeps them from running in parallel.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable

from aigc_demo.core.types import CancelToken, GenerationResult, ProgressFn, Request, no_progress

DEFAULT_WINDOW_S = 0.005  # how long an idle device waits for company before a batch starts
DEFAULT_PATIENCE_S = 0.25  # how long a free device waits for the rest of the last batch's width


def batch_key(modality: str, model: Any, request: Request) -> Hashable | None:
    """What requests must share to run in one call; None: this one runs alone."""
    if modality != "image" or getattr(request, "num_images", 1) != 1:
        return None
    return (modality, id(model), request.width, request.height, request.num_inference_steps,
            request.guidance_scale, request.negative_prompt)  # fmt: skip


@dataclass
class _Item:
    request: Request
    out_dir: Path
    progress: ProgressFn
    cancel: CancelToken | None
    wake: threading.Event = field(default_factory=threading.Event)
    leads: bool = False  # promoted to lead the next batch
    result: GenerationResult | None = None
    error: BaseException | None = None

    def outcome(self) -> GenerationResult:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class Batcher:
    """Gathers compatible requests into one ``generate_batch`` call (see the module docstring)."""

    def __init__(self, max_batch_size: int = 8, window_s: float = DEFAULT_WINDOW_S,
                 patience_s: float = DEFAULT_PATIENCE_S) -> None:
        self.max_batch_size = max_batch_size
        self.window_s = window_s
        self.patience_s = patience_s
        self._cond = threading.Condition()
        self._pending: dict[Hashable, list[_Item]] = {}
        self._running = False  # one batch at a time
        self._free_at = time.monotonic()  # when the last batch ended
        self._inside: dict[Hashable, int] = {}  # requests of each batch key in run() now
        self._width: dict[Hashable, int] = {}  # most of them at once since the key's last batch began (absent: 1)
        self.batches: list[int] = []  # size of every batch run, for status and benchmarks

    def accepts(self, modality: str, backend: Any) -> bool:
        """Whether ``modality``'s requests go through here (the ones the UI lets in together)."""
        return self.max_batch_size > 1 and modality == "image" and hasattr(backend, "generate_batch")

    def run(
        self, modality: str, backend: Any, model: Any, request: Request, *, out_dir: Path,
        progress: ProgressFn = no_progress, cancel: CancelToken | None = None,
    ) -> GenerationResult:
        """This request's result, generated in a batch with whatever compatible requests
        arrive together with it."""
        key = batch_key(modality, model, request)
        alone = key is None
        key = object() if alone else key  # a batch of its own
        item = _Item(request, out_dir, progress, cancel)
        with self._cond:
            queue = self._pending.setdefault(key, [])
            queue.append(item)
            leads = len(queue) == 1
            inside = self._inside[key] = self._inside.get(key, 0) + 1
            if inside > self._width.get(key, 1):
                self._width[key] = inside
            self._cond.notify_all()
        try:
            if not leads:
                item.wake.wait()
                if not item.leads:
                    return item.outcome()
            self._lead(key, backend, model, wait=not alone)
            return item.outcome()
        finally:
            with self._cond:
                self._inside[key] -= 1
                if not self._inside[key]:
                    del self._inside[key]

    def _goal(self, key: Hashable, arrived: float, free_since: float) -> tuple[int, float]:
        """(requests the batch waits for, until when): company arriving together during the
        window, then the width of the load since the key's last batch, within the patience."""
        if time.monotonic() < arrived + self.window_s:
            return self.max_batch_size, arrived + self.window_s
        return min(self.max_batch_size, self._width.get(key, 1)), free_since + self.patience_s

    def _lead(self, key: Hashable, backend: Any, model: Any, wait: bool) -> None:
        arrived = time.monotonic()
        free_since: float | None = None  # since when the device was free when this leader first found it so
        with self._cond:
            while True:
                if self._running:  # requests keep joining while an earlier batch runs
                    self._cond.wait()
                    continue
                free_since = self._free_at if free_since is None else free_since
                wanted, until = self._goal(key, arrived, free_since) if wait else (1, 0.0)
                left = until - time.monotonic()
                if len(self._pending[key]) >= wanted or left <= 0:
                    break
                self._cond.wait(left)
            self._running = True
            queue = self._pending.pop(key)
            batch, rest = queue[: self.max_batch_size], queue[self.max_batch_size :]
            if rest:  # more than one batch's worth: the first of the rest leads the next
                self._pending[key] = rest
                rest[0].leads = True
                rest[0].wake.set()
            self._width.pop(key, None)  # measured afresh from here: those in here now, and who comes
            if self._inside.get(key, 0) > 1:
                self._width[key] = self._inside[key]
        try:
            self._execute(backend, model, batch)
        finally:
            with self._cond:
                self._running, self._free_at = False, time.monotonic()
                self._cond.notify_all()

    def _execute(self, backend: Any, model: Any, batch: list[_Item]) -> None:
        try:
            if len(batch) == 1:  # alone: exactly the one-request path
                one = batch[0]
                results = [backend.generate(model, one.request, progress=one.progress, cancel=one.cancel,
                                            out_dir=one.out_dir)]
            else:
                results = backend.generate_batch(
                    model, [i.request for i in batch], out_dirs=[i.out_dir for i in batch],
                    progress=[i.progress for i in batch], cancel=[i.cancel for i in batch],
                )
            for item, result in zip(batch, results, strict=True):
                item.result = result
        except BaseException as error:  # every request of the batch hears of it (and may retry)
            for item in batch:
                item.error = error
        finally:
            self.batches.append(len(batch))
            for item in batch:
                item.leads = False
                item.wake.set()
