"""Text-to-image with diffusers: any pipeline ``AutoPipelineForText2Image`` can load.

One pipeline call per image (seed, seed+1, ...), so image *i* of a batch can be reproduced
alone with ``seed + i``. Progress is reported per denoising step; cancel sets the pipeline's
``_interrupt`` flag, which diffusers checks before each step.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigc_demo.core.files import atomic_path, new_output_path
from aigc_demo.backends.hub import HubBackend
from aigc_demo.core.params import IMAGE_PARAMS, snap
from aigc_demo.core.types import (
    MAX_SEED,
    CancelToken,
    GenerationResult,
    ImageRequest,
    ModelLoadError,
    ProgressFn,
    Timer,
    no_progress,
    request_params,
    resolve_seed,
)

if TYPE_CHECKING:
    from diffusers import DiffusionPipeline

SIZE_MULTIPLE = IMAGE_PARAMS["width"].multiple  # generate() re-snaps to the VAE's multiple too


@functools.cache
def call_parameters(pipeline_class: type) -> frozenset[str]:
    """The keyword arguments a pipeline class's ``__call__`` takes (read once per class, not
    once per request: a batch of 8 read it 9 times, ~0.2 ms each)."""
    return frozenset(inspect.signature(pipeline_class.__call__).parameters) - {"self"}


def _has_fp16_variant(model_ref: str) -> bool:
    """True for a local folder that ships ``*.fp16.*`` weight files (hub ids: not checked)."""
    folder = Path(model_ref)
    return folder.is_dir() and any(".fp16." in p.name for p in folder.glob("*/*"))


class DiffusersImage(HubBackend):
    modality = "image"
    scheme = "diffusers"
    params = IMAGE_PARAMS

    def load(self, device: str, dtype: Any) -> "DiffusionPipeline":
        """Load a text-to-image pipeline (the ModelManager moves it to ``device``)."""
        import torch
        from diffusers import AutoPipelineForText2Image, DiffusionPipeline

        model_ref = self.location()
        kwargs: dict[str, Any] = {}
        if dtype is not None:
            kwargs["dtype"] = dtype
        if dtype == torch.float16 and _has_fp16_variant(model_ref):
            kwargs["variant"] = "fp16"
        try:
            pipe = AutoPipelineForText2Image.from_pretrained(model_ref, **kwargs)
        except ValueError:
            # AutoPipeline only knows its own mapping; a custom or newer class may still load.
            pipe = DiffusionPipeline.from_pretrained(model_ref, **kwargs)
        if "prompt" not in call_parameters(type(pipe)):
            raise ModelLoadError(model_ref, f"{type(pipe).__name__} is not a text-to-image pipeline")
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def _prepare(self, pipe: Any, request: ImageRequest) -> tuple[ImageRequest, list[int], dict[str, Any], list[str]]:
        """(request with sizes snapped, seeds of its images, pipeline keyword arguments, notes)."""
        notes: list[str] = []

        # The latent grid needs sizes divisible by the VAE's downscale factor too.
        multiple = math.lcm(SIZE_MULTIPLE, int(getattr(pipe, "vae_scale_factor", 1) or 1))
        if multiple != SIZE_MULTIPLE:
            width, height = snap(request.width, multiple), snap(request.height, multiple)
            for name, before, after in (("width", request.width, width), ("height", request.height, height)):
                if before != after:
                    notes.append(f"{name} {before} -> {after} (this model needs multiples of {multiple})")
            request = dataclasses.replace(request, width=width, height=height)

        seed = resolve_seed(request.seed)
        seeds = [(seed + i) % (MAX_SEED + 1) for i in range(request.num_images)]
        if len(seeds) > 1:
            notes.append(f"seeds {', '.join(map(str, seeds))} (image i uses seed + i)")

        accepted = call_parameters(type(pipe))
        wanted: dict[str, Any] = {
            "prompt": request.prompt,
            "width": request.width,
            "height": request.height,
            "num_inference_steps": request.num_inference_steps,
            "guidance_scale": request.guidance_scale,
            "output_type": "pil",
        }
        if request.negative_prompt:
            wanted["negative_prompt"] = request.negative_prompt
            if request.guidance_scale <= 1.0:
                notes.append("negative_prompt has no effect when guidance_scale <= 1")
        kwargs = {k: v for k, v in wanted.items() if k in accepted}
        ignored = sorted(set(wanted) - set(kwargs) - {"output_type"})
        if ignored:
            notes.append(f"{type(pipe).__name__} ignores {', '.join(ignored)}")
        return request, seeds, kwargs, notes

    def generate(
        self,
        model: "DiffusionPipeline",
        request: ImageRequest,
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
        out_dir: Path | None = None,
    ) -> GenerationResult:
        import torch

        pipe = model
        request, seeds, kwargs, notes = self._prepare(pipe, request)
        seed = seeds[0]
        accepted = call_parameters(type(pipe))

        total_images = len(seeds)
        done_images = 0  # images fully denoised so far, for overall progress

        def on_step_end(p: Any, step: int, timestep: Any, tensors: dict) -> dict:
            per_image = int(getattr(p, "num_timesteps", 0) or request.num_inference_steps)
            desc = "denoising" if total_images == 1 else f"denoising image {done_images + 1}/{total_images}"
            progress(done_images * per_image + step + 1, total_images * per_image, desc)
            if cancel is not None and cancel.cancelled:
                p._interrupt = True  # diffusers skips the remaining steps
            return {}

        if "callback_on_step_end" in accepted:
            kwargs["callback_on_step_end"] = on_step_end

        device = getattr(pipe, "device", torch.device("cpu"))
        gen_device = "cpu" if device.type == "mps" else device  # MPS generators are unreliable

        files: list[Path] = []
        cancelled = False
        with Timer() as timer:
            try:
                for index, image_seed in enumerate(seeds):
                    if cancel is not None and cancel.cancelled:
                        cancelled = True
                        break
                    generator = torch.Generator(gen_device).manual_seed(image_seed)
                    output = pipe(generator=generator, **kwargs)
                    if getattr(pipe, "_interrupt", False):
                        # Interrupted mid-way: diffusers still decodes the half-denoised
                        # latents; that picture is not what was asked for, so drop it.
                        cancelled = True
                        break
                    flagged = list(getattr(output, "nsfw_content_detected", None) or [])
                    for j, image in enumerate(output.images):
                        if j < len(flagged) and flagged[j]:
                            notes.append(
                                f"image {index + 1} (seed {image_seed}) was flagged by the safety "
                                "checker as not safe for work and was not saved"
                            )
                            continue
                        path = new_output_path(out_dir, self.modality, ".png")
                        with atomic_path(path) as tmp:
                            image.save(tmp, format="PNG")
                        files.append(path)
                    done_images += 1
            finally:
                if hasattr(pipe, "_interrupt"):
                    pipe._interrupt = False
        if cancelled:
            notes.append(f"cancelled after {len(files)} of {total_images} image(s)")

        params = request_params(request)
        params["seed"] = seed
        return GenerationResult(
            modality=self.modality,
            model_ref=str(getattr(pipe, "name_or_path", "") or type(pipe).__name__),
            seed=seed,
            params=params,
            files=files,
            generate_seconds=timer.seconds,
            cancelled=cancelled,
            notes=notes,
        )

    def generate_batch(
        self,
        model: "DiffusionPipeline",
        requests: list[ImageRequest],
        *,
        out_dirs: list[Path],
        progress: list[ProgressFn] | None = None,
        cancel: list[CancelToken | None] | None = None,
    ) -> list[GenerationResult]:
        """One pipeline call for several one-image requests that differ only in prompt and
        seed (``batching.batch_key``): a list of prompts and one generator per request, so
        each image starts from the same noise as when it is generated alone. Returns one
        result per request, its file under its own ``out_dirs`` entry. A request cancelled
        mid-way gets no image; the call stops early only when every request is cancelled."""
        import torch

        pipe = model
        progress = progress or [no_progress] * len(requests)
        cancel = cancel or [None] * len(requests)
        prepared = [self._prepare(pipe, request) for request in requests]
        kwargs = dict(prepared[0][2])
        kwargs["prompt"] = [p[2]["prompt"] for p in prepared]
        if "negative_prompt" in kwargs:
            kwargs["negative_prompt"] = [p[2].get("negative_prompt", "") for p in prepared]
        accepted = call_parameters(type(pipe))
        steps = requests[0].num_inference_steps
        others = len(requests) - 1

        def cancelled(i: int) -> bool:
            return cancel[i] is not None and cancel[i].cancelled  # type: ignore[union-attr]

        def on_step_end(p: Any, step: int, timestep: Any, tensors: dict) -> dict:
            total = int(getattr(p, "num_timesteps", 0) or steps)
            for report in progress:
                report(step + 1, total, f"denoising (batched with {others} other request(s))")
            if all(cancelled(i) for i in range(len(requests))):
                p._interrupt = True
            return {}

        if "callback_on_step_end" in accepted:
            kwargs["callback_on_step_end"] = on_step_end
        device = getattr(pipe, "device", torch.device("cpu"))
        gen_device = "cpu" if device.type == "mps" else device
        generators = [torch.Generator(gen_device).manual_seed(p[1][0]) for p in prepared]
        with Timer() as timer:
            try:
                output = pipe(generator=generators, **kwargs)
                interrupted = bool(getattr(pipe, "_interrupt", False))
            finally:
                if hasattr(pipe, "_interrupt"):
                    pipe._interrupt = False
        flagged = list(getattr(output, "nsfw_content_detected", None) or [])
        results = []
        for i, ((request, seeds, _, notes), image) in enumerate(zip(prepared, output.images)):
            notes = [*notes, f"generated in one batch with {others} other request(s)"]
            files: list[Path] = []
            stopped = interrupted or cancelled(i)
            if stopped:
                notes.append("cancelled after 0 of 1 image(s)")
            elif i < len(flagged) and flagged[i]:
                notes.append(f"image 1 (seed {seeds[0]}) was flagged by the safety checker as not safe for work "
                             "and was not saved")
            else:
                path = new_output_path(out_dirs[i], self.modality, ".png")
                with atomic_path(path) as tmp:
                    image.save(tmp, format="PNG")
                files.append(path)
            params = request_params(request)
            params["seed"] = seeds[0]
            results.append(GenerationResult(
                modality=self.modality,
                model_ref=str(getattr(pipe, "name_or_path", "") or type(pipe).__name__),
                seed=seeds[0], params=params, files=files, generate_seconds=timer.seconds,
                cancelled=stopped, notes=notes,
            ))
        return results
