"""Industry code behind the scenario files: the pre-steps (``compute:``) and parsers
(``parse:``) a scenario YAML may name, registered here by name.

=================  =====================================  ==================================
name               inputs -> template variables           data for the UI (``Computed.data``)
=================  =====================================  ==================================
market_figures     prices -> figures, period              :class:`market.MarketFigures`
sensor_check       readings -> sensor_flags               list of :class:`sensors.Assessment`
faq_context        brand, question, history ->            :class:`service.ServiceTurn`
                   brand_name, faq_entries, faq_rules,
                   conversation, customer_sentiment
maintenance_table  (parser) text -> Parsed(ok, rows,      rows: list of :class:`maintenance.TaskRow`
                   problem)
=================  =====================================  ==================================

Everything here is standard library (plus PyYAML): no model library is imported.
"""

from __future__ import annotations

from typing import Any

from aigc_demo.scenarios import Computed, Parsed, register_compute, register_parser

from . import faq, maintenance, market, sensors, sentiment, service


@register_compute("market_figures", inputs=("prices",), variables=("figures", "period"))
def market_figures(inputs: dict[str, Any], language: str) -> Computed:
    """Figures from a price CSV; a bad CSV raises ValidationError("prices", ...)."""
    figures = market.compute_figures(market.load_prices(inputs["prices"]))
    return Computed(market.brief_variables(figures, language), data=figures)


@register_compute("sensor_check", inputs=("readings",), variables=("sensor_flags",))
def sensor_check(inputs: dict[str, Any], language: str) -> Computed:
    """Readings outside their limits, from rows with signal / value / limit (/ note) columns."""
    assessments = sensors.assess_readings(inputs["readings"])
    return Computed({"sensor_flags": sensors.readings_flags(assessments, language)}, data=assessments)


@register_compute(
    "faq_context",
    inputs=("brand", "question", "history"),
    variables=("brand_name", "faq_entries", "faq_rules", "conversation", "customer_sentiment"),
)
def faq_context(inputs: dict[str, Any], language: str) -> Computed:
    """Retrieval, sentiment and escalation for the customer's message, as prompt pieces."""
    knowledge = faq.load_faq(str(inputs["brand"]))
    question = str(inputs["question"])
    turn = service.analyse_turn(question, knowledge, language)
    pieces = service.reply_variables(question, inputs.get("history") or "", turn.hits, knowledge, language)
    return Computed(
        {
            "brand_name": knowledge.name,
            "faq_entries": pieces["entries"],
            "faq_rules": pieces["coverage"],
            "conversation": pieces["history"],
            "customer_sentiment": sentiment.sentiment_label(turn.sentiment.label, language),
        },
        data=turn,
    )


@register_parser("maintenance_table")
def maintenance_table(text: str) -> Parsed:
    rows, ok, problem = maintenance.parse_task_table(text)
    return Parsed(ok, rows, problem)


def plot_value(rows: list[dict[str, Any]], mark: str = "line", temporal: tuple[str, ...] = ("date",)) -> dict[str, Any]:
    """The payload a Gradio native plot (gr.LinePlot / gr.BarPlot / gr.ScatterPlot) sends to
    the browser, built from plain rows without pandas: ``{"columns", "data", "datatypes",
    "mark"}``. Columns named in ``temporal`` ("YYYY-MM-DD[ HH:MM]" text) become epoch
    milliseconds, numbers are "quantitative", other text "nominal" (what pandas would give)."""
    from datetime import datetime, timezone

    columns = list(rows[0]) if rows else []
    datatypes: dict[str, str] = {}
    for col in columns:
        values = [r[col] for r in rows if r.get(col) is not None]
        if col in temporal:
            datatypes[col] = "temporal"
        elif values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            datatypes[col] = "quantitative"
        else:
            datatypes[col] = "nominal"

    def cell(col: str, value: Any) -> Any:
        if value is None or datatypes[col] != "temporal":
            return value
        text = str(value).replace("T", " ")
        fmt = "%Y-%m-%d %H:%M" if len(text) > 10 else "%Y-%m-%d"
        return int(datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp() * 1000)

    data = [[cell(c, r.get(c)) for c in columns] for r in rows]
    return {"columns": columns, "data": data, "datatypes": datatypes, "mark": mark}
