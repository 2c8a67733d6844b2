"""What every backend is: one class per (modality, scheme) with a small, shared contract.

- ``load(device, dtype)`` builds the model object (the ModelManager, not the backend, then
  places it on the device and owns its memory);
- ``stream(model, request, progress=, cancel=, out_dir=)`` yields text so far (text backends)
  and ends with the :class:`GenerationResult`; media backends implement ``generate`` instead
  and ``stream`` yields its one result.

Requests reach a backend validated (by the studio, with ``params``) and with a resolved seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterator

from aigc_demo.core.params import Params
from aigc_demo.core.types import CancelToken, GenerationResult, ProgressFn, Request, no_progress


class Backend:
    modality: ClassVar[str]
    scheme: ClassVar[str]
    params: ClassVar[Params]  # the requests it takes: limits, defaults, help
    smoke_test: ClassVar[bool] = False  # random weights: its output is noise, by design
    license: ClassVar[str] = ""  # shown beside the model name where known
    remote: ClassVar[bool] = False  # runs on a server: the model manager neither loads nor budgets it

    def __init__(self, name: str, *, cache_dir: Path | None = None, threads: int | None = None) -> None:
        self.name = name
        self.cache_dir = cache_dir  # where built-in models are built or assembled
        self.threads = threads  # CPU threads for engines with their own pool (None: the engine's choice)

    def location(self) -> str:
        """What ``from_pretrained`` reads: a Hub id or a local path (built-ins build one)."""
        return self.name

    def missing(self) -> str:
        """What must be installed before it can run here ("" when nothing is missing)."""
        return ""

    def available_offline(self) -> bool:
        """Whether it can load with no network (its weights are on this machine)."""
        return True

    def size_hint(self) -> int:
        """Bytes of weights on disk (0 when unknown): lets the manager make room first."""
        return 0

    def load(self, device: str, dtype: Any) -> Any:
        raise NotImplementedError

    def stream(
        self, model: Any, request: Request, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, out_dir: Path | None = None,
    ) -> Iterator[str | GenerationResult]:
        """Text so far while it grows (text backends), then the result."""
        yield self.generate(model, request, progress=progress, cancel=cancel, out_dir=out_dir)

    def generate(
        self, model: Any, request: Request, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, out_dir: Path | None = None,
    ) -> GenerationResult:
        """Run to completion; text backends get this from ``stream``."""
        if type(self).stream is Backend.stream:
            raise NotImplementedError(f"{type(self).__name__} implements neither stream nor generate")
        result = None
        for update in self.stream(model, request, progress=progress, cancel=cancel, out_dir=out_dir):
            if isinstance(update, GenerationResult):
                result = update
        if result is None:
            raise RuntimeError(f"{type(self).__name__}.stream ended without a result")
        return result
