"""One industry tab, drawn from a Scenario: its form, its outputs, its API endpoint."""

from __future__ import annotations

import textwrap
from typing import Any, Iterator

import gradio as gr

from aigc_demo.core.types import MAX_SEED, ValidationError
from .. import grounding
from ..scenarios import Field, Scenario
from ..messages import say
from ..scenarios.runner import ScenarioState, run_scenario
from ..studio import Studio
from .media_outputs import audio_output, video_output
from .hosting import gpu_function, media_buttons
from .i18n import Translator, panel_key, scenario_key, tag_choices
from .locale import field_error, from_browser, local_progress, page_language
from .model_line import models_markdown, scenario_outputs
from .ticker import every
from .panels import panel_component
from .concurrency import generation_group
from .review_bar import ReviewBars
from .review_tab import RerunTarget
from .errors import user_errors
from .mcp_tools import scenario_docstring
from .runs import SessionRuns, session_id, with_request_args
from .share import RunShare, RunView

LANGUAGE_CODES = ("en", "zh")


class ScenarioTab:
    def __init__(self, studio: Studio, t: Translator, runs: SessionRuns, bars: ReviewBars, scenario: Scenario,
                 share: RunShare | None = None) -> None:
        self.share = share
        self.studio = studio
        self.t = t
        self.runs = runs
        self.bars = bars
        self.scenario = scenario

    # ------------------------------------------------------------ rendering

    def render(self, outer: gr.Tabs) -> dict[str, RerunTarget]:
        """Draw the tab; returns where its records can be re-run (this tab's form)."""
        s = self.scenario
        with self._tab():
            with gr.Row():
                with gr.Column(scale=2):
                    inputs = [self._render_field(f) for f in s.fields]
                    with gr.Accordion(self.t("ux.more_options"), open=False, elem_classes=["more-options"]):
                        seed = gr.Number(value=-1, label=self.t("ui.seed"), precision=0, minimum=-1, maximum=MAX_SEED)
                    with gr.Row(elem_classes=["action-bar"]):  # sticky: Run stays in view (style.css)
                        run = gr.Button(self.t("ui.run_scenario"), variant="primary", elem_classes=["run-button"])
                        stop = gr.Button(self.t("ui.stop"), variant="stop", elem_classes=["stop-button"])
                    # wired by the Compare tab (ui.arena_tab): takes this form there
                    self.compare_button = gr.Button(self.t("arena.compare_form"), size="sm", elem_classes=["compare-form"])
                    self.form_inputs = inputs
                    if s.examples:
                        rows = s.example_rows()
                        gr.Examples(rows, inputs=inputs, label=self.t("ui.examples"),
                                    example_labels=[str(row[0])[:60] for row in rows])
                with gr.Column(scale=3):
                    if s.disclaimer:
                        gr.Markdown(self.t(scenario_key(s, "disclaimer")), elem_classes=["disclaimer"])
                    status = gr.Markdown(elem_classes=["run-status"], elem_id=f"{s.id}-status")
                    tags = tag_choices(self.t, s)
                    outputs, record_ids = [], []
                    for task in s.tasks:
                        outputs.append(self._render_output(task))
                        record_ids.append(gr.State([]))
                        self.bars.render(record_ids[-1], tags)
                    panels = self._render_panels()
                    if self.share is not None:
                        link, run_id = self.share.render_row(self.t)
        filled = outputs + [status] + record_ids + panels
        event = self._wire(run, stop, inputs + [seed], filled)
        if self.share is not None:  # a permalink after every run; ?run=<id> fills this tab read-only
            self.share.after_run(event, record_ids, link, run_id)
            self.share.register(RunView(s, filled, self._snapshot, link, run_id, run))
        return self._rerun_target(outer, inputs + [seed])

    def _tab(self) -> gr.Tab:
        """The scenario's tab, opened with its title and description."""
        s = self.scenario
        tab = gr.Tab(self.t(scenario_key(s, "tab")), id=s.id, elem_id=f"tab-{s.id}")
        with tab:
            gr.Markdown(self.t(scenario_key(s, "title")), elem_classes=["scenario-title"])
            gr.Markdown(self.t(scenario_key(s, "description")))
            self.t.per_page(gr.Markdown(elem_classes=["model-line"], elem_id=f"{s.id}-models"), self._models_line)
        return tab

    def _models_line(self, language: str) -> str:
        """Which model makes each output here, its licence, and plainly when one is a smoke test."""
        return models_markdown(self.studio.settings, scenario_outputs(self.scenario, language), language)

    def _rerun_target(self, outer: gr.Tabs, components: list[gr.Component]) -> dict[str, RerunTarget]:
        """Re-running a record selects this tab and refills ``components`` (one per field, then
        the seed) with the form values the record was made from."""
        names = [f.name for f in self.scenario.fields] + ["seed"]
        return {self.scenario.id: RerunTarget(((outer, self.scenario.id),), components,
                                              lambda record: [record.inputs.get(n, gr.skip()) for n in names])}

    def _render_panels(self) -> list[gr.Component]:
        """The panels of the scenario's pre-steps and parsers, computed by code."""
        return [panel_component(spec, f"{self.scenario.id}-{source}-{i}", self.t(panel_key(self.scenario, source, i)))
                for source, panels in self.scenario.panels()
                for i, spec in enumerate(panels.specs)]

    def _render_field(self, field: Field) -> gr.Component:
        label = self.t(scenario_key(self.scenario, "field", field.name))
        info = self.t(scenario_key(self.scenario, "info", field.name)) if field.info else None
        if field.kind == "language":
            return gr.Radio([(self.t(f"ux.language.{code}"), code) for code in LANGUAGE_CODES], value=field.default,
                            label=label, info=info)
        if field.kind == "choice":
            return gr.Dropdown([(self.t(scenario_key(self.scenario, "choice", field.name, str(c.value))), c.value)
                                for c in field.choices], value=field.default, label=label, info=info)
        if field.kind == "table":
            headers = field.headers("en")  # retitled in the page's language when the page loads
            table = gr.Dataframe(value={"headers": headers, "data": field.default}, headers=headers, label=label,
                                 interactive=True, wrap=True, column_count=(len(headers), "fixed"))
            return self.t.per_page(table, lambda language: gr.update(
                value={"headers": field.headers(language), "data": field.default}, headers=field.headers(language)))
        if field.kind == "file":
            return gr.File(value=field.default or None, label=label, type="filepath",
                           file_types=[f".{ext}" for ext in field.extensions] or None)
        if field.kind == "number":
            return gr.Number(value=field.default, label=label, info=info, minimum=field.minimum, maximum=field.maximum,
                             precision=0 if field.integer else None)
        return gr.Textbox(value=field.default, label=label, info=info, lines=4 if field.kind == "textarea" else 1)

    def _render_output(self, task: Any) -> gr.Component:
        label = self.t(scenario_key(self.scenario, "task", task.name))
        elem_id = f"{self.scenario.id}-{task.name}"
        if task.generator == "text":
            return gr.Textbox(label=label, lines=10, buttons=["copy"], elem_id=elem_id)
        if task.generator == "image":
            return gr.Gallery(label=label, columns=3, height=280, elem_id=elem_id, buttons=media_buttons("gallery"))
        if task.generator == "audio":
            return audio_output(label=label, type="filepath", elem_id=elem_id, buttons=media_buttons("audio"))
        return video_output(label=label, elem_id=elem_id, buttons=media_buttons("video"))

    # ------------------------------------------------------------ events

    def _wire(self, run: gr.Button, stop: gr.Button, inputs: list[gr.Component], outputs: list[gr.Component]) -> Any:
        s = self.scenario
        handler = gpu_function(self._handler(), base=60, per_unit=0, unit_keys=())
        # progress shows on the status line, so streaming text stays readable
        event = run.click(handler, inputs, outputs, api_name=s.api_name,
                          **generation_group(self.studio, [t.generator for t in s.tasks]),
                          show_progress_on=outputs[len(s.tasks)],
                          preprocess=False)  # values reach validate_values as sent: its errors name the field
        stop.click(self.runs.stop_handler(s.id), None, None, queue=False, api_visibility="private")
        return event

    def _handler(self) -> Any:
        """A function whose parameters are the scenario's field names (the API's parameter names)."""
        names = [f.name for f in self.scenario.fields]

        @user_errors
        def run(*args: Any) -> Iterator[tuple[Any, ...]]:
            *values, seed, request, progress = args
            yield from self._stream(dict(zip(names, values)), seed, request, progress)

        run.__doc__ = scenario_docstring(self.scenario)  # the API page's and the MCP tool's description
        return with_request_args(run, names + ["seed"], self.scenario.api_name)

    def _stream(self, values: dict[str, Any], seed: Any, request: gr.Request, progress: gr.Progress) -> Iterator[tuple[Any, ...]]:
        """Run the scenario for this browser session (so Stop reaches it); yield output snapshots."""
        session = session_id(request)
        ui = page_language(request)
        fields = {f.name for f in self.scenario.fields} if from_browser(request) else set()  # API: names as sent
        try:
            self.scenario.validate_values(values)  # before anything on the page changes
        except ValidationError as error:
            if error.field in fields:  # a person reads the field's label
                raise field_error(self.scenario, error, ui) from error
            raise
        token = self.runs.start(session, self.scenario.id)
        sent: dict[str, Any] = {t.name: object() for t in self.scenario.tasks}  # the first snapshot clears
        states = run_scenario(self.studio, self.scenario, values, progress=local_progress(progress, ui),
                              cancel=token, session_id=session, seed=-1 if seed is None else seed, ui_language=ui,
                              checker=grounding.checker)
        try:
            for state in every(states, 1.0, on_close=token.cancel):  # the clock ticks while a model works
                if state.done:  # panels with data shown once more: the last values below are plain
                    yield self._snapshot(state, sent, last=False)
                yield self._snapshot(state, sent)
        except ValidationError as error:
            if error.field in fields:  # a person reads the field's label
                raise field_error(self.scenario, error, ui) from error
            raise
        finally:
            self.runs.finish(session, self.scenario.id, token)

    @staticmethod
    def _gallery(state: ScenarioState, task: str) -> list[tuple[str, str]]:
        """Gallery items with a caption from their prompt (Gradio uses it as the image's alt text)."""
        return [(str(path), say("ux.image.alt", state.ui, prompt=textwrap.shorten(str(r.params.get("prompt", "")), 100)))
                for r in state.results.get(task, []) for path in r.files]

    def _snapshot(self, state: ScenarioState, sent: dict[str, Any], last: bool | None = None) -> tuple[Any, ...]:
        """Output values in component order. Until the last snapshot, media and panels that did
        not change are skipped; the last one carries everything, plain (it is the API's result).
        ``last=False`` on a finished run: the update just before the last, which shows every panel
        that has data once more (the ticker re-sends a state the run may still be changing, so a
        panel's first showing can be lost)."""
        last = state.done if last is None else last
        values: list[Any] = []
        for task in self.scenario.tasks:
            if task.generator == "text":
                values.append(state.text.get(task.name, ""))
                continue
            files = state.files.get(task.name, [])
            value = self._gallery(state, task.name) if task.generator == "image" else (files[0] if files else None)
            values.append(gr.skip() if sent.get(task.name) == value and not last else value)
            sent[task.name] = value
        values.append("\n\n".join(state.lines))
        values += [state.record_ids(task.name) for task in self.scenario.tasks]
        for source, panels in self.scenario.panels():
            data = state.computed[source].data if source in state.computed else state.parsed.get(source)
            if data is None or (sent.get(f"panel:{source}") and not state.done):
                values += [gr.skip()] * len(panels.specs)
            else:
                sent[f"panel:{source}"] = True  # shown once it has data, in the page's language;
                shown = panels.values(data, state.ui)  # the last snapshot (the API's result) holds plain values
                values += shown if last else [gr.update(value=v, visible=True) for v in shown]
        return tuple(values)
