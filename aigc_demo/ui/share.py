"""A result to share and keep: a permalink per run (``?run=<id>``), "Download run" (a zip of the
run: ``record.bundle``), the ``/download_run`` endpoint, and the page's opening values (a recorded
run read-only, or the Chinese worked example on a Chinese browser).

Who may open a link is who may open the app: the page and its events sit behind the same login
(``--auth``). The opening handler reads the query and ``Accept-Language`` from Gradio's request.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import gradio as gr

from aigc_demo.core.text import lang
from aigc_demo.core.types import StudioError, ValidationError
from ..record.bundle import check_run_id, write_bundle
from ..record.models import OutputRecord
from ..scenarios import Scenario
from ..scenarios.replay import example_values, recorded_state, run_text
from ..scenarios.runner import ScenarioState
from ..studio import Studio
from .i18n import ui_strings
from .concurrency import LIGHT_GROUP
from .review_tab import RerunTarget

class RunLinkError(StudioError):
    """A run link that opens nothing: a malformed or unknown id (the message is bilingual)."""


LIGHT = {"concurrency_id": LIGHT_GROUP, "concurrency_limit": 4}  # never behind generation


def say(key: str, language: str, **values: Any) -> str:
    """A ``share.*`` text of the catalogue in ``language``, with ``{names}`` filled."""
    return ui_strings()[f"share.{key}"][lang(language)].format(**values)


def both(key: str, **values: Any) -> str:
    """A message in English, then Chinese (an error must be clear whatever the page's language)."""
    return f"{say(key, 'en', **values)}\n\n{say(key, 'zh', **values)}"


def page_language(request: gr.Request | None) -> str:
    """The browser's first language (``Accept-Language``, by weight): "zh" or "en"."""
    header = (getattr(request, "headers", None) or {}).get("accept-language", "") if request else ""
    best, weight = "", -1.0
    for part in str(header).split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            w = float(q) if q else 1.0
        except ValueError:
            w = 0.0
        if tag and w > weight:
            best, weight = tag, w
    return lang(best)


def shown_id(run_id: Any) -> str:
    """A run id as sent, safe to show inside Markdown (no link or markup can come through)."""
    return re.sub(r"[^0-9A-Za-z_.-]", "?", str(run_id)[:48])


def plain(text: Any) -> str:
    """Text shown as itself inside Markdown: a comment or a model's output cannot add links,
    images or markup to the page."""
    return re.sub(r"([\\`*_\[\]()<>#!|~{}])", r"\\\1", str(text))


def permalink(run_id: str, language: str) -> str:
    """The run's link, relative to the page (``?run=<id>``): works behind any host or path."""
    return f"🔗 {say('permalink', language)}: [`?run={run_id}`](?run={run_id})"


@dataclass
class RunView:
    """A scenario tab as a recorded run fills it."""

    scenario: Scenario
    outputs: list[gr.Component]  # what the run handler fills: outputs, status, record ids, panels
    snapshot: Callable[[ScenarioState, dict[str, Any]], tuple[Any, ...]]  # state -> values of ``outputs``
    link: gr.Markdown
    run_id: gr.State
    run_button: gr.Button


def _revealed(view: RunView, snapshot: tuple[Any, ...]) -> list[Any]:
    """A finished run's snapshot with its panels shown (they are hidden until they have data)."""
    values = list(snapshot)
    count = sum(len(panels.specs) for _, panels in view.scenario.panels())
    for i in range(len(values) - count, len(values)):
        if not (isinstance(values[i], dict) and values[i].get("__type__") == "update"):  # skipped: no data
            values[i] = gr.update(value=values[i], visible=True)
    return values


class RunShare:
    def __init__(self, studio: Studio, scenarios: Sequence[Scenario]) -> None:
        self.studio = studio
        self.scenarios = {s.id: s for s in scenarios}
        self.views: list[RunView] = []
        self.banner: gr.Markdown | None = None

    # ------------------------------------------------------------ data (also the API)

    def run_records(self, run_id: Any) -> list[OutputRecord]:
        """The records of a run; a RunLinkError says, in both languages, why there are none."""
        try:
            checked = check_run_id(run_id)
        except ValidationError:
            raise RunLinkError(both("malformed", id=shown_id(run_id))) from None
        records = self.studio.store.run_records(checked)
        if not records:
            raise RunLinkError(both("unknown", id=checked))
        return records

    def bundle(self, run_id: Any) -> Path:
        """Write (again) the run's zip under outputs/bundles/ and return its path."""
        records = self.run_records(run_id)
        reviews = {r.id: self.studio.store.get_reviews(r.id) for r in records}
        text = run_text(self.scenarios.get(records[0].scenario), records)
        return write_bundle(records, reviews, self.studio.outputs_dir, text)

    def download_run(self, run_id: str) -> str:
        """A zip of one run: every output file, its provenance sidecar, run.json and index.html
        (a summary page that opens offline)."""
        try:
            return str(self.bundle(run_id))
        except StudioError as error:
            raise gr.Error(str(error), title="Run", print_exception=False) from error

    # ------------------------------------------------------------ rendering

    def render_banner(self) -> None:
        """The line that marks a recorded run (or explains a bad link); empty otherwise."""
        self.banner = gr.Markdown(elem_id="recorded-run", elem_classes=["recorded-run"])

    def render_row(self, t: Any) -> tuple[gr.Markdown, gr.State]:
        """Under a tab's outputs: the run's permalink and "Download run" (a zip of the run)."""
        with gr.Row(elem_classes=["share-row"]):
            link = gr.Markdown(elem_classes=["permalink"])
            download = gr.Button(t("share.download"), size="sm", scale=0, min_width=160,
                                 elem_classes=["download-run"])
        bundle = gr.File(label=t("share.bundle"), interactive=False, visible=False, elem_classes=["run-zip"])
        run_id = gr.State("")
        download.click(self._download_for_page, run_id, bundle, api_visibility="private", **LIGHT)
        return link, run_id

    def after_run(self, event: Any, record_ids: Sequence[gr.State], link: gr.Markdown, run_id: gr.State) -> None:
        """Once a run ends (done, stopped or failed), show its permalink."""

        def show_link(*args: Any) -> tuple[Any, Any]:
            *id_lists, request = args
            record_id = next((ids[0] for ids in id_lists if ids), None)
            record = self.studio.store.get_record(record_id) if record_id else None
            if record is None:
                return gr.skip(), gr.skip()
            return permalink(record.run_id, page_language(request)), record.run_id

        Param = inspect.Parameter  # Gradio passes the request to a parameter annotated gr.Request
        show_link.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [Param(f"ids{i}", Param.POSITIONAL_OR_KEYWORD) for i in range(len(record_ids))]
            + [Param("request", Param.POSITIONAL_OR_KEYWORD, annotation=gr.Request)])
        show_link.__annotations__ = {"request": gr.Request}
        event.then(show_link, list(record_ids), [link, run_id], api_visibility="private", **LIGHT)

    def register(self, view: RunView) -> None:
        self.views.append(view)

    def register_api(self) -> None:
        """``/download_run``: run id -> the run's zip (a hidden trigger: the API returns a file)."""
        with gr.Column(visible=False):
            run_id = gr.Textbox(label="run_id")
            zip_file = gr.File(label="run zip")
            trigger = gr.Button()

        def download_run(run_id: str) -> str:
            return self.download_run(run_id)

        trigger.click(download_run, run_id, zip_file, api_name="download_run", **LIGHT)

    def wire_open(self, demo: gr.Blocks, targets: dict[str, RerunTarget]) -> None:
        """On page load: open ``?run=<id>`` read-only, and prefill the forms in the browser's language."""
        tabs: list[gr.Tabs] = []
        for target in targets.values():
            tabs += [t for t, _ in target.tab_path if all(t is not seen for seen in tabs)]
        forms = {key: target for key, target in targets.items() if key in self.scenarios}
        outputs: list[gr.Component] = [self.banner, *tabs, *[c for t in forms.values() for c in t.components]]
        for view in self.views:
            outputs += [*view.outputs, view.link, view.run_id, view.run_button]

        def open_page(request: gr.Request) -> list[Any]:
            language = page_language(request)
            run = (request.query_params.get("run") if request is not None else None)
            records: list[OutputRecord] = []
            banner: Any = gr.skip()
            if run is not None:
                try:
                    records = self.run_records(run)
                except RunLinkError as error:
                    banner = f"⚠️ {error}"
            scenario_id = records[0].scenario if records else ""
            values: list[Any] = [banner if not records else self._banner(records, language)]
            values += [self._tab_choice(tab, targets, scenario_id, records) for tab in tabs]
            for key, target in forms.items():
                if key == scenario_id:
                    values += target.values(records[0])
                else:
                    values += self._defaults(key, target, language)
            for view in self.views:
                if view.scenario.id == scenario_id:
                    state = recorded_state(view.scenario, records)
                    state.ui = language
                    values += [*_revealed(view, view.snapshot(state, {})), permalink(state.run_id, language),
                               state.run_id, gr.Button(interactive=False)]
                else:
                    values += [gr.skip()] * (len(view.outputs) + 3)
            return values

        demo.load(open_page, None, outputs, api_visibility="private", **LIGHT)

    # ------------------------------------------------------------ handlers

    def _download_for_page(self, run_id: str) -> Any:
        if not run_id:
            gr.Warning(both("nothing_yet"), title="Run")
            return gr.skip()
        try:
            path = self.bundle(run_id)
        except StudioError as error:
            raise gr.Error(str(error), title="Run", print_exception=False) from error
        return gr.File(value=str(path), visible=True)

    def _banner(self, records: list[OutputRecord], language: str) -> str:
        """Marks the page as a recorded run: what, when, the reviews, and how to start anew."""
        first = records[0]
        scenario = self.scenarios.get(first.scenario)
        title = scenario.title[language] if scenario else f"Playground · {first.modality}"
        tasks = {t.name: t.title[language] for t in scenario.tasks} if scenario else {}
        lines = [f"### 📌 {say('recorded', language)}: {title}",
                 f"{say('recorded_at', language)} {first.created_at[:19].replace('T', ' ')} UTC · "
                 f"`{first.run_id}` · {say('read_only', language)} [{say('new_run', language)}](?)"]
        reviews = []
        for record in records:
            for review in self.studio.store.get_reviews(record.id):
                comment = f" · “{plain(review.comment)}”" if review.comment else ""
                tags = f" · {plain(', '.join(review.tags))}" if review.tags else ""
                reviews.append(f"- {tasks.get(record.task, record.task)}: {'★' * review.rating}{'☆' * (5 - review.rating)}"
                               f" ({plain(review.reviewer)}){tags}{comment}")
        lines.append(f"**{say('reviews', language)}:** " + ("" if reviews else say("unreviewed", language)))
        lines += reviews
        if scenario is None or not any(v.scenario.id == scenario.id for v in self.views):
            for record in records:  # a tab that cannot show a recorded run: its outputs here
                if record.output_text:
                    lines.append(f"\n**{tasks.get(record.task, record.task or record.modality)}**\n\n" +
                                 "\n".join(f"> {plain(line)}" for line in record.output_text.splitlines()))
            lines.append(say("media_in_zip", language))
        return "\n\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:])

    def _defaults(self, key: str, target: RerunTarget, language: str) -> list[Any]:
        """A tab's form in ``language``: its worked example in Chinese on a Chinese browser."""
        example = example_values(self.scenarios[key], language) if language == "zh" else None
        if example is None:
            return [gr.skip()] * len(target.components)
        return target.values(OutputRecord(modality="text", inputs=example))

    @staticmethod
    def _tab_choice(tab: gr.Tabs, targets: dict[str, RerunTarget], scenario_id: str,
                    records: list[OutputRecord]) -> Any:
        if not records:
            return gr.skip()
        key = scenario_id if scenario_id in targets else f"playground-{records[0].modality}"
        chosen = dict((id(t), tab_id) for t, tab_id in targets[key].tab_path) if key in targets else {}
        return gr.Tabs(selected=chosen[id(tab)]) if id(tab) in chosen else gr.skip()
