"""Faults are contained: broken models, out of memory, time limits, and a killed process.

Faults are injected for real where that is possible (a broken model folder, SIGKILL of the
app) and by raising the library's own ``torch.OutOfMemoryError`` where a GPU would be needed.
"""

from __future__ import annotations

import gc
import shutil
import signal
import sqlite3
import time
import weakref
from pathlib import Path

import pytest
import torch

from aigc_demo.core.types import AudioRequest, CancelToken, GenerationResult, ImageRequest, ModelLoadError, TextRequest, VideoRequest
from aigc_demo.record import ReviewStore
from aigc_demo.studio import TIMEOUT_NOTE, OutOfMemory, RunContext

from conftest import running_app

SMALL_IMAGE = dict(width=64, height=64, num_inference_steps=1)


def oom(*args, **kwargs):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")


# ---------------------------------------------------------------- a model that fails to load


def test_broken_model_is_explained_others_work_and_retry_waits_for_cooldown(tmp_path, make_studio, tiny_model, monkeypatch):
    broken = tmp_path / "broken-wan"
    broken.mkdir()
    (broken / "model_index.json").write_text('{"_class_name": "WanPipeline", "transformer": ["diffusers", "Wan')  # cut off
    studio = make_studio(failure_cooldown_seconds=30, models={"video": str(broken)})
    now = [time.monotonic()]  # the cooldown runs on this clock, whatever the machine's speed
    monkeypatch.setattr(studio.manager, "_clock", lambda: now[0])
    backend = studio.backend("video")
    real_load, attempts = backend.load, []
    backend.load = lambda *a, **k: attempts.append(1) or real_load(*a, **k)

    with pytest.raises(ModelLoadError, match="broken-wan") as first:
        studio.run("video", VideoRequest("waves", width=64, height=64, num_frames=5, num_inference_steps=1))
    assert "Try another preset" in str(first.value)
    # every other modality keeps working
    assert studio.run("image", ImageRequest("ok", **SMALL_IMAGE)).files
    assert studio.run("text", TextRequest("ok", max_new_tokens=2)).text is not None

    # fixed on disk, but still inside the cooldown: not retried, and the wait is stated
    shutil.rmtree(broken)
    shutil.copytree(tiny_model("video"), broken)
    with pytest.raises(ModelLoadError, match=r"retry in \d+ s"):
        studio.load("video")
    assert len(attempts) == 1 and "video" in studio.status()["failures"]

    now[0] += 31  # past the cooldown: the next request tries again, and now it loads
    result = studio.run("video", VideoRequest("waves", width=64, height=64, num_frames=5, num_inference_steps=1))
    assert result.files and len(attempts) == 2 and studio.status()["failures"] == {}


# ---------------------------------------------------------------- out of memory


def test_out_of_memory_while_loading_frees_the_others_and_retries_once(studio, monkeypatch):
    from diffusers import AutoPipelineForText2Image

    studio.run("audio", AudioRequest("Hello.", seed=1))
    real, calls = AutoPipelineForText2Image.from_pretrained, []

    def from_pretrained_oom_once(*args, **kwargs):  # inside the real ImageGenerator.load
        calls.append(1)
        if len(calls) == 1:
            oom()
        return real(*args, **kwargs)

    monkeypatch.setattr(AutoPipelineForText2Image, "from_pretrained", from_pretrained_oom_once)
    result = studio.run("image", ImageRequest("a bottle", **SMALL_IMAGE, seed=2))
    assert len(calls) == 2 and result.files
    assert not studio.manager.is_loaded("audio") and studio.manager.is_loaded("image")  # freed for the retry
    assert studio.manager.load_count["image"] == 1


def test_out_of_memory_while_loading_twice_is_a_clear_error_and_the_process_goes_on(studio):
    studio.run("image", ImageRequest("a", **SMALL_IMAGE))
    backend = studio.backend("video")
    calls = []
    backend.load = lambda *a, **k: calls.append(1) or oom()
    with pytest.raises(ModelLoadError, match="out of memory while loading it, even after unloading the other models") as caught:
        studio.run("video", VideoRequest("waves", width=64, height=64, num_frames=5, num_inference_steps=1))
    assert "lighter preset" in str(caught.value) and len(calls) == 2  # one retry, no more
    assert not studio.manager.is_loaded("video")
    # the process survives and everything else still runs
    assert studio.run("image", ImageRequest("again", **SMALL_IMAGE)).files
    assert studio.run("audio", AudioRequest("Still here.")).files


def test_out_of_memory_while_generating_twice_leaves_the_rest_working(studio):
    backend = studio.backend("image")
    real = backend.generate
    backend.generate = oom
    with pytest.raises(OutOfMemory, match="even after unloading the other models"):
        studio.run("image", ImageRequest("a", **SMALL_IMAGE))
    assert not studio.manager.is_loaded("image")  # its memory is given back too
    assert studio.run("text", TextRequest("hello", max_new_tokens=2)).text is not None
    backend.generate = real
    assert studio.run("image", ImageRequest("a", **SMALL_IMAGE)).files  # and it recovers


def test_out_of_memory_while_streaming_text_frees_the_others_and_runs_once_more(studio):
    """Text takes the same path as every modality: OOM mid-stream frees the other models and
    the run starts again; the record holds the complete second run."""
    studio.run("image", ImageRequest("a", **SMALL_IMAGE))
    model = studio.load("text").model.model
    real_generate, calls = model.generate, []

    def generate_oom_after_some_tokens(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            kwargs["streamer"].put(torch.tensor([[5, 6, 7]]))  # a few tokens reach the client first
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        return real_generate(*args, **kwargs)

    model.generate = generate_oom_after_some_tokens
    updates = list(studio.stream("text", TextRequest("hello", max_new_tokens=6, seed=4)))
    result = updates[-1]
    assert len(calls) == 2 and not studio.manager.is_loaded("image")  # freed for the retry
    assert isinstance(result, GenerationResult) and result.text == updates[-2] and result.record_id
    assert studio.store.get_record(result.record_id).output_text == result.text

    model.generate = lambda *a, **k: (_ for _ in ()).throw(torch.OutOfMemoryError("CUDA out of memory"))
    with pytest.raises(OutOfMemory, match="Out of memory while generating text, even after unloading"):
        list(studio.stream("text", TextRequest("hello", max_new_tokens=6)))
    assert not studio.manager.is_loaded("text")


# ---------------------------------------------------------------- cancel and time limit


def test_a_run_over_the_time_limit_is_stopped_recorded_and_frees_its_model(make_studio):
    studio = make_studio(run_timeout_seconds=0.05)
    result = studio.run("image", ImageRequest("slow", width=64, height=64, num_inference_steps=150, seed=1))
    assert result.cancelled and result.files == []
    assert TIMEOUT_NOTE.format(seconds=0.05) in result.notes
    assert studio.store.get_record(result.record_id).status == "cancelled"
    video = studio.run("video", VideoRequest("slow", width=64, height=64, num_frames=33, num_inference_steps=100))
    assert video.cancelled and video.files == [] and any("time limit" in n for n in video.notes)

    # nothing from the stopped runs holds on to the model: unloading really frees it
    model = weakref.ref(studio.load("image").model)
    assert studio.manager.unload("image") and studio.manager.unload("video")
    gc.collect()
    assert model() is None


def test_a_time_limit_is_a_deadline_on_the_token_and_a_stop_is_not_a_timeout():
    token = CancelToken()
    token.expire_at(time.monotonic() + 60)
    assert not token.cancelled and not token.expired
    token.expire_at(time.monotonic() - 0.001)
    assert token.cancelled and token.expired
    token.expire_at(None)
    assert not token.cancelled
    token.cancel()
    assert token.cancelled and not token.expired


def test_stop_releases_the_session_slot(studio):
    """The UI's flow: start a token for (session, slot), run, Stop mid-run, finish."""
    import threading

    from aigc_demo.ui.runs import SessionRuns

    runs = SessionRuns()
    token = runs.start("session-a", "video")
    started, results = threading.Event(), []
    worker = threading.Thread(target=lambda: results.append(studio.run(
        "video", VideoRequest("slow", width=64, height=64, num_frames=33, num_inference_steps=100),
        cancel=token, context=RunContext("playground", "video", "session-a"),
        progress=lambda step, total, desc: step > 0 and desc == "denoising" and started.set())))
    worker.start()
    assert started.wait(60)
    assert runs.stop("session-a", "video")
    worker.join(60)
    runs.finish("session-a", "video", token)
    assert results and results[0].cancelled and any("cancelled after step" in n for n in results[0].notes)
    assert runs.stop("session-a", "video") is False  # the slot is free: nothing left to stop
    assert studio.run("video", VideoRequest("next", width=64, height=64, num_frames=5, num_inference_steps=1)).files


# ---------------------------------------------------------------- kill -9 and restart


@pytest.mark.slow
def test_killed_mid_generation_the_app_restarts_with_a_consistent_store(tmp_path, tiny_cache):
    from gradio_client import Client
    from gradio_client.utils import Status

    data, log = tmp_path / "data", tmp_path / "server.log"
    cache = tiny_cache.parent / "app-cache"
    # ~2.5 s of denoising on one CPU thread (tiny Wan takes at most 125 frames)
    long_video = dict(prompt="slow waves", width=64, height=64, num_frames=121, num_inference_steps=100,
                      api_name="/generate_video")
    with running_app(data, log, {"AIGC_CACHE_DIR": str(cache)}) as (url, process):
        client = Client(url, analytics_enabled=False, verbose=False)
        _, _, image = client.predict(prompt="a bottle", **SMALL_IMAGE, api_name="/generate_image")
        client.predict(prompt="hello", max_new_tokens=4, api_name="/generate_text")
        job = client.submit(**long_video)
        deadline = time.monotonic() + 60
        while job.status().code != Status.PROCESSING and not job.done() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # inside the denoising loop
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    with running_app(data, log, {"AIGC_CACHE_DIR": str(cache), "AIGC_RUN_TIMEOUT_SECONDS": "0.3"}) as (url, _):
        client = Client(url, analytics_enabled=False, verbose=False)
        rows = client.predict(api_name="/list_outputs")
        assert image["record_id"] in {row["id"] for row in rows}  # the database opened, the past is there
        # over the time limit: stopped, said so, recorded, and the slot is free for the next request
        _, _, stopped = client.predict(**long_video)
        assert stopped["cancelled"] and any("time limit" in note for note in stopped["notes"])
        assert client.predict(prompt="after restart", **SMALL_IMAGE, api_name="/generate_image")[2]["record_id"]

    store = ReviewStore(data)
    assert store.report.missing == []
    with sqlite3.connect(store.db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for row in store.list_outputs(limit=1000):
        if row["status"] == "ok":
            assert all(Path(p).is_file() for p in row["file_paths"]), row
    assert len(store.list_outputs(limit=1000)) >= 4
