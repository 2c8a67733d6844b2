"""Panels: what a scenario's pre-steps (``compute:``) and parsers (``parse:``) show beside the
model's output - tables, charts and notes computed by code, never by the model.

One entry per step or parser name: the components to draw, and a function turning the step's
data (``Computed.data`` or ``Parsed``) into one value per component.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import gradio as gr

from ..scenarios import Parsed


@dataclass(frozen=True)
class PanelSpec:
    kind: str  # table | line | bar | markdown
    title_en: str
    title_zh: str
    x: str = ""
    y: str = ""
    color: str = ""

    def component(self, elem_id: str) -> gr.Component:
        label = f"{self.title_en} · {self.title_zh}"
        if self.kind == "table":
            return gr.Dataframe(label=label, interactive=False, wrap=True, elem_id=elem_id)
        if self.kind == "line":
            return gr.LinePlot(x=self.x, y=self.y, color=self.color or None, label=label, height=260, elem_id=elem_id)
        if self.kind == "bar":
            return gr.BarPlot(x=self.x, y=self.y, color=self.color or None, label=label, height=260, elem_id=elem_id)
        return gr.Markdown(label=label, elem_id=elem_id, elem_classes=["panel-note"])


def _market(figures: Any, language: str) -> list[Any]:
    from ..industry import market, plot_value

    rows = market.figures_table(figures, language)
    headers = ["指标", "数值"] if language == "zh" else ["Figure", "Value"]
    return [{"headers": headers, "data": rows}, plot_value(market.chart_long_rows(figures, language))]


def _sensors(assessments: Any, language: str) -> list[Any]:
    headers = ["信号", "读数", "限值", "状态"] if language == "zh" else ["Signal", "Value", "Limit", "Status"]
    return [{"headers": headers, "data": [[a.signal, a.value, a.limit, a.status] for a in assessments]}]


def _service(turn: Any, language: str) -> list[Any]:
    used = "\n".join(f"- **[{h.entry.id}]** {h.entry.question}" for h in turn.used) or (
        "- （无：问题不在 FAQ 范围内）" if language == "zh" else "- (none: the question is not covered by the FAQ)")
    heading = "**引用的 FAQ 条目**" if language == "zh" else "**FAQ entries used**"
    return [f"{turn.summary(language)}\n\n{heading}\n{used}"]


def _maintenance(parsed: Parsed, language: str) -> list[Any]:
    from ..industry import maintenance, plot_value

    if not parsed.ok:
        note = (f"⚠️ 无法从计划中读出任务表：{parsed.problem}。计划以文本显示。" if language == "zh"
                else f"⚠️ Could not read a task table from the plan: {parsed.problem}. The plan is shown as text.")
        return [None, None, note]
    headers, cells = maintenance.task_table(parsed.value, language)
    timeline = [{"task": r["task"], "end_h": r["end_h"], "skill": r["skill"] or "-"}
                for r in maintenance.timeline_rows(parsed.value)]
    note = f"ℹ️ {parsed.problem}" if parsed.problem else ""
    return [{"headers": headers, "data": cells}, plot_value(timeline, mark="bar", temporal=()), note]


PANELS: dict[str, tuple[tuple[PanelSpec, ...], Callable[[Any, str], list[Any]]]] = {
    "market_figures": (
        (PanelSpec("table", "Computed figures", "计算指标"),
         PanelSpec("line", "Price and moving averages", "价格与移动平均线", x="date", y="value", color="series")),
        _market,
    ),
    "sensor_check": ((PanelSpec("table", "Readings against limits", "读数与限值对比"),), _sensors),
    "faq_context": ((PanelSpec("markdown", "FAQ grounding", "FAQ 依据"),), _service),
    "maintenance_table": (
        (PanelSpec("table", "Task table", "任务表"),
         PanelSpec("bar", "Timeline: hours until each task is done", "时间线：完成各任务所需小时", x="task", y="end_h", color="skill"),
         PanelSpec("markdown", "Parser note", "解析说明")),
        _maintenance,
    ),
}
