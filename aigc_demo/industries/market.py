"""Market figures computed by code from a price-history CSV (the model only writes about them).

- :func:`load_prices` reads and checks a CSV (a path or the text itself) into sorted
  ``(date, close)`` pairs; anything wrong raises ``ValidationError("prices", ...)`` naming the
  problem and the line.
- :func:`compute_figures` computes the period return, the annualised volatility, the maximum
  drawdown (with its peak, trough and recovery dates) and simple moving averages.
- :func:`figures_text` gives the exact strings a brief must quote; :func:`check_brief_quotes`
  says which of them a brief contains; :func:`figures_table` and :func:`chart_rows` feed a
  table and a line chart.
- The plugin: compute step ``market_figures`` (prices -> ``$figures``, ``$period``) and its
  panels, the figures table and the price chart.

Conventions (stated once, used everywhere):

- Period return = last close / first close - 1 (simple, not annualised).
- Annualised volatility = sample standard deviation (n - 1) of daily **log** returns
  ln(P_t / P_t-1) times sqrt(252), whatever the calendar gaps between rows.
- Maximum drawdown = the lowest close / running-maximum close - 1 (a number <= 0).
- Moving average MA_n = the simple mean of the last n closes (none before n closes exist).

Standard library only (csv, math, statistics): no pandas, no numpy.
"""

from __future__ import annotations

import csv
import io
import math
import re
import statistics
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from aigc_demo.core.text import Bilingual, lang
from aigc_demo.core.types import ValidationError
from aigc_demo.scenarios import Computed, PanelSpec, register_compute

from .panel_values import plot_value, table_value

FIELD = "prices"  # the name ValidationErrors carry (a scenario maps it to its own field name)
TRADING_DAYS = 252
MAX_BYTES = 5_000_000
MAX_ROWS = 100_000
# Prices outside this range are refused: any ratio of two of them stays a finite float.
MIN_PRICE, MAX_PRICE = 1e-6, 1e12

# Accepted header names, compared after lower-casing and removing spaces, dots, _ and -.
# The first match wins, so an adjusted close is preferred to a raw close when both exist.
DATE_NAMES = ("date", "日期", "交易日期", "tradedate", "tradingday", "datetime", "time", "timestamp", "时间")
CLOSE_NAMES = (
    "adjclose", "adjustedclose", "close", "closelast", "closeprice", "price", "last", "settle",
    "收盘价", "收盘", "复权收盘价", "后复权价", "前复权价", "价格", "最新价",
)
VOLUME_NAMES = ("volume", "vol", "成交量", "成交股数")


class Price(NamedTuple):
    date: date
    close: float


def _fail(message: str) -> ValidationError:
    return ValidationError(FIELD, message)


def _key(name: str) -> str:
    return re.sub(r"[\s._\-/()（）*]", "", name.strip().lstrip("\ufeff").lower())


def _short(value: str, limit: int = 30) -> str:
    value = value.strip()
    return repr(value if len(value) <= limit else value[:limit] + "…")


# ---------------------------------------------------------------- parsing cells

_ISO = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T].*)?$")


def _parse_date(text: str, day_first: bool) -> date | None:
    text = text.strip()
    try:
        if m := _ISO.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _COMPACT.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.match(text):
            a, b, year = int(m[1]), int(m[2]), int(m[3])
            return date(year, b, a) if day_first else date(year, a, b)
    except ValueError:  # e.g. 2024-02-30
        return None
    return None


def _day_first(cells: list[str]) -> bool:
    """For d/m/y dates: day first when some first part exceeds 12, or the file uses dots."""
    for cell in cells:
        m = _DMY.match(cell.strip())
        if m and int(m[1]) > 12:
            return True
    return any("." in c and _DMY.match(c.strip()) for c in cells[:1])


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _parse_number(text: str, decimal_comma: bool = False) -> float | None:
    cleaned = re.sub(r"[\s$€£¥￥元]", "", text)
    if decimal_comma:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
        cleaned = cleaned.replace(",", "")  # thousands separators: 1,234.50
    if not _NUMBER.match(cleaned):
        return None
    value = float(cleaned)
    return value if math.isfinite(value) else None


def _csv_problem(error: Exception) -> str:
    text = str(error)
    too_long = f"a cell is longer than the limit of {csv.field_size_limit()} characters"
    return too_long if "field larger than field limit" in text else text


# ---------------------------------------------------------------- loading


def _read_text(source: str | Path | bytes) -> str:
    looks_like_path = isinstance(source, str) and "\n" not in source and (
        source.lower().endswith((".csv", ".txt", ".tsv")) or (len(source) < 4096 and Path(source).is_file())
    )
    if isinstance(source, bytes):
        raw = source
    elif isinstance(source, Path) or looks_like_path:
        path = Path(source)
        if not path.is_file():
            raise _fail(f"file not found: {path.name}")
        if path.stat().st_size > MAX_BYTES:
            raise _fail(f"the file is larger than {MAX_BYTES // 1_000_000} MB")
        raw = path.read_bytes()
    else:
        return source.lstrip("\ufeff")
    for encoding in ("utf-8-sig", "gb18030"):  # Chinese exports are often GBK
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _fail("the file is not UTF-8 or GBK text (is it a spreadsheet? export it as CSV)")


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    keys = [_key(h) for h in header]
    for name in names:
        if name in keys:
            return keys.index(name)
    return None


def load_prices(source: str | Path | bytes) -> list[Price]:
    """Read a daily price CSV (path, text or bytes) into ``(date, close)`` pairs, oldest first.

    Accepts headers such as date/Date/日期 and close/Close/Adj Close/Close/Last/收盘价
    (Adj Close is preferred when present), comma, semicolon or tab separators, ISO, compact,
    US or European dates, thousands separators and currency signs. A file whose dates run
    strictly newest-first is reversed; dates out of order otherwise, duplicate dates, missing
    columns, non-numeric or non-positive prices and fewer than two rows raise
    ``ValidationError("prices", ...)`` naming the line.
    """
    text = _read_text(source)
    lines = [line for line in text.splitlines()]
    if not any(line.strip() for line in lines):
        raise _fail("the CSV is empty")
    sample = "\n".join(lines[:20])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    table: list[tuple[int, list[str]]] = []
    try:
        table += [(n, row) for n, row in enumerate(reader, start=1) if any(cell.strip() for cell in row)]
    except csv.Error as error:  # e.g. a cell over the csv module's field size limit
        raise _fail(f"line {reader.line_num}: cannot be read as CSV ({_csv_problem(error)})") from None
    if not table:
        raise _fail("the CSV is empty")
    header_line, header = table[0]
    date_col, close_col = _find(header, DATE_NAMES), _find(header, CLOSE_NAMES)
    missing = [name for name, col in (("date", date_col), ("close", close_col)) if col is None]
    if missing:
        found = ", ".join(h.strip() for h in header) or "nothing"
        raise _fail(
            f"missing column(s): {' and '.join(missing)} (line {header_line} has: {found}; "
            "expected e.g. date,close or Date,Adj Close or 日期,收盘价)"
        )
    rows = table[1:]
    if len(rows) > MAX_ROWS:
        raise _fail(f"{len(rows)} rows is too many (the limit is {MAX_ROWS})")
    if not rows:
        raise _fail("the CSV has a header but no price rows")
    day_first = _day_first([row[date_col] for _, row in rows[:200] if len(row) > date_col])
    decimal_comma = delimiter == ";" and any(
        re.fullmatch(r"\d+,\d+", row[close_col].strip()) for _, row in rows[:50] if len(row) > close_col
    )

    prices: list[Price] = []
    lines_of: list[int] = []
    for line, row in rows:
        if len(row) <= max(date_col, close_col):
            raise _fail(f"line {line}: expected at least {max(date_col, close_col) + 1} columns, got {len(row)}")
        day = _parse_date(row[date_col], day_first)
        if day is None:
            raise _fail(f"line {line}: date {_short(row[date_col])} is not a date (use e.g. 2024-01-31)")
        if not row[close_col].strip():
            raise _fail(f"line {line} ({day}): the price is empty")
        close = _parse_number(row[close_col], decimal_comma)
        if close is None:
            raise _fail(f"line {line} ({day}): price {_short(row[close_col])} is not a number")
        if close <= 0:
            raise _fail(f"line {line} ({day}): price {close:g} must be greater than zero")
        if not MIN_PRICE <= close <= MAX_PRICE:
            raise _fail(f"line {line} ({day}): price {close:g} is outside {MIN_PRICE:g} to {MAX_PRICE:g}")
        prices.append(Price(day, close))
        lines_of.append(line)

    if len(prices) < 2:
        raise _fail("only one price row; at least two are needed to compute any figure")
    dates = [p.date for p in prices]
    if all(a > b for a, b in zip(dates, dates[1:])):  # newest first (many brokers export so)
        return prices[::-1]
    seen: dict[date, int] = {}
    for i, (day, line) in enumerate(zip(dates, lines_of)):
        if day in seen:
            raise _fail(f"line {line}: duplicate date {day} (also on line {seen[day]})")
        seen[day] = line
        if i and day < dates[i - 1]:
            raise _fail(f"line {line}: date {day} comes after {dates[i - 1]}; the dates must be in order")
    return prices


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class MarketFigures:
    """Everything computed from one price series (returns as fractions: 0.1234 = +12.34%)."""

    dates: tuple[date, ...]
    closes: tuple[float, ...]
    period_return: float
    volatility: float | None  # annualised, from daily log returns; None with fewer than 3 prices
    max_drawdown: float  # <= 0
    peak_date: date
    trough_date: date
    recovery_date: date | None  # first close back at the peak after the trough, if any
    high: float
    high_date: date
    low: float
    low_date: date
    windows: tuple[int, ...]
    ma_series: dict[int, tuple[float | None, ...]] = field(default_factory=dict)

    @property
    def first_date(self) -> date:
        return self.dates[0]

    @property
    def last_date(self) -> date:
        return self.dates[-1]

    @property
    def first_close(self) -> float:
        return self.closes[0]

    @property
    def last_close(self) -> float:
        return self.closes[-1]

    @property
    def days(self) -> int:
        """Number of prices (trading days) in the period."""
        return len(self.closes)

    @property
    def ma_latest(self) -> dict[int, float | None]:
        """The latest moving average per window, e.g. {20: 109.37, 50: 101.29}."""
        return {w: series[-1] for w, series in self.ma_series.items()}

    def ma(self, window: int) -> float | None:
        """The latest moving average of ``window`` closes (None if the data is shorter)."""
        return self.ma_series[window][-1]


def moving_average(closes: list[float] | tuple[float, ...], window: int) -> list[float | None]:
    """Simple moving average; None until ``window`` closes exist."""
    if window < 1:
        raise ValueError("window must be at least 1")
    out: list[float | None] = []
    total = 0.0
    for i, close in enumerate(closes):
        total += close
        if i >= window:
            total -= closes[i - window]
        out.append(total / window if i + 1 >= window else None)
    return out


def compute_figures(
    prices: list[Price] | list[tuple[date, float]], windows: tuple[int, ...] = (20, 50)
) -> MarketFigures:
    """All figures from ``(date, close)`` pairs sorted oldest first (see the module docstring)."""
    if len(prices) < 2:
        raise _fail("at least two prices are needed")
    dates = tuple(p[0] for p in prices)
    closes = tuple(float(p[1]) for p in prices)
    log_returns = [math.log(b) - math.log(a) for a, b in zip(closes, closes[1:])]  # finite for any positive pair
    volatility = statistics.stdev(log_returns) * math.sqrt(TRADING_DAYS) if len(log_returns) >= 2 else None

    peak_i, best_peak_i, trough_i, worst = 0, 0, 0, 0.0
    for i, close in enumerate(closes):
        if close > closes[peak_i]:
            peak_i = i
        drawdown = close / closes[peak_i] - 1
        if drawdown < worst:
            worst, best_peak_i, trough_i = drawdown, peak_i, i
    recovery = None
    if worst < 0:
        recovery = next((dates[i] for i in range(trough_i + 1, len(closes)) if closes[i] >= closes[best_peak_i]), None)

    high_i = max(range(len(closes)), key=lambda i: closes[i])
    low_i = min(range(len(closes)), key=lambda i: closes[i])
    return MarketFigures(
        dates=dates,
        closes=closes,
        period_return=closes[-1] / closes[0] - 1,
        volatility=volatility,
        max_drawdown=worst,
        peak_date=dates[best_peak_i],
        trough_date=dates[trough_i],
        recovery_date=recovery,
        high=closes[high_i],
        high_date=dates[high_i],
        low=closes[low_i],
        low_date=dates[low_i],
        windows=tuple(windows),
        ma_series={w: tuple(moving_average(closes, w)) for w in windows},
    )


# ---------------------------------------------------------------- formatting


def fmt_pct(value: float, signed: bool = True) -> str:
    return f"{value * 100:+.2f}%" if signed else f"{value * 100:.2f}%"


def fmt_price(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 1 else f"{value:.2f}"


LABELS = {
    "period_return": Bilingual("period return", "区间涨跌幅"),
    "volatility": Bilingual("annualised volatility", "年化波动率"),
    "max_drawdown": Bilingual("maximum drawdown", "最大回撤"),
    "last_close": Bilingual("last close", "最新收盘价"),
    "first_close": Bilingual("first close", "期初收盘价"),
    "ma": Bilingual("{n}-day moving average", "{n}日均线"),
    "high": Bilingual("period high", "区间最高价"),
    "low": Bilingual("period low", "区间最低价"),
    "period": Bilingual("period", "统计区间"),
}
_NA = Bilingual("n/a (not enough data)", "无（数据不足）")


def figure_values(fig: MarketFigures) -> dict[str, str | None]:
    """The formatted value of each quotable figure, keyed ("ma20", "ma50", ...); None = n/a."""
    values: dict[str, str | None] = {
        "period_return": fmt_pct(fig.period_return),
        "volatility": fmt_pct(fig.volatility, signed=False) if fig.volatility is not None else None,
        "max_drawdown": fmt_pct(fig.max_drawdown) if fig.max_drawdown < 0 else "0.00%",
        "last_close": fmt_price(fig.last_close),
    }
    for w in fig.windows:
        ma = fig.ma(w)
        values[f"ma{w}"] = fmt_price(ma) if ma is not None else None
    return values


def _label(key: str, language: str) -> str:
    if key.startswith("ma") and key[2:].isdigit():
        return LABELS["ma"][language].format(n=key[2:])
    return LABELS[key][language]


def _detail(key: str, fig: MarketFigures, language: str) -> str:
    """Context after a value (dates), in brackets; never part of what must be quoted."""
    zh = language == "zh"
    if key == "max_drawdown" and fig.max_drawdown < 0:
        if zh:
            recovered = f"，{fig.recovery_date} 收复" if fig.recovery_date else "，尚未收复"
            return f"（{fig.peak_date} 高点至 {fig.trough_date} 低点{recovered}）"
        recovered = f", recovered {fig.recovery_date}" if fig.recovery_date else ", not yet recovered"
        return f" (peak {fig.peak_date} to trough {fig.trough_date}{recovered})"
    if key == "last_close":
        return f"（{fig.last_date}）" if zh else f" (on {fig.last_date})"
    if key == "period_return":
        return f"（{fig.first_date} 至 {fig.last_date}）" if zh else f" ({fig.first_date} to {fig.last_date})"
    return ""


def figures_text(fig: MarketFigures, language: str = "en") -> list[str]:
    """One line per figure, e.g. "period return: +12.34%" / "区间涨跌幅：+12.34%".

    The text before the brackets is what a brief is asked to quote verbatim."""
    language = lang(language)
    sep = "：" if language == "zh" else ": "
    lines = []
    for key, value in figure_values(fig).items():
        shown = value if value is not None else _NA[language]
        lines.append(f"{_label(key, language)}{sep}{shown}{_detail(key, fig, language) if value else ''}")
    return lines


def figures_table(fig: MarketFigures, language: str | None = None) -> list[list[str]]:
    """Rows for a table: ``[label_en, label_zh, value]``, or ``[label, value]`` in ``language``."""
    values = figure_values(fig)
    rows: list[tuple[str, str]] = [(k, v if v is not None else "n/a") for k, v in values.items()]
    rows += [
        ("high", f"{fmt_price(fig.high)} ({fig.high_date})"),
        ("low", f"{fmt_price(fig.low)} ({fig.low_date})"),
        ("period", f"{fig.first_date} – {fig.last_date} ({fig.days})"),
    ]
    if fig.max_drawdown < 0:
        detail = f"{values['max_drawdown']} ({fig.peak_date} → {fig.trough_date})"
        rows = [(k, detail if k == "max_drawdown" else v) for k, v in rows]
    if language is None:
        return [[_label(k, "en"), _label(k, "zh"), v] for k, v in rows]
    language = lang(language)
    return [[_label(k, language), v] for k, v in rows]


def _quote_forms(value: str) -> list[str]:
    """Ways a value may legitimately appear: "+12.34%", "12.34%", "-8.50%", "−8.50%", "8.50%"."""
    forms = {value}
    if value[:1] in "+-":
        forms |= {value[1:], "−" + value[1:]} if value[0] == "-" else {value[1:]}
    return sorted(forms, key=len, reverse=True)


def check_brief_quotes(brief: str, fig: MarketFigures) -> dict[str, bool]:
    """Which figures the brief quotes, by value (e.g. {"period_return": True, "ma50": False}).

    A value counts when it appears as written in :func:`figures_text` (a leading sign may be
    dropped when the words say up/down) and is not part of a longer number."""
    found = {}
    for key, value in figure_values(fig).items():
        if value is None:
            continue
        found[key] = any(
            re.search(rf"(?<![\d.]){re.escape(form)}(?![\d])", brief) for form in _quote_forms(value)
        )
    return found


# ---------------------------------------------------------------- chart data


MAX_CHART_POINTS = 600  # per series: a long history is drawn from evenly spaced days (extremes kept)


def chart_days(fig: MarketFigures, limit: int = MAX_CHART_POINTS) -> list[int]:
    """The indices of the days a chart shows: all of them, or ``limit`` evenly spaced ones
    plus the first, last, high, low, peak and trough days."""
    n = len(fig.dates)
    if n <= limit:
        return list(range(n))
    keep = {round(k * (n - 1) / (limit - 1)) for k in range(limit)}
    keep |= {fig.dates.index(d) for d in (fig.high_date, fig.low_date, fig.peak_date, fig.trough_date)}
    return sorted(keep)


def chart_rows(fig: MarketFigures) -> list[dict[str, object]]:
    """Wide rows for a chart: ``{"date": "2024-01-02", "close": .., "ma20": .. | None, ...}``;
    at most about :data:`MAX_CHART_POINTS` days (see :func:`chart_days`)."""
    rows = []
    for i in chart_days(fig):
        day, close = fig.dates[i], fig.closes[i]
        row: dict[str, object] = {"date": day.isoformat(), "close": close}
        for w in fig.windows:
            ma = fig.ma_series[w][i]
            row[f"ma{w}"] = round(ma, 6) if ma is not None else None
        rows.append(row)
    return rows


SERIES_LABELS = {"close": Bilingual("Close", "收盘价"), "ma": Bilingual("MA{n}", "{n}日均线")}


def chart_long_rows(fig: MarketFigures, language: str = "en") -> list[dict[str, object]]:
    """Long rows ``{"date", "series", "value"}`` (one line per series; gaps left out), the
    shape ``gr.LinePlot(x="date", y="value", color="series")`` draws as several lines."""
    language = lang(language)
    close_label = SERIES_LABELS["close"][language]
    rows: list[dict[str, object]] = []
    wide = chart_rows(fig)
    for row in wide:
        rows.append({"date": row["date"], "series": close_label, "value": row["close"]})
    for w in fig.windows:
        label = SERIES_LABELS["ma"][language].format(n=w)
        for row in wide:
            if row[f"ma{w}"] is not None:
                rows.append({"date": row["date"], "series": label, "value": row[f"ma{w}"]})
    return rows


def brief_variables(fig: MarketFigures, language: str = "en") -> dict[str, str]:
    """Template variables for a brief: ``figures`` (a bullet list) and ``period``."""
    language = lang(language)
    period = (
        f"{fig.first_date} 至 {fig.last_date}，共 {fig.days} 个交易日"
        if language == "zh"
        else f"{fig.first_date} to {fig.last_date}, {fig.days} trading days"
    )
    return {"figures": "\n".join(f"- {line}" for line in figures_text(fig, language)), "period": period}


# ---------------------------------------------------------------- the plugin


def figures_panels(fig: MarketFigures, language: str) -> list[Any]:
    """The figures table and the price chart with its moving averages."""
    headers = ["指标", "数值"] if language == "zh" else ["Figure", "Value"]
    return [table_value(headers, figures_table(fig, language)), plot_value(chart_long_rows(fig, language))]


@register_compute(
    "market_figures", inputs=("prices",), variables=("figures", "period"),
    panels=(PanelSpec("table", Bilingual(en="Computed figures", zh="计算指标")),
            PanelSpec("line", Bilingual(en="Price and moving averages", zh="价格与移动平均线"),
                      x="date", y="value", color="series")),
    view=figures_panels,
)
def market_figures(inputs: dict[str, Any], language: str) -> Computed:
    """Figures from a price CSV; a bad CSV raises ValidationError("prices", ...)."""
    figures = compute_figures(load_prices(inputs["prices"]))
    return Computed(brief_variables(figures, language), data=figures)
