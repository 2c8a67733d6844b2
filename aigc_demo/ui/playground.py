"""Playground tabs: one per modality, every parameter drawn from its declaration.

API names: /generate_text, /generate_image, /generate_audio, /generate_video. The first
parameter is ``prompt``; the others follow the request's declared order, each defaulting to its
widget's value, with limits, steps and help text taken from ``aigc_demo.core.params``; the last
is ``model`` ("" = the configured model; the choices: /list_models, see ``model_picker``).
"""

from __future__ import annotations

from typing import Any, Iterator

import gradio as gr

from ..core.params import Param, Params
from ..core.types import MODALITIES, GenerationResult
from ..studio import RunContext, Studio
from .media_outputs import audio_output, video_output
from .hosting import gpu_function, media_buttons
from .i18n import Translator, param_key
from .model_line import models_markdown
from .model_picker import list_models_endpoint, render_picker
from .review_bar import ReviewBars
from .review_tab import RerunTarget
from .concurrency import LIGHT_GROUP, generation_group
from .errors import user_errors
from .runs import SessionRuns, progress_fn, session_id, with_request_args

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


# Starting values the UI offers beyond the requests' own defaults.
STARTING_VALUES: dict[str, dict[str, Any]] = {
    "image": {"negative_prompt": "blurry, low quality, watermark, text"},
    "video": {"negative_prompt": "blurry, distorted, static"},
}
GPU_UNITS = ("num_inference_steps", "num_frames", "num_images")  # ZeroGPU duration grows with these


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


def output_component(modality: str, t: Translator) -> gr.Component:
    """The one component that shows a modality's result."""
    if modality == "text":
        return gr.Textbox(label=t("ui.output_text"), lines=14, buttons=["copy"], elem_id="text-output")
    if modality == "image":
        return gr.Gallery(label=t("ui.output_images"), columns=2, elem_id="image-output", buttons=media_buttons("gallery"))
    if modality == "audio":
        return audio_output(label=t("ui.output_audio"), type="filepath", elem_id="audio-output", buttons=media_buttons("audio"))
    return video_output(label=t("ui.output_video"), elem_id="video-output", buttons=media_buttons("video"))


def output_value(result: GenerationResult) -> Any:
    """A result as its output component's value."""
    if result.modality == "text":
        return result.text or ""
    files = [str(p) for p in result.files]
    return files if result.modality == "image" else (files[0] if files else None)


def param_widget(modality: str, param: Param, value: Any, t: Translator) -> gr.Component:
    """A parameter's widget: its limits, step, choices and help come from its declaration."""
    label, info = t(param_key(modality, param.name)), t(param_key(modality, param.name, "help")) if param.help else None
    if param.kind == "prompt":
        return gr.Textbox(value=value, label=label, info=info, lines=4 if modality in ("text", "audio") else 3)
    if param.kind in ("text", "json"):
        return gr.Textbox(value=value, label=label, info=info, lines=2 if param.advanced else 1)
    if param.kind == "choice":
        return gr.Dropdown([*param.choices, ""], value=value, label=label, info=info)
    return gr.Slider(param.minimum, param.maximum, value=value, step=param.step, label=label, info=info)


def api_docstring(modality: str, params: Params) -> str:
    """The endpoint's description and one line per parameter, as Gradio's API page reads them."""
    lines = [f"Generate {modality} with this preset's {modality} model; returns the output, the seed used, "
             "the run details and the record id.", "", "Args:"]
    for name, param in params.items():
        limits = f" ({param.minimum} to {param.maximum})" if param.numeric else ""
        lines.append(f"    {name}: {param.help.en if param.help else param.label.en}{limits}")
    lines.append(f"    model: the {modality} model to run, one of /list_models; empty for this preset's own")
    return "\n".join(lines)


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
        with gr.Tab(self.t("tab.playground"), id="playground", elem_id="tab-playground"):
            with gr.Tabs() as inner:
                for modality in MODALITIES:
                    with gr.Tab(self.t(f"tab.{modality}"), id=f"playground-{modality}"):
                        self.t.per_page(gr.Markdown(elem_classes=["model-line"]),  # in the page's language
                                        lambda language, m=modality: models_markdown(
                                            self.studio.settings, [(self.t.text(f"tab.{m}", language), m)], language))
                        self._path = ((outer, "playground"), (inner, f"playground-{modality}"))
                        self._render(modality)
            gr.api(list_models_endpoint(self.studio), api_name="list_models", concurrency_id=LIGHT_GROUP,
                   concurrency_limit=4)
        return self.targets

    def _render(self, modality: str) -> None:
        """Widgets from the parameters (advanced ones folded), the seed row, run/stop, the output."""
        params = self.studio.params(modality)
        values = {name: p.default for name, p in params.items()}
        values |= {k: v for k, v in self.studio.defaults(modality).items() if k in params}
        values |= STARTING_VALUES.get(modality, {}) | {"prompt": EXAMPLES[modality][0][0]}
        widgets: dict[str, gr.Component] = {}
        with gr.Row():
            with gr.Column(scale=1):
                model = render_picker(self.studio, modality, self.t)
                plain = [p for p in params.values() if not p.advanced and p.name != "seed"]
                advanced = [p for p in params.values() if p.advanced]
                for param in plain:
                    widgets[param.name] = param_widget(modality, param, values[param.name], self.t)
                if advanced:
                    with gr.Accordion(self.t("ui.settings"), open=False):
                        for param in advanced:
                            widgets[param.name] = param_widget(modality, param, values[param.name], self.t)
                with gr.Row():
                    seed = params["seed"]
                    widgets["seed"] = gr.Number(value=-1, label=self.t(param_key(modality, "seed")), precision=0,
                                                info=self.t(param_key(modality, "seed", "help")),
                                                minimum=seed.minimum, maximum=seed.maximum)
                    used = gr.Number(label=self.t("ui.seed_used"), precision=0, interactive=False)
                    reuse = gr.Button(self.t("ui.reuse_seed"), size="sm")
                reuse.click(lambda s: s, used, widgets["seed"], queue=False, api_visibility="private")
                with gr.Row():
                    run = gr.Button(self.t("ui.generate"), variant="primary", elem_classes=["run-button"])
                    stop = gr.Button(self.t("ui.stop"), variant="stop", elem_classes=["stop-button"])
            with gr.Column(scale=1):
                output = output_component(modality, self.t)
                details = gr.JSON(label=self.t("ui.run_info"))
        self._wire(modality, params, run, stop, [*(widgets[name] for name in params), model], [output, used, details])

    def _wire(
        self, modality: str, params: Params, run: gr.Button, stop: gr.Button,
        inputs: list[gr.Component], outputs: list[gr.Component],
    ) -> None:
        """Events for one tab: run (API generate_<modality>), Stop, examples, review, re-run.
        ``inputs``: the parameters' widgets, then the model choice."""
        record_ids = gr.State([])
        self.bars.render(record_ids)
        names = list(params)
        configured = self.studio.settings.model_for(modality)
        self.targets[f"playground-{modality}"] = RerunTarget(
            self._path, inputs, lambda record: [record.seed if n == "seed" else record.params.get(n, gr.skip()) for n in names]
            + ["" if record.model_ref == configured else record.model_ref]
        )
        fn = gpu_function(self._handler(modality, params), base=20, per_unit=0.5, unit_keys=GPU_UNITS)
        prompt = inputs[0]
        gr.on(
            [run.click, prompt.submit], fn, inputs, [*outputs, record_ids], api_name=f"generate_{modality}",
            **generation_group(self.studio, [modality]),
            preprocess=False,  # values reach Studio.prepare as sent: its errors name the field and range
            show_progress_on=outputs[2] if modality == "text" else outputs[0],  # streamed text stays readable
        )
        stop.click(self.runs.stop_handler(modality), None, None, queue=False, api_visibility="private")
        gr.Examples(EXAMPLES[modality], inputs=[prompt], label=self.t("ui.examples"),
                    example_labels=[row[0] for row in EXAMPLES[modality]])

    def _handler(self, modality: str, params: Params) -> Any:
        """``generate_<modality>(prompt, ..., request, progress)``: its signature, names and
        docstring come from the declared parameters, so the API shows them as declared. Text
        streams (a generator); media return once, so Gradio's progress bar shows their steps."""
        names = list(params)

        def updates(args: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
            *values, model, request, progress = args
            session = session_id(request)
            token = self.runs.start(session, modality)
            try:
                for update in self.studio.stream(
                    modality, params.request_type(**dict(zip(names, values))), progress=progress_fn(progress),
                    cancel=token, context=RunContext("playground", modality, session, model=model or ""),
                ):
                    if isinstance(update, GenerationResult):
                        yield output_value(update), update.seed, run_details(update), [update.record_id]
                    else:
                        yield update, gr.skip(), gr.skip(), gr.skip()
            finally:
                self.runs.finish(session, modality, token)

        def stream(*args: Any) -> Iterator[tuple[Any, ...]]:
            yield from updates(args)

        def generate(*args: Any) -> tuple[Any, ...]:
            *_, last = updates(args)
            return last

        handler = with_request_args(stream if modality == "text" else generate, [*names, "model"], f"generate_{modality}")
        handler.__doc__ = api_docstring(modality, params)
        return user_errors(handler)
