"""Playground tabs: one per modality, every generator parameter exposed.

API names: /generate_text, /generate_image, /generate_audio, /generate_video. The first
parameter is ``prompt``; every other one defaults to the component's value.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterator

import gradio as gr

from aigc_demo.core.types import (
    MAX_SEED,
    AudioRequest,
    GenerationResult,
    ImageRequest,
    TextRequest,
    VideoRequest,
)
from ..generators.audio import VOICE_PRESETS
from ..security import redact
from ..studio import RunContext, Studio
from .hosting import gpu_function
from .i18n import Translator
from .review_bar import ReviewBars
from .review_tab import RerunTarget
from .runs import SessionRuns, progress_fn, session_id, user_errors

GPU_GROUP = "gpu"
EXAMPLES = {
    "text": [
        ["Write a one-sentence product description for a bamboo water bottle."],
        ["用三句话介绍一款适合老年人的智能手表。"],
        ["List three safety checks before restarting a CNC milling machine."],
    ],
    "image": [
        ["studio product photo of a bamboo water bottle on a marble table, soft light"],
        ["storyboard sketch, a detective walking in neon rain, cinematic"],
    ],
    "audio": [
        ["Welcome to our spring sale. Every bamboo bottle is twenty percent off this week."],
        ["欢迎光临！本周所有竹制水杯八折优惠。"],
    ],
    "video": [
        ["a slow pan across a bamboo water bottle on a sunny kitchen counter"],
        ["waves rolling onto a beach at sunset, cinematic"],
    ],
}


def run_details(result: GenerationResult) -> dict[str, Any]:
    """What the user (and an API client) sees about a run."""
    return {
        "record_id": result.record_id,
        "model": result.model_ref,
        "seed": result.seed,
        "load_seconds": round(result.load_seconds, 2),
        "generate_seconds": round(result.generate_seconds, 2),
        "cancelled": result.cancelled,
        "notes": result.notes,
        "params": result.params,
    }


class PlaygroundTabs:
    """Renders the four playground tabs and wires their events."""

    def __init__(self, studio: Studio, t: Translator, runs: SessionRuns, bars: ReviewBars) -> None:
        self.studio = studio
        self.t = t
        self.runs = runs
        self.bars = bars
        self.targets: dict[str, RerunTarget] = {}
        self._path: tuple[tuple[gr.Tabs, str], ...] = ()

    def render(self, outer: gr.Tabs) -> dict[str, RerunTarget]:
        """Draw the tabs; returns where each modality's records can be re-run."""
        with gr.Tab(self.t("tab.playground"), id="playground"):
            with gr.Tabs() as inner:
                for modality, render in (
                    ("text", self._render_text),
                    ("image", self._render_image),
                    ("audio", self._render_audio),
                    ("video", self._render_video),
                ):
                    with gr.Tab(self.t(f"tab.{modality}"), id=f"playground-{modality}"):
                        gr.Markdown(self._model_line(modality), elem_classes=["model-line"])
                        self._path = ((outer, "playground"), (inner, f"playground-{modality}"))
                        render()
        return self.targets

    # ------------------------------------------------------------ shared pieces

    def _model_line(self, modality: str) -> str:
        ref = self.studio.settings.model_for(modality)
        if not ref:
            return f"⚠️ {self.studio.settings.unavailable.get(modality, 'unavailable in this preset')}"
        smoke = " — smoke-test model, output is noise · 冒烟测试模型，输出为噪声" if self.studio.settings.smoke_test(modality) else ""
        return f"**Model · 模型:** `{redact(ref)}` (preset · 预设 `{self.studio.settings.preset}`){smoke}"

    def _seed_row(self) -> tuple[gr.Number, gr.Number, gr.Button]:
        with gr.Row():
            seed = gr.Number(value=-1, label=self.t("ui.seed"), precision=0, minimum=-1, maximum=MAX_SEED)
            used = gr.Number(label=self.t("ui.seed_used"), precision=0, interactive=False)
            reuse = gr.Button(self.t("ui.reuse_seed"), size="sm")
        reuse.click(lambda s: s, used, seed, queue=False, api_visibility="private")
        return seed, used, reuse

    def _buttons(self) -> tuple[gr.Button, gr.Button]:
        with gr.Row():
            run = gr.Button(self.t("ui.generate"), variant="primary", elem_classes=["run-button"])
            stop = gr.Button(self.t("ui.stop"), variant="stop", elem_classes=["stop-button"])
        return run, stop

    def _wire(
        self, modality: str, run: gr.Button, stop: gr.Button, fn: Callable[..., Any],
        inputs: list[gr.Component], outputs: list[gr.Component], prompt: gr.Textbox,
    ) -> None:
        """Events for one tab: run (API generate_<modality>), Stop, examples, review, re-run."""
        record_ids = gr.State([])
        self.bars.render(record_ids)
        outputs = [*outputs, record_ids]
        names = list(inspect.signature(fn).parameters)[: len(inputs)]
        self.targets[f"playground-{modality}"] = RerunTarget(
            self._path, inputs, lambda record: [record.seed if n == "seed" else record.params.get(n, gr.skip()) for n in names]
        )
        fn = gpu_function(fn, base=20, per_unit=0.5, unit_keys=("num_inference_steps", "num_frames", "num_images"))
        gr.on(
            [run.click, prompt.submit], fn, inputs, outputs, api_name=f"generate_{modality}",
            concurrency_id=GPU_GROUP, concurrency_limit=1,
            preprocess=False,  # values reach Studio.prepare as sent: its errors name the field and range
            show_progress_on=outputs[2] if modality == "text" else outputs[0],  # streamed text stays readable
        )
        stop.click(self.runs.stop_handler(modality), None, None, queue=False, api_visibility="private")
        gr.Examples(EXAMPLES[modality], inputs=[prompt], label=self.t("ui.examples"),
                    example_labels=[row[0] for row in EXAMPLES[modality]])

    def _run_media(self, modality: str, request_obj: Any, request: gr.Request, progress: gr.Progress) -> GenerationResult:
        session = session_id(request)
        token = self.runs.start(session, modality)
        try:
            return self.studio.run(
                modality, request_obj, progress=progress_fn(progress), cancel=token,
                context=RunContext("playground", modality, session),
            )
        finally:
            self.runs.finish(session, modality, token)

    # ------------------------------------------------------------ text

    def _render_text(self) -> None:
        d = self.studio.defaults("text")
        with gr.Row():
            with gr.Column(scale=1):
                prompt = gr.Textbox(label=self.t("ui.prompt"), lines=4, value=EXAMPLES["text"][0][0])
                with gr.Accordion(self.t("ui.settings"), open=False):
                    system = gr.Textbox(label=self.t("ui.system_prompt"), lines=2, value=TextRequest.system_prompt)
                    max_tokens = gr.Slider(1, 2048, value=d.get("max_new_tokens", 256), step=1, label=self.t("ui.max_new_tokens"))
                    temperature = gr.Slider(0.0, 2.0, value=d.get("temperature", 0.7), step=0.05, label=self.t("ui.temperature"))
                    top_p = gr.Slider(0.05, 1.0, value=d.get("top_p", 0.9), step=0.05, label=self.t("ui.top_p"))
                seed, used, _ = self._seed_row()
                run, stop = self._buttons()
            with gr.Column(scale=1):
                output = gr.Textbox(label=self.t("ui.output_text"), lines=14, buttons=["copy"], elem_id="text-output")
                details = gr.JSON(label=self.t("ui.run_info"))

        @user_errors
        def generate_text(
            prompt: str, system_prompt: str, max_new_tokens: int, temperature: float, top_p: float, seed: int,
            request: gr.Request, progress: gr.Progress = gr.Progress(),
        ) -> Iterator[tuple[Any, ...]]:
            req = TextRequest(prompt, system_prompt or "", max_new_tokens, temperature, top_p, seed)
            session = session_id(request)
            token = self.runs.start(session, "text")
            try:
                for update in self.studio.stream_text(
                    req, cancel=token, context=RunContext("playground", "text", session), progress=progress_fn(progress)
                ):
                    if isinstance(update, GenerationResult):
                        yield update.text or "", update.seed, run_details(update), [update.record_id]
                    else:
                        yield update, gr.skip(), gr.skip(), gr.skip()
            finally:
                self.runs.finish(session, "text", token)

        self._wire("text", run, stop, generate_text, [prompt, system, max_tokens, temperature, top_p, seed], [output, used, details], prompt)

    # ------------------------------------------------------------ image

    def _render_image(self) -> None:
        d = self.studio.defaults("image")
        with gr.Row():
            with gr.Column(scale=1):
                prompt = gr.Textbox(label=self.t("ui.prompt"), lines=3, value=EXAMPLES["image"][0][0])
                negative = gr.Textbox(label=self.t("ui.negative_prompt"), value="blurry, low quality, watermark, text")
                with gr.Accordion(self.t("ui.settings"), open=False):
                    with gr.Row():
                        width = gr.Slider(64, 2048, value=d.get("width", 512), step=8, label=self.t("ui.width"))
                        height = gr.Slider(64, 2048, value=d.get("height", 512), step=8, label=self.t("ui.height"))
                    steps = gr.Slider(1, 150, value=d.get("num_inference_steps", 4), step=1, label=self.t("ui.steps"))
                    guidance = gr.Slider(0.0, 30.0, value=d.get("guidance_scale", 0.0), step=0.5, label=self.t("ui.guidance"))
                    count = gr.Slider(1, 4, value=1, step=1, label=self.t("ui.num_images"))
                seed, used, _ = self._seed_row()
                run, stop = self._buttons()
            with gr.Column(scale=1):
                gallery = gr.Gallery(label=self.t("ui.output_images"), columns=2, elem_id="image-output")
                details = gr.JSON(label=self.t("ui.run_info"))

        @user_errors
        def generate_image(
            prompt: str, negative_prompt: str, width: int, height: int, num_inference_steps: int,
            guidance_scale: float, seed: int, num_images: int, request: gr.Request, progress: gr.Progress = gr.Progress(),
        ) -> tuple[Any, ...]:
            req = ImageRequest(prompt, negative_prompt or "", width, height, num_inference_steps,
                               guidance_scale, seed, num_images)
            result = self._run_media("image", req, request, progress)
            return [str(p) for p in result.files], result.seed, run_details(result), [result.record_id]

        self._wire("image", run, stop, generate_image,
                   [prompt, negative, width, height, steps, guidance, seed, count], [gallery, used, details], prompt)

    # ------------------------------------------------------------ audio

    def _render_audio(self) -> None:
        with gr.Row():
            with gr.Column(scale=1):
                prompt = gr.Textbox(label=self.t("ui.prompt"), lines=4, value=EXAMPLES["audio"][0][0])
                voice = gr.Dropdown([*VOICE_PRESETS, ""], value=AudioRequest.voice_preset, label=self.t("ui.voice_preset"))
                seed, used, _ = self._seed_row()
                run, stop = self._buttons()
            with gr.Column(scale=1):
                audio = gr.Audio(label=self.t("ui.output_audio"), type="filepath", elem_id="audio-output")
                details = gr.JSON(label=self.t("ui.run_info"))

        @user_errors
        def generate_audio(
            prompt: str, voice_preset: str, seed: int, request: gr.Request, progress: gr.Progress = gr.Progress(),
        ) -> tuple[Any, ...]:
            result = self._run_media("audio", AudioRequest(prompt, voice_preset or "", seed), request, progress)
            return (str(result.files[0]) if result.files else None), result.seed, run_details(result), [result.record_id]

        self._wire("audio", run, stop, generate_audio, [prompt, voice, seed], [audio, used, details], prompt)

    # ------------------------------------------------------------ video

    def _render_video(self) -> None:
        d = self.studio.defaults("video")
        with gr.Row():
            with gr.Column(scale=1):
                prompt = gr.Textbox(label=self.t("ui.prompt"), lines=3, value=EXAMPLES["video"][0][0])
                negative = gr.Textbox(label=self.t("ui.negative_prompt"), value="blurry, distorted, static")
                with gr.Accordion(self.t("ui.settings"), open=False):
                    with gr.Row():
                        width = gr.Slider(64, 1280, value=d.get("width", 480), step=16, label=self.t("ui.width"))
                        height = gr.Slider(64, 1280, value=d.get("height", 320), step=16, label=self.t("ui.height"))
                    frames = gr.Slider(1, 161, value=d.get("num_frames", 17), step=1, label=self.t("ui.num_frames"))
                    fps = gr.Slider(1, 60, value=d.get("fps", 8), step=1, label=self.t("ui.fps"))
                    steps = gr.Slider(1, 100, value=d.get("num_inference_steps", 20), step=1, label=self.t("ui.steps"))
                    guidance = gr.Slider(0.0, 20.0, value=d.get("guidance_scale", 5.0), step=0.5, label=self.t("ui.guidance"))
                seed, used, _ = self._seed_row()
                run, stop = self._buttons()
            with gr.Column(scale=1):
                video = gr.Video(label=self.t("ui.output_video"), elem_id="video-output")
                details = gr.JSON(label=self.t("ui.run_info"))

        @user_errors
        def generate_video(
            prompt: str, negative_prompt: str, width: int, height: int, num_frames: int, fps: int,
            num_inference_steps: int, guidance_scale: float, seed: int, request: gr.Request,
            progress: gr.Progress = gr.Progress(),
        ) -> tuple[Any, ...]:
            req = VideoRequest(prompt, negative_prompt or "", width, height, num_frames, fps,
                               num_inference_steps, guidance_scale, seed)
            result = self._run_media("video", req, request, progress)
            return (str(result.files[0]) if result.files else None), result.seed, run_details(result), [result.record_id]

        self._wire("video", run, stop, generate_video,
                   [prompt, negative, width, height, frames, fps, steps, guidance, seed], [video, used, details], prompt)
