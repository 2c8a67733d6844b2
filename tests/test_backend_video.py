"""The diffusers video backend end to end on the tiny Wan pipeline: real MP4 files decoded back;
its parameters as declared in ``core.params``."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import numpy as np
import pytest

from aigc_demo.backends.diffusers_video import DiffusersVideo, frame_rule, snap_frames
from aigc_demo.core.params import VIDEO_PARAMS
from aigc_demo.core.types import CancelToken, ModelLoadError, ValidationError, VideoRequest
from aigc_demo.runtime import ModelManager

STEPS = 2


@pytest.fixture(scope="module")
def backend(tiny_model) -> DiffusersVideo:
    return DiffusersVideo(str(tiny_model("video")))


@pytest.fixture(scope="module")
def pipe(backend):
    import torch

    return backend.load("cpu", torch.float32)


def request(**overrides) -> VideoRequest:
    base = VideoRequest(
        prompt="a red car in the city", width=80, height=64, num_frames=8, fps=8, num_inference_steps=STEPS, seed=7
    )
    return dataclasses.replace(base, **overrides)


def decode(path: Path) -> tuple[dict, np.ndarray]:
    """Decode an MP4 with imageio-ffmpeg: (metadata, uint8 frames F x H x W x 3)."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frames = [np.frombuffer(buf, np.uint8).reshape(height, width, 3) for buf in reader]
    return meta, np.stack(frames)


def ffmpeg_stream_info(path: Path) -> str:
    import imageio_ffmpeg

    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return next(line for line in probe.stderr.splitlines() if "Video:" in line)


# ---------------------------------------------------------------- frame rule


def test_frame_rule_by_name_and_object(pipe):
    assert frame_rule("WanPipeline") == (4, 1)
    assert frame_rule("LTXPipeline") == (8, 1)
    assert frame_rule("CogVideoXPipeline") == (1, 0)
    assert frame_rule(type(pipe)) == (4, 1)
    assert frame_rule(pipe) == (4, 1)


@pytest.mark.parametrize(
    ("n", "rule", "expected"),
    [
        (8, (4, 1), 9),
        (9, (4, 1), 9),
        (1, (4, 1), 1),
        (2, (4, 1), 1),
        (3, (4, 1), 5),  # tie rounds up
        (161, (4, 1), 161),
        (8, (8, 1), 9),
        (16, (8, 1), 17),
        (1, (8, 1), 1),
        (7, (1, 0), 7),
        (1, (1, 0), 1),
        (0, (1, 0), 1),
    ],
)
def test_snap_frames(n, rule, expected):
    assert snap_frames(n, rule) == expected
    multiple, offset = rule
    assert (expected - offset) % multiple == 0


# ---------------------------------------------------------------- validation (the declared parameters, no model)


def test_validate_snaps_sizes_and_cleans_prompt():
    assert DiffusersVideo.params is VIDEO_PARAMS
    checked, notes = VIDEO_PARAMS.validate(request(prompt="  a car\x00 ", width=70, height=100, negative_prompt="  "))
    assert (checked.width, checked.height) == (64, 96)
    assert checked.prompt == "a car"
    assert checked.negative_prompt == ""
    assert notes == ["width 70 -> 64 (must be a multiple of 16)", "height 100 -> 96 (must be a multiple of 16)"]
    assert checked.num_frames == 8  # frame counts are snapped by the backend, to the loaded model's rule


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prompt", "   "),
        ("width", 32),
        ("height", 2000),
        ("num_frames", 0),
        ("num_frames", 162),
        ("fps", 0),
        ("fps", 61),
        ("num_inference_steps", 0),
        ("num_inference_steps", 101),
        ("guidance_scale", -1.0),
        ("guidance_scale", 21.0),
        ("seed", 2**32),
        ("seed", -2),
    ],
)
def test_validate_rejects(field, value):
    with pytest.raises(ValidationError) as info:
        VIDEO_PARAMS.validate(request(**{field: value}))
    assert info.value.field == field


def test_bad_folder_raises_model_load_error(tmp_path):
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(ModelLoadError) as info:
        ModelManager(device="cpu").get("video", missing, DiffusersVideo(missing).load)
    assert missing in str(info.value)


# ---------------------------------------------------------------- tiny Wan end to end


def test_load_returns_wan_pipeline(pipe):
    assert type(pipe).__name__ == "WanPipeline"


def test_generate_writes_h264_mp4_with_snapped_frames(backend, pipe, tmp_path):
    steps: list[tuple[int, int]] = []
    result = backend.generate(
        pipe, request(), progress=lambda i, n, _desc: steps.append((i, n)), out_dir=tmp_path
    )
    assert result.modality == "video" and not result.cancelled
    assert result.seed == 7 and result.params["seed"] == 7
    assert result.params["num_frames"] == 9
    assert any("8 -> 9" in note for note in result.notes)
    assert steps == [(1, STEPS), (2, STEPS)]

    (path,) = result.files
    assert path.parent == tmp_path and path.suffix == ".mp4"
    assert not list(tmp_path.glob(".*tmp*")), "temporary file left behind"
    meta, frames = decode(path)
    assert frames.shape == (9, 64, 80, 3)
    assert meta["codec"] == "h264"
    assert meta["fps"] == pytest.approx(8)
    info = ffmpeg_stream_info(path)
    assert "h264" in info and "yuv420p" in info and "80x64" in info


def test_valid_frame_count_is_not_changed(backend, pipe, tmp_path):
    result = backend.generate(pipe, request(num_frames=5, width=64), out_dir=tmp_path)
    assert result.params["num_frames"] == 5 and result.notes == []
    _, frames = decode(result.files[0])
    assert frames.shape == (5, 64, 64, 3)


def test_same_seed_same_video_different_seed_different(backend, pipe, tmp_path):
    first = decode(backend.generate(pipe, request(seed=1), out_dir=tmp_path).files[0])[1]
    again = decode(backend.generate(pipe, request(seed=1), out_dir=tmp_path).files[0])[1]
    other = decode(backend.generate(pipe, request(seed=2), out_dir=tmp_path).files[0])[1]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_random_seed_is_resolved_and_reported(backend, pipe, tmp_path):
    result = backend.generate(pipe, request(seed=-1, num_frames=1), out_dir=tmp_path)
    assert 0 <= result.seed < 2**32 and result.params["seed"] == result.seed


def test_cancel_after_first_step_stops_early(backend, pipe, tmp_path):
    token = CancelToken()
    steps: list[int] = []

    def progress(step: int, total: int, _desc: str) -> None:
        steps.append(step)
        if step == 1:
            token.cancel()

    result = backend.generate(
        pipe, request(num_inference_steps=5), progress=progress, cancel=token, out_dir=tmp_path
    )
    assert result.cancelled
    assert steps == [1]
    assert result.files == [] and not list(tmp_path.iterdir())
