"""Panel values as the UI's components take them, built from plain rows (no pandas, no Gradio)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def table_value(headers: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    """A ``table`` panel's value: its column headers and rows of cells."""
    return {"headers": headers, "data": rows}


def plot_value(rows: list[dict[str, Any]], mark: str = "line", temporal: tuple[str, ...] = ("date",)) -> dict[str, Any]:
    """The payload a Gradio native plot (gr.LinePlot / gr.BarPlot / gr.ScatterPlot) sends to
    the browser, built from plain rows without pandas: ``{"columns", "data", "datatypes",
    "mark"}``. Columns named in ``temporal`` ("YYYY-MM-DD[ HH:MM]" text) become epoch
    milliseconds, numbers are "quantitative", other text "nominal" (what pandas would give)."""
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
