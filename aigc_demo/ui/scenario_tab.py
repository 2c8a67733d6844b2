"""One industry tab, drawn from a Scenario: its form, its outputs, its API endpoint."""

from __future__ import annotations

from typing import Any, Iterator

import gradio as gr

from aigc_demo.core.types import MAX_SEED
from ..scenarios import Field, Scenario
from ..scenarios.runner import ScenarioState, run_scenario
from ..security import redact
from ..settings import real_model_hint
from ..studio import Studio
from .hosting import gpu_function, media_buttons
from .i18n import Translator, scenario_key
from .panels import panel_component
from .concurrency import generation_group
from .review_bar import ReviewBars
from .review_tab import RerunTarget
from .errors import user_errors
from .mcp_tools import scenario_docstring
from .runs import SessionRuns, progress_fn, session_id, with_request_args
from .share import RunShare, RunView

LANGUAGE_CHOICES = [("English", "en"), ("中文", "zh")]


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
                    seed = gr.Number(value=-1, label=self.t("ui.seed"), precision=0, minimum=-1, maximum=MAX_SEED)
                    with gr.Row():
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
                    status = gr.Markdown(elem_classes=["run-status"])
                    tags = [(f"{tag.label['en']} · {tag.label['zh']}", tag.value) for tag in s.review_tags] or None
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
            gr.Markdown(self._models_line(), elem_classes=["model-line"])
        return tab

    def _models_line(self) -> str:
        """Which model makes each kind of output here, and plainly when one is a smoke test."""
        settings = self.studio.settings
        modalities = list(dict.fromkeys(task.generator for task in self.scenario.tasks))
        made = " · ".join(f"{m}: `{redact(settings.model_for(m) or 'unavailable')}`" for m in modalities)
        smoke = [f"⚠️ {m}: {real_model_hint(m)}" for m in modalities if settings.smoke_test(m)]
        return "\n\n".join([f"**Models:** {made}", *smoke])

    def _rerun_target(self, outer: gr.Tabs, components: list[gr.Component]) -> dict[str, RerunTarget]:
        """Re-running a record selects this tab and refills ``components`` (one per field, then
        the seed) with the form values the record was made from."""
        names = [f.name for f in self.scenario.fields] + ["seed"]
        return {self.scenario.id: RerunTarget(((outer, self.scenario.id),), components,
                                              lambda record: [record.inputs.get(n, gr.skip()) for n in names])}

    def _render_panels(self) -> list[gr.Component]:
        """The panels of the scenario's pre-steps and parsers, computed by code."""
        return [panel_component(spec, f"{self.scenario.id}-{source}-{i}")
                for source, panels in self.scenario.panels()
                for i, spec in enumerate(panels.specs)]

    def _render_field(self, field: Field) -> gr.Component:
        label = self.t(scenario_key(self.scenario, "field", field.name))
        info = self.t(scenario_key(self.scenario, "info", field.name)) if field.info else None
        if field.kind == "language":
            return gr.Radio(LANGUAGE_CHOICES, value=field.default, label=label, info=info)
        if field.kind == "choice":
            return gr.Dropdown(field.choice_pairs(), value=field.default, label=label, info=info)
        if field.kind == "table":
            headers = [f"{c.label['en']} · {c.label['zh']}" for c in field.columns]
            return gr.Dataframe(value={"headers": headers, "data": field.default}, headers=headers, label=label,
                                interactive=True, wrap=True, column_count=(len(headers), "fixed"))
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
            return gr.Audio(label=label, type="filepath", elem_id=elem_id, buttons=media_buttons("audio"))
        return gr.Video(label=label, elem_id=elem_id, buttons=media_buttons("video"))

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
        token = self.runs.start(session, self.scenario.id)
        sent: dict[str, Any] = {}
        try:
            for state in run_scenario(
                self.studio, self.scenario, values, progress=progress_fn(progress),
                cancel=token, session_id=session, seed=-1 if seed is None else seed,
            ):
                yield self._snapshot(state, sent)
        finally:
            self.runs.finish(session, self.scenario.id, token)

    def _snapshot(self, state: ScenarioState, sent: dict[str, Any]) -> tuple[Any, ...]:
        """Output values in component order. Until the last snapshot, media and panels that did
        not change are skipped; the last one carries everything (it is the API's result)."""
        values: list[Any] = []
        for task in self.scenario.tasks:
            if task.generator == "text":
                values.append(state.text.get(task.name, ""))
                continue
            files = state.files.get(task.name, [])
            value = list(files) if task.generator == "image" else (files[0] if files else None)
            values.append(gr.skip() if sent.get(task.name) == value and not state.done else value)
            sent[task.name] = value
        values.append("\n\n".join(state.lines))
        values += [state.record_ids(task.name) for task in self.scenario.tasks]
        for source, panels in self.scenario.panels():
            data = state.computed[source].data if source in state.computed else state.parsed.get(source)
            if data is None or (sent.get(f"panel:{source}") and not state.done):
                values += [gr.skip()] * len(panels.specs)
            else:
                sent[f"panel:{source}"] = True
                values += panels.values(data, state.language)
        return tuple(values)
