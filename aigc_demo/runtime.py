"""The model manager: the only code that decides device and dtype, loads, places and evicts.

``ModelManager.get(key, model_ref, loader)`` returns a loaded model, loading it on first use
exactly once even when many requests arrive together. Loaded models are kept in
most-recently-used order; when a memory budget would be exceeded the least recently used ones
are evicted and their memory freed. Models idle for too long are unloaded by a background
reaper (started with the first load, never at import). A failed load is remembered for a
cooldown so that every click does not retry it.

Out of memory is handled here, once, for loading and generating alike: the other models are
unloaded and the work is tried once more; then the user is told what to change.

Eviction drops the manager's references, so a model nothing else holds is freed at once (the
tiny and real pipelines hold no reference cycles); a full ``gc.collect()`` (0.2-0.3 s with the
model libraries loaded) runs only when memory is actually short: less free than the incoming
model plus a reserve, a load that failed, or out of memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import gc
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar

from aigc_demo.core.types import ModelLoadError, OutOfMemory
from aigc_demo.security import redact

Loader = Callable[[str, Any], Any]  # loader(device, dtype) -> model object
T = TypeVar("T")
LOAD_OOM_HINT = ("Try a lighter preset (--preset cpu, offline or tiny), a smaller model, or free memory "
                 "used by other programs.")


def is_out_of_memory(error: BaseException | None) -> bool:
    """torch's OutOfMemoryError (or an error caused by one, e.g. wrapped by a loader)."""
    seen = 0
    while error is not None and seen < 8:
        if type(error).__name__ == "OutOfMemoryError" or "out of memory" in str(error).lower():
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def load_error(model_ref: str, error: BaseException) -> ModelLoadError:
    """Any loader failure as one ModelLoadError, with secrets (HF_TOKEN...) removed."""
    if isinstance(error, ModelLoadError):
        return ModelLoadError(redact(error.model_ref), redact(error.reason), redact(error.hint))
    return ModelLoadError(redact(model_ref), redact(f"{type(error).__name__}: {error}"))


def detect_device(requested: str = "auto") -> str:
    """CUDA > MPS > CPU, unless a device is requested explicitly."""
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def choose_dtype(device: str, requested: str = "auto") -> Any:
    """bf16 on GPUs that support it, fp16 on other accelerators, fp32 on CPU - unless a dtype
    is requested explicitly (a switch for optimisations that change outputs)."""
    import torch

    if requested != "auto":
        return getattr(torch, requested)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def device_memory_bytes(device: str) -> int:
    """Total memory of the device (system RAM for CPU and MPS)."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_properties(torch.device(device)).total_memory
    import psutil

    return psutil.virtual_memory().total


def _modules(obj: Any) -> list[Any]:
    """The torch modules inside a model object: a module, a pipeline, or a dataclass of them."""
    import torch

    if isinstance(obj, torch.nn.Module):
        return [obj]
    if hasattr(obj, "components") and isinstance(getattr(obj, "components"), dict):  # diffusers
        return [c for c in obj.components.values() if isinstance(c, torch.nn.Module)]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [m for f in dataclasses.fields(obj) for m in _modules(getattr(obj, f.name))]
    if isinstance(obj, (list, tuple)):
        return [m for item in obj for m in _modules(item)]
    return []


def model_size_bytes(obj: Any) -> int:
    """Bytes held by parameters and buffers (shared tensors counted once); a model object that
    is no torch module (llama.cpp) states its own ``nbytes``."""
    if isinstance(getattr(obj, "nbytes", None), int):
        return obj.nbytes
    seen: set[int] = set()
    total = 0
    for module in _modules(obj):
        for tensor in list(module.parameters()) + list(module.buffers()):
            if tensor.data_ptr() not in seen:
                seen.add(tensor.data_ptr())
                total += tensor.numel() * tensor.element_size()
    return total


def place(obj: Any, device: str, offload: bool = False) -> None:
    """Move a model object onto ``device`` (pipelines as a whole, modules one by one)."""
    import torch

    if isinstance(obj, torch.nn.Module):
        obj.to(device)
    elif hasattr(obj, "components") and hasattr(obj, "to"):  # a diffusers pipeline
        if offload and device.startswith("cuda") and hasattr(obj, "enable_model_cpu_offload"):
            obj.enable_model_cpu_offload()
        else:
            obj.to(device)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            place(getattr(obj, f.name), device, offload)


def free_bytes(device: str) -> tuple[int, int]:
    """(free, total) bytes of the device (available system RAM for CPU and MPS)."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.mem_get_info(torch.device(device))
    import psutil

    memory = psutil.virtual_memory()
    return memory.available, memory.total


def memory_short(device: str, incoming: int = 0, reserve: int | None = None) -> bool:
    """Whether less than ``incoming`` bytes plus a reserve (default: a tenth of the device)
    is free now."""
    free, total = free_bytes(device)
    return free < incoming + (total // 10 if reserve is None else reserve)


def free_memory(device: str, *, collect: bool = True) -> None:
    """Return freed memory to the device and the system; ``collect`` runs a full garbage
    collection first (for objects held only by reference cycles)."""
    if collect:
        gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
    elif device == "mps":
        import torch

        torch.mps.empty_cache()
    trim_heap()


def trim_heap() -> None:
    """Hand the C heap's free pages back to the system: glibc keeps freed memory for reuse (and,
    once a large block was freed, serves blocks up to 32 MiB from the heap), so after an eviction
    the process's RSS would stay near its peak. A few ms; nothing where the C library has no
    ``malloc_trim`` (not glibc)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).malloc_trim(0)


@dataclass
class LoadedModel:
    key: str
    model_ref: str
    model: Any
    device: str
    dtype: str
    size_bytes: int
    load_seconds: float
    loaded_at: float
    last_used: float
    first_use: bool = False  # True only for the call that loaded it


@dataclass
class _Failure:
    model_ref: str
    error: ModelLoadError
    at: float


class ModelManager:
    """Owns the device: lazy, once-only loading, LRU eviction under a budget, idle unload."""

    def __init__(
        self,
        device: str = "auto",
        dtype: str = "auto",
        budget_bytes: int | None = None,
        idle_seconds: float | None = None,
        failure_cooldown: float = 30.0,
        offload: bool = False,
        clock: Callable[[], float] = time.monotonic,
        threads: int | None = None,
        reserve_bytes: int | None = None,
    ) -> None:
        self._requested_device = device
        self._requested_dtype = dtype
        self._threads = threads
        self._device: str | None = None
        self._budget = budget_bytes
        self.idle_seconds = idle_seconds
        self.failure_cooldown = failure_cooldown
        self.offload = offload
        self._clock = clock
        self._lock = threading.RLock()
        self._key_locks: dict[str, threading.Lock] = {}
        # One load at a time: transformers, diffusers and accelerate build models under
        # process-wide patches (meta-device init), so two loads in two threads break each other.
        self._load_lock = threading.Lock()
        self._loaded: OrderedDict[str, LoadedModel] = OrderedDict()  # least recent first
        self._known_sizes: dict[str, int] = {}
        self._failures: dict[str, _Failure] = {}
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()
        self.load_count: dict[str, int] = {}
        self.reserve_bytes = reserve_bytes  # free memory kept in hand (None: a tenth of the device)
        self.collections = 0  # full garbage collections run (memory short, out of memory, failed load)

    # ------------------------------------------------------------ device

    @property
    def device(self) -> str:
        if self._device is None:
            self._device = detect_device(self._requested_device)
            if self._threads:  # chosen with the device, at the first load: never at import
                import torch

                torch.set_num_threads(self._threads)
        return self._device

    @property
    def dtype(self) -> Any:
        return choose_dtype(self.device, self._requested_dtype)

    @property
    def budget_bytes(self) -> int:
        if self._budget is None:
            share = 0.9 if self.device.startswith("cuda") else 0.6
            self._budget = int(device_memory_bytes(self.device) * share)
        return self._budget

    # ------------------------------------------------------------ loading

    def get(self, key: str, model_ref: str, loader: Loader, size_hint: int = 0) -> LoadedModel:
        """The loaded model for ``key``; loads it (once) with ``loader(device, dtype)``.

        Room is made before loading for the model's size when known (measured at an earlier
        load), else for ``size_hint`` (e.g. its weight files on disk)."""
        with self._lock:
            entry = self._touch(key, model_ref)
            if entry is not None:
                return dataclasses.replace(entry, first_use=False)
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:  # another thread may have loaded it while we waited
                entry = self._touch(key, model_ref)
                if entry is not None:
                    return dataclasses.replace(entry, first_use=False)
                self._raise_recent_failure(key, model_ref)
                if key in self._loaded:  # a different model_ref for this key: replace it
                    self._evict(key)
                self._make_room(self._known_sizes.get(model_ref, size_hint), exclude=key)
            with self._load_lock:
                entry = self._load(key, model_ref, loader)
            with self._lock:
                self._loaded[key] = entry
                self._known_sizes[model_ref] = entry.size_bytes
                self._failures.pop(key, None)
                self.load_count[key] = self.load_count.get(key, 0) + 1
                self._make_room(0, exclude=key)
            self._start_reaper()
            return dataclasses.replace(entry, first_use=True)

    def _touch(self, key: str, model_ref: str) -> LoadedModel | None:
        entry = self._loaded.get(key)
        if entry is None or entry.model_ref != model_ref:
            return None
        entry.last_used = self._clock()
        self._loaded.move_to_end(key)
        return entry

    def _raise_recent_failure(self, key: str, model_ref: str) -> None:
        failure = self._failures.get(key)
        if failure and failure.model_ref == model_ref and self._clock() - failure.at < self.failure_cooldown:
            wait = self.failure_cooldown - (self._clock() - failure.at)
            error = failure.error  # already explained and redacted
            raise ModelLoadError(error.model_ref, error.reason, f"{error.hint} (retry in {wait:.0f} s)")

    def _load(self, key: str, model_ref: str, loader: Loader) -> LoadedModel:
        """Load and place; out of memory frees the other models and tries once more. Any
        failure becomes one explained ModelLoadError, remembered for the cooldown."""
        device, dtype = self.device, self.dtype
        start = time.perf_counter()
        for attempt in (1, 2):
            try:
                model = loader(device, dtype)
                place(model, device, self.offload)
                break
            except Exception as error:
                model = None
                if is_out_of_memory(error) and attempt == 1:
                    self.free_others(key)
                    continue
                wrapped = (ModelLoadError(redact(model_ref), "out of memory while loading it, even after unloading "
                                          "the other models", LOAD_OOM_HINT)
                           if is_out_of_memory(error) else load_error(model_ref, error))
                self._remember_failure(key, model_ref, wrapped)
                raise wrapped from None
        now = self._clock()
        return LoadedModel(
            key=key,
            model_ref=model_ref,
            model=model,
            device=device,
            dtype=str(dtype).removeprefix("torch."),
            size_bytes=model_size_bytes(model),
            load_seconds=time.perf_counter() - start,
            loaded_at=now,
            last_used=now,
        )

    def _remember_failure(self, key: str, model_ref: str, error: ModelLoadError) -> None:
        with self._lock:
            self._failures[key] = _Failure(model_ref, error, self._clock())
        self._release(force=True)

    def _release(self, incoming: int = 0, force: bool = False) -> None:
        """After evictions: evicted models are already freed when nothing else held them; a
        full collection runs only when ``force``d (out of memory, a failed load) or when less
        than ``incoming`` bytes plus the reserve are free."""
        collect = force or memory_short(self.device, incoming, self.reserve_bytes)
        if collect:
            self.collections += 1
        free_memory(self.device, collect=collect)

    # ------------------------------------------------------------ eviction

    def _make_room(self, incoming: int, exclude: str) -> list[str]:
        """Evict least recently used models until ``incoming`` more bytes fit the budget."""
        evicted = []
        budget = self.budget_bytes
        for key in list(self._loaded):
            used = sum(e.size_bytes for e in self._loaded.values())
            if used + incoming <= budget:
                break
            if key != exclude:
                self._evict(key)
                evicted.append(key)
        if evicted:
            self._release(incoming)
        return evicted

    def _evict(self, key: str) -> None:
        entry = self._loaded.pop(key, None)
        if entry is not None:
            entry.model = None

    def unload(self, key: str) -> bool:
        """Unload one model and free its memory; False if it was not loaded."""
        with self._lock:
            found = key in self._loaded
            self._evict(key)
        if found:
            self._release()
        return found

    def free_others(self, key: str) -> list[str]:
        """Unload every model but ``key``'s (making room after out of memory)."""
        with self._lock:
            others = [k for k in self._loaded if k != key]
            for other in others:
                self._evict(other)
        self._release(force=True)  # only called after out of memory: collect every cycle too
        return others

    def retry_on_oom(self, key: str, attempt: Callable[[], Iterator[T]]) -> Iterator[T]:
        """Yield from ``attempt()``; out of memory while it runs frees every other model and
        runs it once more (from the start), then raises OutOfMemory with what to change.
        Failures to load are final here: loading has its own retry."""
        for try_number in (1, 2):
            try:
                yield from attempt()
                return
            except ModelLoadError:
                raise
            except Exception as error:
                if not is_out_of_memory(error):
                    raise
                if try_number == 2:
                    self.unload(key)
                    raise OutOfMemory(
                        f"Out of memory while generating {key}, even after unloading the other models. "
                        "Try a smaller size, fewer frames or steps, or a lighter preset."
                    ) from error
            self.free_others(key)

    def unload_all(self) -> list[str]:
        with self._lock:
            keys = list(self._loaded)
            for key in keys:
                self._evict(key)
        if keys:
            self._release()
        return keys

    def unload_idle(self) -> list[str]:
        """Unload the models unused for longer than ``idle_seconds``."""
        if not self.idle_seconds:
            return []
        now = self._clock()
        with self._lock:
            idle = [k for k, e in self._loaded.items() if now - e.last_used >= self.idle_seconds]
            for key in idle:
                self._evict(key)
        if idle:
            self._release()
        return idle

    def _start_reaper(self) -> None:
        if not self.idle_seconds or self._reaper is not None:
            return
        with self._lock:
            if self._reaper is None:
                interval = max(1.0, min(60.0, self.idle_seconds / 4))
                self._reaper = threading.Thread(target=self._reap, args=(interval,), name="model-reaper", daemon=True)
                self._reaper.start()

    def _reap(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.unload_idle()

    def close(self) -> None:
        self._stop.set()
        self.unload_all()

    # ------------------------------------------------------------ status

    def is_loaded(self, key: str) -> bool:
        with self._lock:
            return key in self._loaded

    def status(self) -> dict[str, Any]:
        """What is loaded, where, how big, and when last used (most recent last)."""
        now = self._clock()
        with self._lock:
            models = [
                {
                    "key": e.key,
                    "model": e.model_ref,
                    "device": e.device,
                    "dtype": e.dtype,
                    "size_mb": round(e.size_bytes / 2**20, 1),
                    "load_seconds": round(e.load_seconds, 2),
                    "idle_seconds": round(now - e.last_used, 1),
                }
                for e in self._loaded.values()
            ]
            failures = {
                k: {"model": f.model_ref, "error": str(f.error), "seconds_ago": round(now - f.at, 1)}
                for k, f in self._failures.items()
            }
            used = sum(e.size_bytes for e in self._loaded.values())
        return {
            "device": self._device or "(not chosen yet: no model loaded)",
            "budget_mb": round(self._budget / 2**20, 1) if self._budget else None,
            "used_mb": round(used / 2**20, 1),
            "loaded": models,
            "failures": failures,
        }
