"""Text-to-video with a diffusers pipeline (default Wan 2.1 T2V 1.3B), written as H.264 MP4.

Any text-to-video pipeline that ``DiffusionPipeline.from_pretrained`` can load works (Wan,
LTX-Video, ...): only the keyword arguments its ``__call__`` accepts are passed, and the
frame count is snapped to what its VAE needs (Wan 4k+1, LTX 8k+1).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from aigc_demo.core import stamp as stamps
from aigc_demo.core.files import atomic_path, new_output_path
from aigc_demo.backends.hub import HubBackend
from aigc_demo.core.params import VIDEO_PARAMS
from aigc_demo.core.types import (
    CancelToken,
    GenerationResult,
    ModelLoadError,
    ProgressFn,
    Timer,
    VideoRequest,
    no_progress,
    request_params,
    resolve_seed,
)

if TYPE_CHECKING:
    import numpy as np

SIZE_MULTIPLE = VIDEO_PARAMS["width"].multiple  # H.264 macroblocks (yuv420p) and Wan's VAE patch

# (multiple, offset): valid frame counts are multiple * k + offset
FrameRule = tuple[int, int]
_KNOWN_RULES: dict[str, FrameRule] = {"Wan": (4, 1), "LTX": (8, 1)}
_TEMPORAL_ATTRS = ("vae_scale_factor_temporal", "vae_temporal_compression_ratio")


def frame_rule(pipe: Any) -> FrameRule:
    """The frame-count rule of a pipeline (object, class or class name).

    Wan: 4k+1, LTX: 8k+1; another pipeline object with a temporal VAE factor f: f*k+1;
    anything else: any count (1k+0).
    """
    if isinstance(pipe, str):
        name = pipe
    else:
        name = pipe.__name__ if isinstance(pipe, type) else type(pipe).__name__
    factor = None
    if not isinstance(pipe, (str, type)):
        factor = next((getattr(pipe, a) for a in _TEMPORAL_ATTRS if isinstance(getattr(pipe, a, None), int)), None)
    for key, rule in _KNOWN_RULES.items():
        if key in name:
            return (factor or rule[0], rule[1])
    return (factor, 1) if factor and factor > 1 else (1, 0)


def snap_frames(num_frames: int, rule: FrameRule) -> int:
    """The valid frame count nearest to ``num_frames`` (ties round up), at least 1."""
    multiple, offset = rule
    k = math.floor((num_frames - offset) / multiple + 0.5)
    snapped = multiple * k + offset
    while snapped < 1:
        snapped += multiple
    return snapped


def write_mp4(frames: "np.ndarray", path: Path, fps: int, metadata: Mapping[str, str] | None = None) -> None:
    """Encode uint8 frames (F, H, W, 3) as H.264 yuv420p MP4 with ``metadata`` as container
    tags, in one pass and in-process (PyAV's libav + libx264: no ffmpeg process to start)."""
    import av
    import numpy as np

    count, height, width, _ = frames.shape
    pad_h, pad_w = -height % SIZE_MULTIPLE, -width % SIZE_MULTIPLE  # H.264 macroblocks
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:  # playable while downloading
        container.metadata.update(metadata or {})
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width + pad_w, height + pad_h, "yuv420p"
        stream.options = {"crf": "10"}  # small clips, few visible artifacts
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
        container.mux(stream.encode())  # flush the encoder


class DiffusersVideo(HubBackend):
    modality = "video"
    scheme = "diffusers"
    params = VIDEO_PARAMS

    def load(self, device: str, dtype: Any) -> Any:
        import torch
        from diffusers import DiffusionPipeline

        model_ref = self.location()
        load_dtype: Any = dtype
        if dtype in (torch.float16, torch.bfloat16):
            # Wan's model card keeps its VAE in float32 (half precision decodes visibly worse).
            try:
                vae_entry = DiffusionPipeline.load_config(str(model_ref)).get("vae") or []
            except Exception:  # noqa: BLE001 - from_pretrained below reports the real problem
                vae_entry = []
            if "AutoencoderKLWan" in vae_entry:
                load_dtype = {"default": dtype, "vae": torch.float32}
        pipe = DiffusionPipeline.from_pretrained(str(model_ref), dtype=load_dtype)
        accepted = inspect.signature(pipe.__call__).parameters
        if "num_frames" not in accepted or "prompt" not in accepted:
            raise ModelLoadError(str(model_ref), f"{type(pipe).__name__} is not a text-to-video pipeline")
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def generate(
        self,
        model: Any,
        request: VideoRequest,
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
        out_dir: Path | None = None,
    ) -> GenerationResult:
        import numpy as np
        import torch

        seed = resolve_seed(request.seed)
        notes: list[str] = []
        num_frames = snap_frames(request.num_frames, frame_rule(model))
        if num_frames != request.num_frames:
            rule = frame_rule(model)
            notes.append(
                f"num_frames {request.num_frames} -> {num_frames} "
                f"({type(model).__name__} needs {rule[0]}k+{rule[1]} frames)"
            )
        request = replace(request, seed=seed, num_frames=num_frames)
        model_ref = str(getattr(model, "name_or_path", None) or type(model).__name__)
        result = GenerationResult(
            modality=self.modality, model_ref=model_ref, seed=seed, params=request_params(request), notes=notes
        )
        total = request.num_inference_steps
        steps_done = 0

        def on_step_end(pipe: Any, step: int, timestep: Any, tensors: dict) -> dict:
            nonlocal steps_done
            steps_done = step + 1
            progress(steps_done, total, "denoising")
            if cancel is not None and cancel.cancelled:
                pipe._interrupt = True  # diffusers skips the remaining steps
            return tensors

        if cancel is not None and cancel.cancelled:
            result.cancelled = True
            result.notes.append("cancelled before the first step")
            return result

        kwargs: dict[str, Any] = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt or None,
            "width": request.width,
            "height": request.height,
            "num_frames": num_frames,
            "frame_rate": request.fps,  # LTX conditions on it
            "num_inference_steps": total,
            "guidance_scale": request.guidance_scale,
            "generator": torch.Generator("cpu").manual_seed(seed),  # same noise on every device
            "output_type": "np",
            "callback_on_step_end": on_step_end,
        }
        accepted = inspect.signature(model.__call__).parameters
        kwargs = {k: v for k, v in kwargs.items() if k in accepted and v is not None}

        with Timer() as timer:
            output = model(**kwargs)
        result.generate_seconds = timer.seconds
        if steps_done < total and cancel is not None and cancel.cancelled:
            result.cancelled = True
            result.notes.append(f"cancelled after step {steps_done} of {total}; no video written")
            return result

        frames = np.asarray(output.frames[0])
        if frames.dtype != np.uint8:
            frames = np.round(np.clip(frames, 0.0, 1.0) * 255).astype(np.uint8)
        path = new_output_path(out_dir, self.modality, ".mp4")
        stamp = stamps.for_dir(out_dir)  # the studio's record, known now: one encode carries it
        with atomic_path(path) as tmp:
            write_mp4(frames, tmp, request.fps, stamp.tags_for(result, path) if stamp else None)
        result.files.append(path)
        return result
