"""What the Review tab shows, in the page's language: column labels instead of raw names,
industry and task titles instead of ids, the summary and the chart."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import gradio as gr
import pandas as pd

from ..messages import say
from .i18n import Translator

# Record fields shown in the table, in order; the record id stays last (the preview reads it).
TABLE_COLUMNS = ["created_at", "scenario", "task", "modality", "model_ref", "seed", "rating", "tags", "comment", "prompt", "id"]


def table_headers(t: Translator, language: str) -> list[str]:
    return [t.text(f"ux.col.{name}", language) for name in TABLE_COLUMNS]


def industry(t: Translator, scenario: str, language: str) -> str:
    return t.text("ux.playground", language) if scenario == "playground" else t.text(f"scn.{scenario}.tab", language)


def task_title(t: Translator, scenario: str, task: str, language: str) -> str:
    key = f"scn.{scenario}.task.{task}"
    return t.text(key, language) if t.text(key, language) != key else task


def table_rows(t: Translator, rows: Sequence[Mapping[str, Any]], language: str) -> list[list[Any]]:
    return [[r["created_at"][:19].replace("T", " "), industry(t, r["scenario"], language),
             task_title(t, r["scenario"], r["task"], language), t.text(f"ux.modality.{r['modality']}", language),
             r["model_ref"], r["seed"], r["rating"], ", ".join(r["tags"]), r["comment"] or "",
             (r["prompt"] or "")[:120], r["id"]] for r in rows]


def _share(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "–"


def summary_markdown(t: Translator, figures: Mapping[str, Any], language: str) -> str:
    if not figures["count"]:
        return say("ux.summary.empty", language)
    row = lambda name, f: f"| {name} | {f['count']} | {f['mean_rating'] or '–'} | {_share(f['thumbs_up_share'])} |"  # noqa: E731
    return "\n".join([
        say("ux.summary.counts", language, count=figures["count"], rated=figures["rated"], reviews=figures["reviews"]),
        "",
        say("ux.summary.means", language, mean=figures["mean_rating"] or "–", share=_share(figures["thumbs_up_share"])),
        "",
        say("ux.summary.head", language),
        "|---|---|---|---|",
        *[row(industry(t, s, language), f) for s, f in figures["by_scenario"].items()],
        *[row(f"`{m}`", f) for m, f in figures["by_model"].items()],
    ])


def chart_update(t: Translator, figures: Mapping[str, Any], language: str) -> Any:
    """The mean rating per industry, axes labelled in the page's language; hidden with no data."""
    x, y = t.text("ux.col.scenario", language), t.text("ux.col.mean_rating", language)
    frame = pd.DataFrame([{x: industry(t, s, language), y: f["mean_rating"] or 0.0} for s, f in figures["by_scenario"].items()],
                         columns=[x, y])
    return gr.BarPlot(value=frame, x=x, y=y, visible=not frame.empty)


def rerun_js() -> str:
    """Browser code run after "Re-run exactly" filled a form: go to the top and press its Run."""
    return """() => { setTimeout(() => {
        window.scrollTo(0, 0);
        const run = [...document.querySelectorAll('.run-button')].find((b) => b.offsetParent !== null);
        if (run) run.click();
    }, 400); }"""
