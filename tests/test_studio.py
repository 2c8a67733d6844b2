"""The studio end to end on tiny models: validate, load once, generate, record, provenance."""

from __future__ import annotations

import pytest
import torch

from aigc_demo.core.types import (
    AudioRequest,
    ImageRequest,
    ModelLoadError,
    TextRequest,
    ValidationError,
    VideoRequest,
)
from aigc_demo.record import provenance
from aigc_demo.settings import preset_settings
from aigc_demo.studio import OutOfMemory, RunContext, Studio


def test_every_modality_is_generated_recorded_and_labelled(studio):
    requests = {
        "text": TextRequest("Describe a bamboo bottle", max_new_tokens=8, seed=1),
        "image": ImageRequest("a bottle", width=64, height=64, num_inference_steps=2, seed=2),
        "audio": AudioRequest("Hello there.", seed=3),
        "video": VideoRequest("waves", width=64, height=64, num_frames=5, num_inference_steps=2, seed=4),
    }
    for modality, request in requests.items():
        result = studio.run(modality, request, context=RunContext("retail", "copy", "s1"))
        record = studio.store.get_record(result.record_id)
        assert record.modality == modality and record.seed == request.seed and record.model_ref == f"tiny:{modality}"
        assert record.preset == "tiny" and record.session_id == "s1"
        assert any("noise" in note for note in result.notes)
        for path in result.files:
            assert provenance.read(path)["id"] == result.record_id
    assert studio.manager.load_count == {m: 1 for m in requests}


def test_validation_happens_before_any_model_loads(studio):
    with pytest.raises(ValidationError, match="prompt"):
        studio.run("image", ImageRequest("   "))
    with pytest.raises(ValidationError, match="width"):
        studio.run("image", ImageRequest("ok", width=0))
    assert studio.manager.status()["loaded"] == []


def test_corrected_values_are_reported(studio):
    result = studio.run("image", ImageRequest("a bottle", width=70, height=64, num_inference_steps=1))
    assert result.params["width"] == 72
    assert any("width 70 -> 72" in note for note in result.notes)


def test_streamed_text_is_recorded_with_its_seed(studio):
    updates = list(studio.stream("text", TextRequest("hello", max_new_tokens=6, seed=11)))
    *chunks, result = updates
    assert len(chunks) > 1 and result.seed == 11 and result.text == chunks[-1]
    assert studio.store.get_record(result.record_id).output_text == result.text


def test_a_broken_model_does_not_stop_the_others(tmp_path, make_studio):
    studio = make_studio(data_dir=tmp_path, models={"video": str(tmp_path / "no-such-model")})
    with pytest.raises(ModelLoadError, match="no-such-model"):
        studio.run("video", VideoRequest("waves"))
    assert studio.run("image", ImageRequest("ok", width=64, height=64, num_inference_steps=1)).files


def test_unavailable_modality_explains_why(tmp_path):
    studio = Studio(preset_settings("cpu", data_dir=tmp_path))
    with pytest.raises(Exception, match="needs a GPU"):
        studio.run("video", VideoRequest("waves"))


def test_out_of_memory_frees_other_models_and_retries_once(studio):
    studio.run("image", ImageRequest("a", width=64, height=64, num_inference_steps=1))
    backend = studio.backend("audio")
    real_generate = backend.generate
    calls = []

    def generate_oom_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_generate(*args, **kwargs)

    backend.generate = generate_oom_once
    result = studio.run("audio", AudioRequest("Hello."))
    assert len(calls) == 2 and result.files
    assert not studio.manager.is_loaded("image")  # freed for the retry

    def always_oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    backend.generate = always_oom
    with pytest.raises(OutOfMemory, match="smaller size"):
        studio.run("audio", AudioRequest("Hello."))
