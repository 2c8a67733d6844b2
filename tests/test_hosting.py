"""Hosting: ZeroGPU wrapping only where `spaces` and a Space exist; duration grows with the request."""

from __future__ import annotations

from aigc_demo.ui.hosting import MAX_GPU_SECONDS, estimate_seconds, gpu_function, on_zero_gpu


def test_duration_grows_with_the_request_and_is_capped():
    keys = ("num_inference_steps", "num_frames")
    small = estimate_seconds({"num_inference_steps": 4, "num_frames": 9}, 20, 0.5, keys)
    large = estimate_seconds({"num_inference_steps": 30, "num_frames": 81}, 20, 0.5, keys)
    assert 20 < small < large <= MAX_GPU_SECONDS
    assert estimate_seconds({"num_inference_steps": 10**6}, 20, 0.5, keys) == MAX_GPU_SECONDS
    assert estimate_seconds({"num_inference_steps": "lots", "num_frames": True}, 20, 0.5, keys) == 20


def test_functions_are_unchanged_off_spaces(monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert not on_zero_gpu()

    def generate(prompt: str) -> str:
        return prompt

    assert gpu_function(generate, 20, 0.5, ("num_frames",)) is generate
