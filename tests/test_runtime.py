"""ModelManager: once-only loading, LRU eviction under a budget, unload, failures, idle unload."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from aigc_demo.core.types import ModelLoadError
from aigc_demo.runtime import ModelManager, model_size_bytes

MB = 2**20


def linear_loader(megabytes: float, calls: list[str] | None = None, delay: float = 0.0):
    """A real torch module of about ``megabytes`` (fp32), built on request."""

    def load(device: str, dtype: torch.dtype) -> torch.nn.Module:
        if calls is not None:
            calls.append(device)
        time.sleep(delay)
        features = int((megabytes * MB / 4) ** 0.5)
        return torch.nn.Linear(features, features, bias=False).to(dtype)

    return load


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cpu_device_and_fp32_dtype():
    manager = ModelManager(device="cpu")
    entry = manager.get("text", "m", linear_loader(1))
    assert entry.device == "cpu" and entry.dtype == "float32"
    assert next(entry.model.parameters()).dtype == torch.float32
    assert entry.size_bytes == model_size_bytes(entry.model) > 0.9 * MB


def test_eight_concurrent_first_requests_load_once():
    calls: list[str] = []
    manager = ModelManager(device="cpu")
    loader = linear_loader(1, calls, delay=0.3)
    with ThreadPoolExecutor(8) as pool:
        entries = list(pool.map(lambda _: manager.get("image", "m", loader), range(8)))
    assert len(calls) == 1
    assert manager.load_count["image"] == 1
    assert len({id(e.model) for e in entries}) == 1
    assert sum(e.first_use for e in entries) == 1


def test_eviction_drops_least_recently_used():
    manager = ModelManager(device="cpu", budget_bytes=int(2.5 * MB))
    manager.get("a", "a", linear_loader(1))
    manager.get("b", "b", linear_loader(1))
    manager.get("a", "a", linear_loader(1))  # a is now most recent
    manager.get("c", "c", linear_loader(1))  # needs room: b goes
    loaded = [m["key"] for m in manager.status()["loaded"]]
    assert loaded == ["a", "c"]
    assert not manager.is_loaded("b")


def test_known_size_makes_room_before_loading():
    manager = ModelManager(device="cpu", budget_bytes=int(2.5 * MB))
    manager.get("a", "a", linear_loader(1))
    manager.get("b", "b", linear_loader(1))
    manager.unload("a")
    manager.get("c", "c", linear_loader(1))
    seen_loaded: list[list[str]] = []

    def watching_loader(device, dtype):
        seen_loaded.append([m["key"] for m in manager.status()["loaded"]])
        return linear_loader(1)(device, dtype)

    manager.get("a", "a", watching_loader)  # a's size is known: b is evicted first
    assert seen_loaded == [["c"]]


def test_unload_frees_the_model():
    manager = ModelManager(device="cpu")
    entry = manager.get("audio", "m", linear_loader(1))
    import weakref

    ref = weakref.ref(entry.model)
    del entry
    assert manager.unload("audio") is True
    assert ref() is None
    assert manager.status()["loaded"] == []
    assert manager.unload("audio") is False


def test_failing_model_does_not_affect_others_and_cools_down():
    clock = FakeClock()
    manager = ModelManager(device="cpu", failure_cooldown=30, clock=clock)
    attempts: list[int] = []

    def broken(device, dtype):
        attempts.append(1)
        raise OSError("no such repo")

    with pytest.raises(ModelLoadError, match="broken/model"):
        manager.get("video", "broken/model", broken)
    with pytest.raises(ModelLoadError, match="retry in"):
        manager.get("video", "broken/model", broken)
    assert len(attempts) == 1  # remembered, not retried on every click
    assert manager.get("text", "ok", linear_loader(1)).model is not None
    assert "video" in manager.status()["failures"]
    clock.now += 31
    with pytest.raises(ModelLoadError):
        manager.get("video", "broken/model", broken)
    assert len(attempts) == 2


def test_idle_models_are_unloaded():
    clock = FakeClock()
    manager = ModelManager(device="cpu", idle_seconds=60, clock=clock)
    manager.get("a", "a", linear_loader(1))
    clock.now += 30
    manager.get("b", "b", linear_loader(1))
    clock.now += 40  # a idle 70 s, b idle 40 s
    assert manager.unload_idle() == ["a"]
    assert [m["key"] for m in manager.status()["loaded"]] == ["b"]
    manager.close()


def test_idle_reaper_thread_unloads_in_background():
    manager = ModelManager(device="cpu", idle_seconds=1.0)
    manager.get("a", "a", linear_loader(0.1))
    deadline = time.monotonic() + 10
    while manager.is_loaded("a") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not manager.is_loaded("a")
    manager.close()


def test_new_model_ref_for_a_key_replaces_the_old_one():
    manager = ModelManager(device="cpu")
    first = manager.get("text", "one", linear_loader(1))
    second = manager.get("text", "two", linear_loader(1))
    assert first.model is not second.model
    assert [m["model"] for m in manager.status()["loaded"]] == ["two"]


def test_size_hint_makes_room_before_a_first_load():
    manager = ModelManager(device="cpu", budget_bytes=int(2.5 * MB))
    manager.get("a", "a", linear_loader(1))
    manager.get("b", "b", linear_loader(1))
    seen_loaded: list[list[str]] = []

    def watching_loader(device, dtype):
        seen_loaded.append([m["key"] for m in manager.status()["loaded"]])
        return linear_loader(1)(device, dtype)

    manager.get("c", "c", watching_loader, size_hint=MB)  # never loaded before: the hint decides
    assert seen_loaded == [["b"]]


def test_dtype_can_be_switched_in_settings():
    from aigc_demo.settings import from_args

    assert from_args(["--preset", "tiny", "--dtype", "bfloat16"], env={}).dtype == "bfloat16"
    manager = ModelManager(device="cpu", dtype="bfloat16")
    entry = manager.get("text", "m", linear_loader(1))
    assert entry.dtype == "bfloat16" and next(entry.model.parameters()).dtype == torch.bfloat16


# ---------------------------------------------------------------- eviction frees without gc.collect


def _tiny_loader(backend):
    return lambda device, dtype: backend.load(device, dtype)


@pytest.mark.parametrize("modality", ["text", "image"])
def test_eviction_frees_the_real_tiny_model_without_a_collection(modality, tiny_cache):
    """An evicted model that nothing else holds is gone at once: no full gc.collect() runs
    while memory is plentiful, yet a weak reference to it is dead right after the eviction."""
    import gc
    import weakref

    from aigc_demo.backends import create

    backend = create(modality, f"tiny:{modality}", cache_dir=tiny_cache)
    manager = ModelManager(device="cpu", budget_bytes=10**12, reserve_bytes=0)
    model = weakref.ref(manager.get(modality, "tiny", _tiny_loader(backend)).model)
    # The libraries leave cyclic garbage behind while loading (caught exceptions whose
    # tracebacks hold the loading frames, and so the model): the interpreter's automatic
    # collection clears it soon after any load. Clear it now, then forbid collections.
    gc.collect()
    gc.disable()  # an automatic collection must not be what frees it
    try:
        assert model() is not None
        assert manager.unload(modality)
        assert model() is None
        assert manager.collections == 0
    finally:
        gc.enable()


def test_budget_eviction_frees_the_evicted_model_without_a_collection():
    import gc
    import weakref

    manager = ModelManager(device="cpu", budget_bytes=int(2.5 * MB), reserve_bytes=0)
    first = weakref.ref(manager.get("a", "a", linear_loader(1)).model)
    manager.get("b", "b", linear_loader(1))
    gc.collect()  # what loading left behind (see above)
    gc.disable()
    try:
        manager.get("c", "c", linear_loader(1))  # evicts "a"
        assert not manager.is_loaded("a") and first() is None
        assert manager.collections == 0
    finally:
        gc.enable()


def test_eviction_collects_when_memory_is_short():
    """With a reserve larger than this machine's memory, memory is always short: the manager
    runs a full collection after the eviction, and a model held only by a cycle is freed."""
    import weakref

    manager = ModelManager(device="cpu", budget_bytes=int(2.5 * MB), reserve_bytes=2**60)

    def cyclic_loader(device: str, dtype: torch.dtype) -> torch.nn.Module:
        module = linear_loader(1)(device, dtype)
        module.myself = [module]  # a reference cycle: refcounting alone cannot free it
        return module

    first = weakref.ref(manager.get("a", "a", cyclic_loader).model)
    manager.get("b", "b", linear_loader(1))
    manager.get("c", "c", linear_loader(1))  # evicts "a"
    assert manager.collections >= 1
    assert first() is None


def test_models_of_two_modalities_load_at_the_same_time_without_breaking_each_other(studio):
    """Image requests run in their own queue group (batching), so an image load can meet a text
    load: both must come up (accelerate's meta-device init is process-wide)."""
    for _ in range(2):
        with ThreadPoolExecutor(2) as pool:
            loaded = list(pool.map(studio.load, ["text", "image"]))
        assert [entry.key for entry in loaded] == ["text", "image"] and all(entry.model is not None for entry in loaded)
        for modality in ("text", "image"):
            assert studio.manager.unload(modality)


TRIM_PROBE = """
import json
from aigc_demo.runtime import free_memory

def rss_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS"))

blocks = [bytes(8192) for _ in range(20000)]  # ~160 MiB on the C heap
kept = blocks[::50]  # a few stay, so glibc cannot give the freed pages back on its own
del blocks
freed = rss_mib()
free_memory("cpu", collect=False)
print(json.dumps({"freed": freed, "trimmed": rss_mib(), "kept": len(kept)}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim and /proc are glibc/Linux")
def test_freed_memory_goes_back_to_the_system():
    probe = subprocess.run([sys.executable, "-c", TRIM_PROBE], capture_output=True, text=True, timeout=120,
                           cwd=Path(__file__).resolve().parent.parent, check=True)
    rss = json.loads(probe.stdout.strip().splitlines()[-1])
    assert rss["freed"] - rss["trimmed"] > 100, rss  # the freed ~155 MiB left the process
