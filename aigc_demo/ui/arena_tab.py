"""The Compare tab: blind A/B comparisons, reviewer queues, the leaderboard and agreement.

API: /start_comparison, /vote_comparison, /leaderboard, /review_queue (typed ``gr.api``
endpoints) and /export_preferences (files). Keyboard (``assets/arena_keys.js``): A / B / T / X
vote, 1-5 rate the queued output, N the next comparison.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from typing import Any, Mapping, Sequence

import gradio as gr
import pandas as pd
from gradio.utils import get_upload_folder

from aigc_demo.core.text import lang
from aigc_demo.core.types import StudioError, ValidationError
from ..arena import leaderboard
from ..arena.agreement import agreement, describe
from ..arena.compare import DEFAULT_INDUSTRY, run_comparison
from ..arena.preferences import write_preferences
from ..record import arena
from ..record.models import MAX_COMMENT_CHARS, PLAYGROUND
from ..scenarios import Scenario
from ..studio import Studio
from .i18n import Translator, tag_choices, ui_strings
from .concurrency import LIGHT_GROUP, generation_group
from .runs import SessionRuns, reviewer_id, session_id

LIGHT = {"concurrency_id": LIGHT_GROUP, "concurrency_limit": 4}
BOARD_COLUMNS = ["variant", "votes", "wins", "losses", "ties", "both_bad", "win_rate", "win_rate_95ci",
                 "bt_score", "bt_95ci"]
VOTE_BUTTONS = (("A", "arena.vote_a", "arena-vote-a"), ("B", "arena.vote_b", "arena-vote-b"),
                ("tie", "arena.vote_tie", "arena-vote-tie"), ("both bad", "arena.vote_bad", "arena-vote-bad"))
RATINGS = (1, 2, 3, 4, 5)
PLAYGROUND_NAME = {"en": "the text playground", "zh": "文本试验场"}


def _language(request: gr.Request | None) -> str:
    """The browser's language (Accept-Language), for text made at run time."""
    headers = getattr(request, "headers", None) or {}
    return lang(str(headers.get("accept-language", "")).split(",")[0])


def _error(error: Exception) -> gr.Error:
    return gr.Error(str(error), title="Compare", print_exception=False)


class ArenaTab:
    def __init__(self, studio: Studio, t: Translator, runs: SessionRuns, scenarios: Sequence[Scenario]) -> None:
        self.studio = studio
        self.t = t
        self.runs = runs
        self.scenarios = {s.id: s for s in scenarios}
        self.names: dict[str, Mapping[str, str]] = {s.id: s.tab.as_dict() for s in scenarios}
        self.names[PLAYGROUND] = PLAYGROUND_NAME
        self._files: gr.File

    # ------------------------------------------------------------ data (also the API)

    def start_comparison(self, industry: str = DEFAULT_INDUSTRY, form: dict | None = None,
                         variant_a: dict | None = None, variant_b: dict | None = None,
                         request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """Run the same form with two variants and return the outputs as "A" and "B" in random
        order, without saying which variant made which. ``industry``: an industry id or
        "playground"; ``form``: field values (missing ones: the worked example); a variant sets
        any of label, seed, params, prompt, system_prompt (default: seeds 1 and 2)."""
        session = session_id(request)
        token = self.runs.start(session, "arena")
        try:
            comparison, sides = run_comparison(self.studio, self.scenarios, industry, form, variant_a, variant_b,
                                               session_id=session, cancel=token, upload_roots=[get_upload_folder()])
        except StudioError as error:
            raise _error(error) from error
        finally:
            self.runs.finish(session, "arena", token)
        return {
            "comparison_id": comparison.id, "industry": comparison.scenario, "task": comparison.task,
            **{label: {"text": side.text, "record_id": side.record_id} for label, side in sides.items()},
        }

    def vote_comparison(self, comparison_id: str, choice: str, tags: list[str] | None = None, comment: str = "",
                        request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """Vote "A", "B", "tie" or "both bad" on a comparison, with optional tags and comment; the
        reviewer is the login name (with --auth) or this client's guest id; voting again edits
        the vote. The answer reveals which variant was A and which was B."""
        try:
            reviewer = reviewer_id(request, bool(self.studio.settings.auth))
            comparison = arena.get_comparison(self.studio.store, comparison_id)
            if comparison is None:
                raise ValidationError("comparison_id", f"no comparison with id {comparison_id!r}")
            vote = arena.vote(self.studio.store, comparison.id, choice, reviewer, tags or [], comment or "")
        except StudioError as error:
            raise _error(error) from error
        shown = (comparison.variant_a, comparison.variant_b)
        first, second = shown if comparison.shown == "ab" else shown[::-1]
        return {**vote.to_dict(), "revealed": {"A": leaderboard.variant_name(first), "B": leaderboard.variant_name(second)}}

    def leaderboard(self, industry: str = "") -> dict[str, Any]:
        """Win rates with 95 % Wilson intervals, Bradley-Terry scores with bootstrap intervals and
        a verdict per pair, overall and per industry (``industry`` narrows it to one), plus the
        agreement between reviewers (Krippendorff's alpha with the number of shared items)."""
        try:
            scenario = self._industry(industry)
            board = leaderboard.build(arena.voted_comparisons(self.studio.store, scenario), self.names)
            board["agreement"] = agreement(self.studio.store, scenario)
        except StudioError as error:
            raise _error(error) from error
        return board

    def review_queue(self, kind: str = "comparison", industry: str = "",
                     request: gr.Request = None) -> dict[str, Any]:  # type: ignore[assignment]
        """The caller's next item: "comparison" (one they have not voted on: its outputs as A/B)
        or "output" (one they have not rated); ``industry`` narrows the queue. Empty when done."""
        try:
            scenario = self._industry(industry)
            reviewer = reviewer_id(request, bool(self.studio.settings.auth))
            if kind == "output":
                record_id = arena.next_unrated_output(self.studio.store, reviewer, scenario)
                record = self.studio.store.get_record(record_id) if record_id else None
                return {} if record is None else {
                    "record_id": record.id, "industry": record.scenario, "task": record.task,
                    "modality": record.modality, "text": record.output_text or "", "prompt": record.prompt}
            if kind != "comparison":
                raise ValidationError("kind", f"must be 'comparison' or 'output' (got {kind!r})")
            comparison = arena.next_comparison(self.studio.store, reviewer, scenario)
            if comparison is None:
                return {}
            sides = {}
            for label in ("A", "B"):
                record = self.studio.store.get_record(comparison.record_shown(label))
                sides[label] = {"text": (record.output_text or "") if record else "", "record_id": comparison.record_shown(label)}
            return {"comparison_id": comparison.id, "industry": comparison.scenario, "task": comparison.task, **sides}
        except StudioError as error:
            raise _error(error) from error

    def export_preferences(self, industry: str = "") -> list[str]:
        """Every decisive vote as TRL preference pairs (prompt, chosen, rejected + metadata):
        preferences.jsonl, and preferences.parquet when pyarrow is installed."""
        try:
            scenario = self._industry(industry)
        except StudioError as error:
            raise _error(error) from error
        folder = tempfile.mkdtemp(prefix="aigc-preferences-")
        try:
            paths, _ = write_preferences(self.studio.store, folder, scenario)
            return [str(self._files.move_resource_to_block_cache(path)) for path in paths]
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _industry(self, industry: Any) -> str | None:
        if industry in (None, "", "overall"):
            return None
        if not isinstance(industry, str) or (industry not in self.scenarios and industry != PLAYGROUND):
            raise ValidationError("industry", f"must be one of {', '.join([*self.scenarios, PLAYGROUND])} (got {industry!r})")
        return industry

    # ------------------------------------------------------------ rendering

    def render(self) -> None:
        t = self.t
        choices = [(self.names[s]["en"] + " · " + self.names[s]["zh"], s) for s in [*self.scenarios, PLAYGROUND]]
        with gr.Tab(t("tab.compare"), id="compare", elem_id="tab-compare") as tab:
            gr.Markdown(t("arena.intro"))
            with gr.Row():
                industry = gr.Dropdown(choices, value=DEFAULT_INDUSTRY, label=t("arena.industry"), elem_id="arena-industry")
                self._industry_input = industry
                variant_a = gr.Textbox('{"seed": 1}', label=t("arena.variant_a"), info=t("arena.variant_info"),
                                       elem_id="arena-variant-a")
                variant_b = gr.Textbox('{"seed": 2}', label=t("arena.variant_b"), elem_id="arena-variant-b")
            form = gr.Textbox("", label=t("arena.form"), info=t("arena.form_info"), lines=2, elem_id="arena-form")
            self._form_input = form
            run = gr.Button(t("arena.run"), variant="primary", elem_id="arena-run")
            with gr.Row():
                comparison_id = gr.Textbox(label=t("arena.comparison"), interactive=False, elem_id="arena-comparison")
                next_comparison = gr.Button(t("arena.next_comparison"), elem_id="arena-next")
            with gr.Row(equal_height=True):
                output_a = gr.Textbox(label=t("arena.output_a"), lines=12, interactive=False, elem_id="arena-output-a")
                output_b = gr.Textbox(label=t("arena.output_b"), lines=12, interactive=False, elem_id="arena-output-b")
            with gr.Row():
                votes = [gr.Button(t(key), elem_id=elem_id, size="sm") for _, key, elem_id in VOTE_BUTTONS]
            with gr.Row():
                tags = gr.Dropdown(tag_choices(t), multiselect=True, label=t("review.tags"), elem_id="arena-tags")
                comment = gr.Textbox(label=t("review.comment"), max_length=MAX_COMMENT_CHARS, elem_id="arena-comment")
            vote_result = gr.Markdown(elem_id="arena-vote-result")
            gr.Markdown(t("arena.keys"), elem_classes=["arena-keys"])

            with gr.Accordion(t("arena.queue"), open=True):
                with gr.Row():
                    queue_industry = gr.Dropdown([("—", ""), *choices], value="", label=t("arena.queue_industry"),
                                                 elem_id="arena-queue-industry")
                    next_output = gr.Button(t("arena.next_output"), elem_id="arena-next-output")
                queued = gr.Textbox(label=t("review.record"), interactive=False, elem_id="arena-queued")
                queued_text = gr.Textbox(label=t("review.preview"), lines=6, interactive=False, elem_id="arena-queued-text")
                with gr.Row():
                    rates = [gr.Button(f"{n} ★", elem_id=f"arena-rate-{n}", size="sm") for n in RATINGS]
                rate_result = gr.Markdown(elem_id="arena-rate-result")

            with gr.Accordion(t("arena.leaderboard"), open=True):
                with gr.Row():
                    board_industry = gr.Dropdown([(t("arena.overall"), ""), *choices], value="",
                                                 label=t("arena.board_industry"), elem_id="arena-board-industry")
                    refresh = gr.Button(t("ui.refresh"), elem_id="arena-refresh")
                    export = gr.Button(t("arena.export"), elem_id="arena-export")
                verdicts = gr.Markdown(elem_id="arena-verdicts")
                with gr.Row():
                    table = gr.Dataframe(headers=BOARD_COLUMNS, interactive=False, label=t("arena.table"),
                                         elem_id="arena-table")
                    chart = gr.BarPlot(x="variant", y="win_rate", y_lim=[0, 1], label=t("arena.chart"), height=240,
                                       elem_id="arena-chart")
                files = gr.File(label=t("review.export_files"), file_count="multiple", elem_id="arena-export-files")
                self._files = files

        gpu = generation_group(self.studio, ["text"])  # a comparison generates text only
        board_outputs = [verdicts, table, chart]
        run.click(self._run_view, [industry, form, variant_a, variant_b],
                  [comparison_id, output_a, output_b, vote_result], api_visibility="private", **gpu)
        next_comparison.click(self._next_comparison_view, queue_industry,
                              [comparison_id, output_a, output_b, vote_result], api_visibility="private", **LIGHT)
        for (choice, _, _), button in zip(VOTE_BUTTONS, votes):
            button.click(self._vote_view(choice), [comparison_id, tags, comment, board_industry],
                         [vote_result, *board_outputs], api_visibility="private", **LIGHT)
        next_output.click(self._next_output_view, queue_industry, [queued, queued_text, rate_result],
                          api_visibility="private", **LIGHT)
        for rating, button in zip(RATINGS, rates):
            button.click(self._rate_view(rating), [queued, board_industry], [rate_result, *board_outputs],
                         api_visibility="private", **LIGHT)
        for trigger in (refresh.click, tab.select, board_industry.change):
            trigger(self._board_view, board_industry, board_outputs, api_visibility="private", **LIGHT)
        export.click(self.export_preferences, board_industry, files, api_name="export_preferences", **LIGHT)

    def wire_form_buttons(self, outer: gr.Tabs, industry_tabs: Sequence[Any]) -> None:
        """Each industry tab's "Compare this form" button: its form (as JSON) and industry go to
        this tab, which is selected. Tabs without such a button are left alone."""
        for tab in industry_tabs:
            button, inputs = getattr(tab, "compare_button", None), getattr(tab, "form_inputs", None)
            if button is None or inputs is None:
                continue
            names = [f.name for f in tab.scenario.fields]

            def take(*values: Any, _id: str = tab.scenario.id, _names: list[str] = names) -> tuple[Any, ...]:
                form = json.dumps(dict(zip(_names, values)), ensure_ascii=False, default=str)
                return gr.Tabs(selected="compare"), _id, form

            # raw values, as the scenario's own run gets them: its validation reads them later
            button.click(take, inputs, [outer, self._industry_input, self._form_input], preprocess=False,
                         queue=False, api_visibility="private")

    def register_api(self) -> None:
        """Typed API-only endpoints (call outside any layout block)."""
        gr.api(self.start_comparison, api_name="start_comparison", **generation_group(self.studio, ["text"]))
        for fn in (self.vote_comparison, self.leaderboard, self.review_queue):
            gr.api(fn, api_name=fn.__name__, **LIGHT)

    # ------------------------------------------------------------ views

    def _run_view(self, industry: str, form: str, variant_a: str, variant_b: str,
                  request: gr.Request) -> tuple[Any, ...]:
        answer = self.start_comparison(industry, form or None, variant_a or None, variant_b or None, request)
        return answer["comparison_id"], answer["A"]["text"], answer["B"]["text"], ""

    def _next_comparison_view(self, industry: str, request: gr.Request) -> tuple[Any, ...]:
        item = self.review_queue("comparison", industry, request)
        if not item:
            return "", "", "", self._say(request, "arena.queue_empty")
        return item["comparison_id"], item["A"]["text"], item["B"]["text"], ""

    def _vote_view(self, choice: str) -> Any:
        def vote(comparison_id: str, tags: list[str] | None, comment: str, board_industry: str,
                 request: gr.Request) -> tuple[Any, ...]:
            if not comparison_id:
                gr.Warning(self._text(request, "arena.no_comparison"), title="Compare")
                return (gr.skip(),) * 4
            answer = self.vote_comparison(comparison_id, choice, tags, comment, request)
            language = _language(request)
            revealed = answer["revealed"]
            shown = {"A": "A", "B": "B", "tie": "平局" if language == "zh" else "tie",
                     "both_bad": "都不好" if language == "zh" else "both bad"}[answer["choice"]]
            if language == "zh":
                line = (f"✅ 已保存投票：**{shown}**（评审人 {answer['reviewer']}）。揭晓：A = `{revealed['A']}`，"
                        f"B = `{revealed['B']}`。再次投票即可修改。")
            else:
                line = (f"✅ Vote saved: **{shown}** (reviewer {answer['reviewer']}). Revealed: A = `{revealed['A']}`, "
                        f"B = `{revealed['B']}`. Vote again to change it.")
            return (line, *self._board_view(board_industry, request))

        return vote

    def _next_output_view(self, industry: str, request: gr.Request) -> tuple[Any, ...]:
        item = self.review_queue("output", industry, request)
        if not item:
            return "", "", self._say(request, "arena.queue_empty")
        text = item["text"] if item["modality"] == "text" else f"({item['modality']}) {item['prompt']}"
        return item["record_id"], text, ""

    def _rate_view(self, rating: int) -> Any:
        def rate(record_id: str, board_industry: str, request: gr.Request) -> tuple[Any, ...]:
            if not record_id:
                gr.Warning(self._text(request, "arena.no_output"), title="Compare")
                return (gr.skip(),) * 4
            try:
                reviewer = reviewer_id(request, bool(self.studio.settings.auth))
                review = self.studio.store.submit_review(record_id, rating, [], "", reviewer)
            except StudioError as error:
                raise _error(error) from error
            zh = _language(request) == "zh"
            line = (f"✅ 已保存 {'★' * rating}（评审人 {review.reviewer}）。" if zh
                    else f"✅ Saved {'★' * rating} as {review.reviewer}.")
            return (line, *self._board_view(board_industry, request))

        return rate

    def _board_view(self, industry: str, request: gr.Request) -> tuple[str, pd.DataFrame, pd.DataFrame]:
        board = self.leaderboard(industry)
        language = _language(request)
        group = board["by_industry"].get(industry) if industry else board[leaderboard.OVERALL]
        group = group or {"votes": 0, "variants": [], "pairs": []}
        lines = [self._text(request, "arena.votes_line").format(votes=group["votes"])]
        lines += [f"- {pair['verdict'][language]}" for pair in group["pairs"]] or [f"- {self._text(request, 'arena.no_votes')}"]
        what = {"ratings": {"en": "Ratings", "zh": "评分"}, "votes": {"en": "Votes", "zh": "投票"}}
        lines += ["", *[f"- {describe(board['agreement'][k], what[k], language)}" for k in ("ratings", "votes")]]
        rows = [[v["variant"], v["votes"], v["wins"], v["losses"], v["ties"], v["both_bad"],
                 v["win_rate"], f"{v['ci_low']:.2f}-{v['ci_high']:.2f}", v["bt_score"], f"{v['bt_low']:.0f}-{v['bt_high']:.0f}"]
                for v in group["variants"]]
        # typed even when empty: the chart keeps the axis types of the first data it gets
        chart = pd.DataFrame([{"variant": v["variant"], "win_rate": v["win_rate"] or 0.0} for v in group["variants"]],
                             columns=["variant", "win_rate"]).astype({"variant": str, "win_rate": float})
        return "\n".join(lines), pd.DataFrame(rows, columns=BOARD_COLUMNS), chart

    def _text(self, request: gr.Request | None, key: str) -> str:
        """A UI string in the caller's language (for text made at run time)."""
        return ui_strings()[key][_language(request)]

    def _say(self, request: gr.Request | None, key: str) -> str:
        return f"ℹ️ {self._text(request, key)}"
