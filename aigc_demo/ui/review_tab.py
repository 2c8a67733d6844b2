"""The Review tab: recent outputs with filters, figures, a chart, export, and re-run exactly.

API: /list_outputs, /submit_review (typed ``gr.api`` endpoints) and /export_reviews.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Callable, Sequence

import gradio as gr
import pandas as pd

from aigc_demo.core.params import check_range
from aigc_demo.core.types import MODALITIES, StudioError, ValidationError
from ..messages import say
from ..record.export import public_record
from ..studio import Studio
from .media_outputs import audio_output, video_output
from .hosting import media_buttons
from .concurrency import LIGHT_GROUP
from .i18n import Translator
from .locale import page_language
from .review_view import chart_update, rerun_js, summary_markdown, table_headers, table_rows
from .runs import reviewer_id

if TYPE_CHECKING:
    from .review_bar import ReviewBars



@dataclass
class RerunTarget:
    """Where a record is re-run: the tab to select and the inputs to fill from the record."""

    tab_path: tuple[tuple[gr.Tabs, str], ...]  # (tabs, id) pairs, outermost first
    components: Sequence[gr.Component]
    values: Callable[[Any], list[Any]]  # OutputRecord -> one value per component


def _blank(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else value


class ReviewTab:
    def __init__(self, studio: Studio, t: Translator, scenario_ids: Sequence[str], bars: ReviewBars | None = None) -> None:
        self.studio = studio
        self.t = t
        self.scenario_ids = list(scenario_ids)
        self.bars = bars  # a review bar under the preview, when given
        self._files: gr.File  # the export's output component (set by render)

    # ------------------------------------------------------------ data (also the API)

    def list_outputs(
        self, scenario: str = "", modality: str = "", model: str = "", min_rating: int = 0,
        since: str = "", until: str = "", limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Recent outputs, newest first, with their latest review; empty filters match all."""
        try:
            for name, value in (("scenario", scenario), ("modality", modality), ("model", model), ("since", since), ("until", until)):
                if value is not None and not isinstance(value, str):
                    raise ValidationError(name, f"must be text (got {type(value).__name__})")
            min_rating = check_range("min_rating", min_rating or 0, 0, 5)
            limit = check_range("limit", 50 if limit is None else limit, 1, 10_000)
            for name, value in (("since", since), ("until", until)):
                if _blank(value):
                    try:
                        date.fromisoformat(value.strip()[:10])
                    except ValueError:
                        raise ValidationError(name, f"must be a date YYYY-MM-DD (got {value!r})") from None
            rows = self.studio.store.list_outputs(
                scenario=_blank(scenario), modality=_blank(modality), model=_blank(model),
                min_rating=min_rating or None, since=_blank(since), until=_blank(until), limit=limit,
            )
            return [public_record(row) for row in rows]  # no server paths
        except (StudioError, ValueError) as error:
            raise gr.Error(f"Filter not understood: {error}", print_exception=False) from error

    def submit_review(self, record_id: str, rating: int, tags: list[str] | None = None, comment: str = "",
                      request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """Rate one output 1-5 (thumbs up = 5, down = 1). The reviewer is the login name (with
        --auth) or this client's guest id; saving again edits the caller's own review only."""
        try:
            reviewer = reviewer_id(request, bool(self.studio.settings.auth))
            return self.studio.store.submit_review(record_id, rating, tags or [], comment, reviewer).to_dict()
        except StudioError as error:
            raise gr.Error(str(error), print_exception=False) from error

    def export_reviews(self) -> list[str]:
        """Every record and review as CSV and JSONL files."""
        # Written to a fresh private folder, copied into Gradio's cache (which serves them to the
        # caller only and deletes them after an hour: ui.app.CACHE_SECONDS), and the folder removed at once.
        folder = tempfile.mkdtemp(prefix="aigc-export-")
        try:
            paths = self.studio.store.export(folder)
            return [str(self._files.move_resource_to_block_cache(path)) for path in paths]
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # ------------------------------------------------------------ rendering

    def render(self, targets: dict[str, RerunTarget]) -> None:
        t = self.t
        with gr.Tab(t("tab.review"), id="review", elem_id="tab-review") as tab:
            with gr.Accordion(t("review.filters"), open=True):
                with gr.Row():
                    scenario = gr.Dropdown([(t("ux.any"), ""), *[(t(f"scn.{i}.tab"), i) for i in self.scenario_ids],
                                            (t("ux.playground"), "playground")], value="", label=t("review.scenario"))
                    modality = gr.Dropdown([(t("ux.any"), ""), *[(t(f"ux.modality.{m}"), m) for m in MODALITIES]],
                                           value="", label=t("ui.modality"))
                    model = gr.Textbox(label=t("review.model"))
                    min_rating = gr.Slider(0, 5, value=0, step=1, label=t("review.min_rating"))
                    since = gr.Textbox(label=t("review.since"), placeholder="2026-01-01")
                    until = gr.Textbox(label=t("review.until"), placeholder="2026-12-31")
                refresh = gr.Button(t("ui.refresh"), variant="primary", elem_id="review-refresh")
            with gr.Row(elem_classes=["stack-on-phone"]):
                summary = gr.Markdown(elem_id="review-summary")
                chart = gr.BarPlot(x="scenario", y="mean_rating", title=None, label=t("review.chart"), y_lim=[0, 5],
                                   height=220, visible=False, elem_id="review-chart")  # shown once there is data
            table = gr.Dataframe(headers=table_headers(self.t, "en"), label=t("review.outputs"), interactive=False, wrap=True,
                                 visible=False,
                                 max_height=420, elem_id="review-table",
                                 column_widths=["150px", "90px", "90px", "70px", "150px", "100px", "60px", "120px", "140px", "300px", "120px"])
            with gr.Row(elem_classes=["stack-on-phone"]):
                with gr.Column(scale=2):
                    preview_text = gr.Textbox(label=t("review.preview"), lines=6, interactive=False)
                    preview_image = gr.Image(label=t("review.preview"), interactive=False, visible=False,
                                             buttons=media_buttons("image"))
                    preview_audio = audio_output(label=t("review.preview"), interactive=False, visible=False,
                                                 buttons=media_buttons("audio"))
                    preview_video = video_output(label=t("review.preview"), interactive=False, visible=False,
                                                 buttons=media_buttons("video"))
                    preview_ids = gr.State([])  # the selected record, for the review bar below
                    if self.bars is not None:
                        gr.Markdown(t("ux.review.rate_here"), elem_classes=["scenario-title"])
                        self.bars.render(preview_ids)
                with gr.Column(scale=1):
                    selected = gr.Textbox(label=t("review.record"), interactive=False, elem_id="review-selected")
                    rerun = gr.Button(t("review.rerun"), elem_id="review-rerun")
                    export = gr.Button(t("review.export"), elem_id="review-export")
                    files = gr.File(label=t("review.export_files"), file_count="multiple", elem_id="review-export-files")
                    self._files = files

        filters = [scenario, modality, model, min_rating, since, until]
        light = {"concurrency_id": LIGHT_GROUP, "concurrency_limit": 4}  # never behind generation
        for trigger in (refresh.click, tab.select):
            trigger(self._view, filters, [table, summary, chart], api_visibility="private", **light)
        table.select(self._preview, None, [selected, preview_text, preview_image, preview_audio, preview_video],
                     api_visibility="private", **light).then(
            lambda record_id: [record_id] if record_id else [], selected, preview_ids, queue=False, api_visibility="private")
        export.click(self.export_reviews, None, files, api_name="export_reviews", **light)
        self._wire_rerun(rerun, selected, targets)

    def register_api(self) -> None:
        """Typed API-only endpoints (call outside any layout block)."""
        gr.api(self.list_outputs, api_name="list_outputs", concurrency_id=LIGHT_GROUP, concurrency_limit=4)
        gr.api(self.submit_review, api_name="submit_review", concurrency_id=LIGHT_GROUP, concurrency_limit=4)

    def _view(self, scenario: str, modality: str, model: str, min_rating: int, since: str, until: str,
              request: gr.Request) -> tuple[Any, str, Any]:
        """The table, summary and chart in the page's language, with plain labels for ids."""
        language = page_language(request)
        rows = self.list_outputs(scenario, modality, model, min_rating, since, until, limit=200)
        table = pd.DataFrame(table_rows(self.t, rows, language), columns=table_headers(self.t, language))
        figures = self.studio.store.summary()
        return (gr.update(value=table, visible=not table.empty), summary_markdown(self.t, figures, language),
                chart_update(self.t, figures, language))

    def _preview(self, event: gr.SelectData) -> tuple[Any, ...]:
        record_id = event.row_value[-1] if event.row_value else ""
        record = self.studio.store.get_record(record_id)
        if record is None:
            return "", "", gr.update(visible=False), gr.update(visible=False), gr.update(visible=False)
        path = record.file_paths[0] if record.file_paths else None
        show = {m: gr.update(value=path, visible=True) if record.modality == m and path else gr.update(visible=False)
                for m in ("image", "audio", "video")}
        text = record.output_text if record.modality == "text" else record.prompt
        return record_id, text or "", show["image"], show["audio"], show["video"]

    def _wire_rerun(self, button: gr.Button, selected: gr.Textbox, targets: dict[str, RerunTarget]) -> None:
        keys = list(targets)
        tabs: list[gr.Tabs] = []
        for target in targets.values():
            tabs += [t for t, _ in target.tab_path if all(t is not seen for seen in tabs)]
        components = [c for key in keys for c in targets[key].components]

        def rerun(record_id: str, request: gr.Request) -> list[Any]:
            record = self.studio.store.get_record(record_id) if record_id else None
            language = page_language(request)
            title = say("ux.rerun.title", language)
            if record is None:
                raise gr.Error(say("ux.rerun.pick", language), title=title, print_exception=False)
            key = record.scenario if record.scenario != "playground" else f"playground-{record.modality}"
            if key not in targets:
                raise gr.Error(say("ux.rerun.no_tab", language), title=title, print_exception=False)
            gr.Info(say("ux.rerun.started", language), title=title)
            selection = {id(tab): gr.Tabs(selected=tab_id) for tab, tab_id in targets[key].tab_path}
            values: list[Any] = [selection.get(id(tab), gr.skip()) for tab in tabs]
            for k in keys:
                values += targets[k].values(record) if k == key else [gr.skip()] * len(targets[k].components)
            return values

        # Filled in, then run: the Run button of the tab now shown is clicked (it says so in a toast).
        button.click(rerun, selected, tabs + components, api_visibility="private", concurrency_id=LIGHT_GROUP,
                     concurrency_limit=4).success(None, js=rerun_js())

