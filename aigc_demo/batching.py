"""Batched generation: concurrent, compatible image requests run as one pipeline call.

A diffusers pipeline takes a list of prompts and one generator per prompt; on a device with
spare width (every GPU, and even 2 CPU cores for small images) one call for N prompts costs
far less than N calls. ``Batcher.run`` is called by each request's own thread: the first
request for a batch key becomes the batch's leader, waits up to ``window_s`` (a few ms) for
more compatible requests (up to ``max_batch_size``), then takes the device turn (one batch at
a time) and runs them all with ``backend.generate_batch``. Requests that arrive while a batch
runs gather for the next one, so under load batches fill without waiting. Each request gets
its own result (own seed, own files in its own folder), so the studio publishes, labels and
records each one as if it had run alone.

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

    def __init__(self, max_batch_size: int = 8, window_s: float = DEFAULT_WINDOW_S) -> None:
        self.max_batch_size = max_batch_size
        self.window_s = window_s
        self._cond = threading.Condition()
        self._pending: dict[Hashable, list[_Item]] = {}
        self._device = threading.Lock()  # one batch at a time
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
            if len(queue) >= self.max_batch_size:
                self._cond.notify_all()
        if not leads:
            item.wake.wait()
            if not item.leads:
                return item.outcome()
        self._lead(key, backend, model, wait=not alone)
        return item.outcome()

    def _lead(self, key: Hashable, backend: Any, model: Any, wait: bool) -> None:
        deadline = time.monotonic() + (self.window_s if wait else 0.0)
        with self._cond:
            while len(self._pending[key]) < self.max_batch_size and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
        with self._device:  # requests keep joining while an earlier batch runs
            with self._cond:
                queue = self._pending.pop(key)
                batch, rest = queue[: self.max_batch_size], queue[self.max_batch_size :]
                if rest:  # more than one batch's worth: the first of the rest leads the next
                    self._pending[key] = rest
                    rest[0].leads = True
                    rest[0].wake.set()
            self._execute(backend, model, batch)

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
