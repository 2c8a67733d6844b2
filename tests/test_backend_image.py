"""The diffusers image backend end to end on the tiny random-weight Stable Diffusion pipeline;
its parameters as declared in ``core.params``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from aigc_demo.backends.diffusers_image import DiffusersImage
from aigc_demo.core.params import IMAGE_PARAMS
from aigc_demo.core.types import CancelToken, GenerationResult, ImageRequest, ModelLoadError, ValidationError
from aigc_demo.runtime import ModelManager

BASE = ImageRequest(prompt="a red bicycle, product photo", width=64, height=64, num_inference_steps=2, seed=7)


@pytest.fixture(scope="module")
def backend(tiny_model) -> DiffusersImage:
    return DiffusersImage(str(tiny_model("image")))


@pytest.fixture(scope="module")
def pipe(backend):
    import torch

    return backend.load("cpu", torch.float32)


def _load(model_ref: str):
    """Load through a ModelManager: the one place load failures become a ModelLoadError."""
    return ModelManager(device="cpu").get("image", model_ref, DiffusersImage(model_ref).load)


def _pixels(path: Path):
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def test_load_gives_a_text_to_image_pipeline(pipe, tiny_model):
    from diffusers import StableDiffusionPipeline

    assert isinstance(pipe, StableDiffusionPipeline)
    assert pipe.safety_checker is None  # the tiny model ships none; real ones keep theirs
    assert pipe.name_or_path == str(tiny_model("image"))


@pytest.mark.parametrize("width,height", [(64, 64), (64, 96)])
def test_png_has_requested_size(backend, pipe, tmp_path, width, height):
    result = backend.generate(pipe, replace(BASE, width=width, height=height), out_dir=tmp_path)
    assert not result.cancelled
    assert len(result.files) == 1
    path = result.files[0]
    assert path.exists() and path.parent == tmp_path and path.suffix == ".png"
    assert _pixels(path).shape == (height, width, 3)
    assert result.modality == "image" and result.seed == 7
    assert result.params["width"] == width and result.params["height"] == height
    assert result.generate_seconds > 0
    assert not list(tmp_path.glob(".*tmp*"))  # atomic write left nothing behind


def test_odd_size_is_snapped_and_reported(backend, pipe, tmp_path):
    assert IMAGE_PARAMS.validate(replace(BASE, width=70))[0].width == 72
    checked, notes = IMAGE_PARAMS.validate(replace(BASE, width=70, height=67))
    assert (checked.width, checked.height) == (72, 64)
    assert any("70 -> 72" in note for note in notes)
    assert any("67 -> 64" in note for note in notes)
    result = backend.generate(pipe, checked, out_dir=tmp_path)
    assert result.params["width"] == 72 and result.params["height"] == 64
    assert not any("->" in note for note in result.notes)  # 72 x 64 suits this model: no second snap
    assert _pixels(result.files[0]).shape == (64, 72, 3)


def test_seed_determinism(backend, pipe, tmp_path):
    first = backend.generate(pipe, BASE, out_dir=tmp_path)
    again = backend.generate(pipe, BASE, out_dir=tmp_path)
    other = backend.generate(pipe, replace(BASE, seed=8), out_dir=tmp_path)
    assert first.files[0] != again.files[0]  # a new file each run
    assert (_pixels(first.files[0]) == _pixels(again.files[0])).all()
    assert (_pixels(first.files[0]) != _pixels(other.files[0])).any()


def test_random_seed_is_resolved_and_reported(backend, pipe, tmp_path):
    result = backend.generate(pipe, replace(BASE, seed=-1), out_dir=tmp_path)
    assert result.seed >= 0 and result.params["seed"] == result.seed
    replay = backend.generate(pipe, replace(BASE, seed=result.seed), out_dir=tmp_path)
    assert (_pixels(result.files[0]) == _pixels(replay.files[0])).all()


def test_progress_once_per_step(backend, pipe, tmp_path):
    calls = []
    backend.generate(
        pipe,
        replace(BASE, num_inference_steps=3),
        progress=lambda step, total, desc: calls.append((step, total, desc)),
        out_dir=tmp_path,
    )
    assert calls == [(1, 3, "denoising"), (2, 3, "denoising"), (3, 3, "denoising")]


def test_cancel_after_first_step_stops_early(backend, pipe, tmp_path):
    token = CancelToken()
    steps = []

    def progress(step, total, desc):
        steps.append(step)
        if step == 1:
            token.cancel()

    result = backend.generate(
        pipe, replace(BASE, num_inference_steps=5), progress=progress, cancel=token, out_dir=tmp_path
    )
    assert steps == [1]  # the remaining four steps never ran
    assert result.cancelled
    assert result.files == [] and not list(tmp_path.iterdir())
    # The pipeline is usable again after an interrupted run.
    assert not backend.generate(pipe, BASE, out_dir=tmp_path).cancelled


def test_cancel_before_start_runs_nothing(backend, pipe, tmp_path):
    token = CancelToken()
    token.cancel()
    calls = []
    result = backend.generate(pipe, BASE, progress=lambda *a: calls.append(a), cancel=token, out_dir=tmp_path)
    assert result.cancelled and result.files == [] and calls == []


def test_two_images_use_consecutive_seeds(backend, pipe, tmp_path):
    calls = []
    result = backend.generate(
        pipe,
        replace(BASE, num_images=2),
        progress=lambda step, total, desc: calls.append((step, total)),
        out_dir=tmp_path,
    )
    assert len(result.files) == 2 and len(set(result.files)) == 2
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert any("7, 8" in note for note in result.notes)
    second_alone = backend.generate(pipe, replace(BASE, seed=8), out_dir=tmp_path)
    assert (_pixels(result.files[1]) == _pixels(second_alone.files[0])).all()


def test_negative_prompt_with_guidance(backend, pipe, tmp_path):
    request = replace(BASE, negative_prompt="blurry, watermark", guidance_scale=3.0)
    result = backend.generate(pipe, request, out_dir=tmp_path)
    assert _pixels(result.files[0]).shape == (64, 64, 3)
    assert result.params["negative_prompt"] == "blurry, watermark"
    no_cfg = backend.generate(pipe, replace(request, guidance_scale=0.0), out_dir=tmp_path)
    assert any("negative_prompt has no effect" in note for note in no_cfg.notes)


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"prompt": "   "}, "prompt"),
        ({"width": 0}, "width"),
        ({"width": 5000}, "width"),
        ({"height": 32}, "height"),
        ({"num_inference_steps": 0}, "num_inference_steps"),
        ({"num_inference_steps": 1000}, "num_inference_steps"),
        ({"guidance_scale": 31}, "guidance_scale"),
        ({"num_images": 5}, "num_images"),
        ({"seed": 2**32}, "seed"),
        ({"negative_prompt": "x" * 5000}, "negative_prompt"),
    ],
)
def test_validation_errors_name_the_field(changes, field):
    request = replace(BASE, **changes)
    with pytest.raises(ValidationError) as info:
        IMAGE_PARAMS.validate(request)  # no model needed to reject it
    assert info.value.field == field


def test_validate_normalises():
    checked, notes = IMAGE_PARAMS.validate(replace(BASE, prompt="  a cat\x00 ", negative_prompt="   ", width=2047))
    assert checked.prompt == "a cat" and checked.negative_prompt == "" and checked.width == 2048
    assert notes == ["width 2047 -> 2048 (must be a multiple of 8)"]
    assert DiffusersImage.params is IMAGE_PARAMS


def test_stream_yields_the_one_result(backend, pipe, tmp_path):
    (result,) = backend.stream(pipe, BASE, out_dir=tmp_path)
    assert isinstance(result, GenerationResult) and len(result.files) == 1 and result.seed == 7


def test_folder_that_is_not_a_pipeline(tmp_path):
    (tmp_path / "readme.txt").write_text("not a model")
    with pytest.raises(ModelLoadError) as info:
        _load(str(tmp_path))
    assert str(tmp_path) in str(info.value)
    assert info.value.model_ref == str(tmp_path)


def test_pipeline_that_is_not_text_to_image(tmp_path):
    """AutoPipeline does not know DDPMPipeline: the DiffusionPipeline fallback loads it, and
    the backend then refuses it because it takes no prompt."""
    import torch
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(0)
    unet = UNet2DModel(
        sample_size=8,
        block_out_channels=(4, 8),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D"),
        norm_num_groups=2,
    )
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler()).save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="not a text-to-image pipeline"):
        _load(str(tmp_path))
