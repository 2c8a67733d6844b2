"""Market brief: prices from CSV, figures computed by code, the brief's template and quotes,
chart rows, and the scenario's `file` field and `compute:` pre-step."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest
import yaml

from aigc_demo.core.types import ValidationError
from aigc_demo.industries import load_scenario, load_scenarios, market
from aigc_demo.industries.market import (
    chart_long_rows,
    chart_rows,
    check_brief_quotes,
    compute_figures,
    figures_table,
    figures_text,
    load_prices,
)
from aigc_demo.industries.panel_values import plot_value
from aigc_demo.scenarios import DEFAULT_FOLDER, ROOT, ScenarioError

SAMPLE = ROOT / "assets" / "data" / "sample_prices.csv"
SAMPLE_ZH = ROOT / "assets" / "data" / "sample_prices_zh.csv"

# Five closes chosen so every figure can be worked out by hand.
KNOWN = """date,close
2024-01-01,100
2024-01-02,110
2024-01-03,99
2024-01-04,104.5
2024-01-05,120
"""


@pytest.fixture(scope="module")
def market_scenario():
    return {s.id: s for s in load_scenarios()}["market"]


# ---------------------------------------------------------------- figures by hand


def test_figures_match_hand_computed_values():
    prices = load_prices(KNOWN)
    assert prices[0] == (date(2024, 1, 1), 100.0) and prices[-1] == (date(2024, 1, 5), 120.0)
    fig = compute_figures(prices, windows=(2, 3))
    # period return: 120 / 100 - 1
    assert fig.period_return == pytest.approx(0.20)
    # daily log returns ln(1.1)=0.0953102, ln(0.9)=-0.1053605, ln(1.0555556)=0.0540672,
    # ln(1.1483254)=0.1383047; mean 0.0455779; sample variance (n-1=3) 0.0113085;
    # stdev 0.1063413 x sqrt(252) = 1.68813
    assert fig.volatility == pytest.approx(1.68813, abs=1e-5)
    # drawdown: peak 110 on Jan 2, trough 99 on Jan 3 -> 99 / 110 - 1 = -10 %, back above 110 on Jan 5
    assert fig.max_drawdown == pytest.approx(-0.10)
    assert (fig.peak_date, fig.trough_date, fig.recovery_date) == (date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 5))
    # moving averages: MA2 = (104.5 + 120) / 2, MA3 = (99 + 104.5 + 120) / 3
    assert fig.ma(2) == pytest.approx(112.25) and fig.ma_latest[2] == fig.ma(2)
    assert fig.ma(3) == pytest.approx(107.833333, abs=1e-6)
    assert fig.ma_series[3] == pytest.approx((None, None, 103.0, 104.5, 107.833333), abs=1e-6)
    assert (fig.high, fig.high_date, fig.low, fig.low_date) == (120.0, date(2024, 1, 5), 99.0, date(2024, 1, 3))
    assert (fig.first_close, fig.last_close, fig.days) == (100.0, 120.0, 5)

    text = figures_text(fig, "en")
    assert text[0].startswith("period return: +20.00%")
    assert "annualised volatility: 168.81%" in text
    assert text[2].startswith("maximum drawdown: -10.00% (peak 2024-01-02 to trough 2024-01-03, recovered 2024-01-05)")
    assert "2-day moving average: 112.25" in text and "3-day moving average: 107.83" in text
    zh = figures_text(fig, "zh")
    assert zh[0].startswith("区间涨跌幅：+20.00%") and "年化波动率：168.81%" in zh and "2日均线：112.25" in zh


def test_short_series_has_no_volatility_or_long_averages():
    fig = compute_figures(load_prices("date,close\n2024-01-01,10\n2024-01-02,9\n"))
    assert fig.volatility is None and fig.ma(20) is None and fig.ma(50) is None
    assert fig.period_return == pytest.approx(-0.1) and fig.max_drawdown == pytest.approx(-0.1)
    assert fig.recovery_date is None
    assert "annualised volatility: n/a (not enough data)" in figures_text(fig, "en")
    values = dict((row[0], row[1]) for row in figures_table(fig, "en"))
    assert values["20-day moving average"] == "n/a"


def test_rising_series_has_no_drawdown():
    fig = compute_figures(load_prices("date,close\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n"))
    assert fig.max_drawdown == 0.0 and fig.peak_date == fig.trough_date
    assert "maximum drawdown: 0.00%" in figures_text(fig)


def test_sample_files_are_realistic():
    for path, rows in ((SAMPLE, 252), (SAMPLE_ZH, 242)):
        prices = load_prices(path)
        assert len(prices) == rows
        dates = [p.date for p in prices]
        assert dates == sorted(set(dates)) and all(d.weekday() < 5 for d in dates)
        fig = compute_figures(prices)
        assert 0.05 < fig.volatility < 0.8 and -0.6 < fig.max_drawdown < 0
        assert fig.ma(50) is not None


# ---------------------------------------------------------------- formats accepted


def test_common_exports_are_read():
    yahoo = (
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,10,11,9,10.5,10.0,100\n2024-01-03,10,11,9,11.5,11.0,100\n"
    )
    assert [p.close for p in load_prices(yahoo)] == [10.0, 11.0]  # adjusted close preferred
    # Nasdaq's export: newest first, US dates, dollar signs
    nasdaq = "Date,Close/Last,Volume\n01/03/2024,$185.64,1000\n01/02/2024,$184.25,1000\n"
    prices = load_prices(nasdaq)
    assert prices == [(date(2024, 1, 2), 184.25), (date(2024, 1, 3), 185.64)]
    quoted = 'date,close\n2024-01-02,"1,234.50"\n2024-01-03,"1,240.00"\n'
    assert [p.close for p in load_prices(quoted)] == [1234.5, 1240.0]
    european = "date;close\n02.01.2024;12,5\n03.01.2024;13,0\n"  # day first, decimal comma
    assert load_prices(european) == [(date(2024, 1, 2), 12.5), (date(2024, 1, 3), 13.0)]
    chinese = "日期,开盘价,收盘价,成交量\n2024年1月2日,9.8,10.0,1\n2024年1月3日,9.9,10.2,1\n"
    assert [p.close for p in load_prices(chinese.encode("gbk"))] == [10.0, 10.2]  # GBK bytes
    assert load_prices("\ufeff" + chinese)[0].date == date(2024, 1, 2)  # BOM
    tabbed = "trade_date\tclose\n20240102\t5\n20240103\t6\n"
    assert load_prices(tabbed)[1] == (date(2024, 1, 3), 6.0)


# ---------------------------------------------------------------- bad CSVs

BAD_CSVS = {
    "empty": ("", "empty"),
    "blank lines only": ("\n \n", "empty"),
    "header only": ("date,close\n", "no price rows"),
    "one row": ("date,close\n2024-01-02,10\n", "only one price row"),
    "no close column": ("date,open\n2024-01-02,1\n2024-01-03,2\n", "missing column(s): close"),
    "no date column": ("day,close\n2024-01-02,1\n2024-01-03,2\n", "missing column(s): date"),
    "no columns at all": ("hello world\nfoo\n", "missing column(s): date and close"),
    "non-numeric price": ("date,close\n2024-01-02,10\n2024-01-03,abc\n", "line 3 (2024-01-03): price 'abc' is not a number"),
    "empty price": ("date,close\n2024-01-02,10\n2024-01-03,\n", "line 3 (2024-01-03): the price is empty"),
    "null price": ("date,close\n2024-01-02,10\n2024-01-03,null\n", "price 'null' is not a number"),
    "zero price": ("date,close\n2024-01-02,10\n2024-01-03,0\n", "line 3 (2024-01-03): price 0 must be greater than zero"),
    "bad date": ("date,close\n2024-01-02,10\n2024-13-45,11\n", "line 3: date '2024-13-45' is not a date"),
    "unsorted dates": ("date,close\n2024-01-02,10\n2024-01-04,11\n2024-01-03,12\n",
                       "line 4: date 2024-01-03 comes after 2024-01-04"),
    "duplicate date": ("date,close\n2024-01-02,10\n2024-01-02,11\n2024-01-03,12\n",
                       "line 3: duplicate date 2024-01-02 (also on line 2)"),
    "short row": ("date,open,close\n2024-01-02,1,10\n2024-01-03,1\n", "line 3: expected at least 3 columns, got 2"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSVS))
def test_bad_csv_is_rejected_clearly(case):
    text, message = BAD_CSVS[case]
    with pytest.raises(ValidationError) as info:
        load_prices(text)
    assert info.value.field == "prices"
    assert message in str(info.value), str(info.value)


def test_bad_files_are_rejected(tmp_path):
    with pytest.raises(ValidationError, match="file not found: missing.csv"):
        load_prices(str(tmp_path / "missing.csv"))
    binary = tmp_path / "sheet.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\xfa" * 10)
    with pytest.raises(ValidationError, match="not UTF-8 or GBK"):
        load_prices(binary)


# ---------------------------------------------------------------- quotes, table, chart


def test_check_brief_quotes():
    fig = compute_figures(load_prices(KNOWN), windows=(2, 3))
    brief = ("The price rose 20.00% over the week to a last close of 120.00, after a drawdown of "
             "−10.00%. Volatility was 168.81%. The 2-day average stands at 112.25.")
    quoted = check_brief_quotes(brief, fig)
    assert quoted == {"period_return": True, "volatility": True, "max_drawdown": True, "last_close": True,
                      "ma2": True, "ma3": False}
    assert not any(check_brief_quotes("Up 120.205% on 1112.25 volume", fig).values())
    everything = "\n".join(figures_text(fig, "zh"))
    assert all(check_brief_quotes(everything, fig).values())


def test_figures_table_rows():
    fig = compute_figures(load_prices(SAMPLE))
    both = figures_table(fig)
    assert both[0][:2] == ["period return", "区间涨跌幅"] and all(len(row) == 3 for row in both)
    zh = figures_table(fig, "zh")
    labels = [row[0] for row in zh]
    assert labels[:6] == ["区间涨跌幅", "年化波动率", "最大回撤", "最新收盘价", "20日均线", "50日均线"]
    assert zh[0][1] == market.fmt_pct(fig.period_return) and "→" in zh[2][1]


def test_chart_rows_for_a_line_plot():
    fig = compute_figures(load_prices(SAMPLE))
    rows = chart_rows(fig)
    assert len(rows) == fig.days and set(rows[0]) == {"date", "close", "ma20", "ma50"}
    assert rows[18]["ma20"] is None and rows[19]["ma20"] is not None and rows[48]["ma50"] is None
    assert rows[-1]["ma50"] == pytest.approx(fig.ma(50))
    long = chart_long_rows(fig, "zh")
    assert {r["series"] for r in long} == {"收盘价", "20日均线", "50日均线"}
    assert len(long) == fig.days + (fig.days - 19) + (fig.days - 49)


def test_plot_value_matches_what_gradio_builds_from_pandas():
    pd = pytest.importorskip("pandas")  # installed with gradio
    gr = pytest.importorskip("gradio")
    fig = compute_figures(load_prices(KNOWN), windows=(2,))
    rows = chart_long_rows(fig)
    ours = plot_value(rows)
    frame = pd.DataFrame(rows)
    frame["date"] = pd.to_datetime(frame["date"])
    theirs = gr.LinePlot(x="date", y="value", color="series").postprocess(frame).model_dump()
    assert ours == theirs
    wide = plot_value(chart_rows(fig))  # None gaps stay None (null in JSON)
    assert wide["datatypes"] == {"date": "temporal", "close": "quantitative", "ma2": "quantitative"}
    assert wide["data"][0][2] is None


# ---------------------------------------------------------------- the scenario


def test_market_scenario_loads_with_its_pre_step(market_scenario):
    s = market_scenario
    assert s.api_name == "market_brief" and s.label_outputs
    assert "not investment advice" in s.disclaimer.en.lower() and "不构成投资建议" in s.disclaimer.zh
    assert s.field("prices").kind == "file" and s.field("prices").extensions == ("csv", "txt", "tsv")
    assert Path(s.defaults()["prices"]) == SAMPLE
    assert [p.step for p in s.pre_steps] == ["market_figures"]
    assert s.computed_variables() == {"figures": "market_figures", "period": "market_figures"}
    assert [(t.name, t.generator) for t in s.tasks] == [("brief", "text"), ("spoken_brief", "audio")]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_brief_prompt_contains_the_computed_figures(market_scenario, language):
    s = market_scenario
    fig = compute_figures(load_prices(SAMPLE))
    prompt = s.render("brief", {"language": language})
    for line in figures_text(fig, language):
        assert line in prompt
    assert "$" not in prompt
    computed = s.compute({"language": language})
    assert computed["market_figures"].data == fig
    assert s.render("brief", {"language": language}, computed=computed) == prompt
    spoken = s.render("spoken_brief", {"language": language}, {"brief": s.finish_text("Up 35%.", language)})
    assert spoken.startswith("Up 35%.") and ("not investment advice" in spoken or "不构成投资建议" in spoken)
    assert s.disclaimer[language] not in spoken  # the footer is stripped, the spoken line stays
    finished = s.finish_text("Brief.", language)
    assert s.disclaimer[language] in finished


def test_uploaded_csv_changes_the_figures_and_bad_csv_names_the_field(market_scenario, tmp_path):
    s = market_scenario
    upload = tmp_path / "upload.csv"
    upload.write_text(KNOWN, encoding="utf-8")
    prompt = s.render("brief", {"prices": str(upload)})
    assert "period return: +20.00%" in prompt and "2024-01-01 to 2024-01-05, 5 trading days" in prompt
    assert s.render("brief", {"prices": {"path": str(upload)}}) == prompt  # a FileData-like mapping
    bad = tmp_path / "bad.csv"
    bad.write_text("date,close\n2024-01-02,10\n2024-01-02,11\n", encoding="utf-8")
    for call in (lambda: s.compute({"prices": str(bad)}), lambda: s.render("brief", {"prices": str(bad)})):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.field == "prices" and "duplicate date" in str(info.value)
    with pytest.raises(ValidationError, match="file not found"):
        s.validate_values({"prices": str(tmp_path / "nope.csv")})
    image = tmp_path / "chart.png"
    image.write_bytes(b"png")
    with pytest.raises(ValidationError, match=r"must be a \.csv or \.txt or \.tsv file"):
        s.validate_values({"prices": str(image)})
    assert s.validate_values({"prices": ""})["prices"] == str(SAMPLE)  # nothing uploaded: the sample


def test_examples_render_in_their_language(market_scenario):
    for example in market_scenario.examples:
        prompt = market_scenario.render("brief", example)
        assert "$" not in prompt
    zh = market_scenario.render("brief", market_scenario.examples[0])
    assert "区间涨跌幅：" in zh and "2024-01-02 至 2024-12-31，共 242 个交易日" in zh


# ---------------------------------------------------------------- the generic pre-step machinery


def demo(**extra) -> dict:
    data = {
        "id": "demo",
        "api_name": "demo_brief",
        "title": {"en": "Demo", "zh": "演示"},
        "description": {"en": "A demo.", "zh": "演示。"},
        "compute": [{"step": "market_figures", "inputs": {"prices": "history_csv"}}],
        "fields": [
            {"name": "history_csv", "kind": "file", "label": {"en": "CSV", "zh": "CSV"},
             "default": "assets/data/sample_prices.csv", "extensions": ["csv"]},
            {"name": "language", "kind": "language", "label": {"en": "Language", "zh": "语言"}},
        ],
        "tasks": [{"name": "brief", "generator": "text", "title": {"en": "Brief", "zh": "简报"},
                   "prompt": {"en": "$period\n$figures ($history_csv)", "zh": "$period\n$figures"}}],
    }
    data.update(extra)
    return data


def write(folder: Path, data: dict) -> Path:
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_pre_step_inputs_map_to_any_field(tmp_path):
    s = load_scenario(write(tmp_path, demo()))
    assert s.render("brief", {}).endswith("(sample_prices.csv)")  # a file shows as its name
    bad = tmp_path / "bad.csv"
    bad.write_text("date,close\n2024-01-02,x\n2024-01-03,1\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        s.render("brief", {"history_csv": str(bad)})
    assert info.value.field == "history_csv" and str(info.value).startswith("history_csv: line 2")


COMPUTE_ERRORS = {
    "unknown step": ({"compute": [{"step": "crystal_ball", "inputs": {}}]}, "compute[0].step"),
    "input not a field": ({"compute": [{"step": "market_figures", "inputs": {"prices": "nope"}}]},
                          "compute.market_figures.inputs.prices"),
    "missing input": ({"compute": [{"step": "market_figures", "inputs": {}}]}, "compute.market_figures.inputs.prices"),
    "unknown input": ({"compute": [{"step": "market_figures", "inputs": {"prices": "history_csv", "x": "language"}}]},
                      "compute.market_figures.inputs.x"),
    "listed twice": ({"compute": [{"step": "market_figures", "inputs": {"prices": "history_csv"}}] * 2},
                     "compute.market_figures"),
    "not a list": ({"compute": {"step": "market_figures"}}, "compute"),
    "no compute, variable unknown": ({"compute": []}, "tasks.brief.prompt.en"),
}


@pytest.mark.parametrize("case", sorted(COMPUTE_ERRORS))
def test_bad_compute_declarations_fail_at_load(tmp_path, case):
    extra, key = COMPUTE_ERRORS[case]
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, demo(**extra)))
    assert key in str(info.value) and "demo.yaml" in str(info.value), str(info.value)


def test_variable_clash_and_bad_file_fields_fail_at_load(tmp_path):
    clash = demo()
    clash["fields"].append({"name": "figures", "kind": "text", "label": {"en": "F", "zh": "F"}, "default": "x"})
    with pytest.raises(ScenarioError, match="clashes"):
        load_scenario(write(tmp_path, clash))
    task_clash = demo()
    task_clash["tasks"].append({"name": "period", "generator": "text", "title": {"en": "P", "zh": "P"}, "prompt": "x"})
    with pytest.raises(ScenarioError, match="tasks.period.name"):
        load_scenario(write(tmp_path, task_clash))
    for change, key in (
        ({"default": "assets/data/missing.csv"}, "fields.history_csv.default"),
        ({"default": ""}, "fields.history_csv.default"),
        ({"extensions": "csv"}, "fields.history_csv.extensions"),
        ({"default": "assets/data/sample_prices.csv", "extensions": ["txt"]}, "fields.history_csv.default"),
        ({"required": False}, "fields.history_csv.required"),
    ):
        data = demo()
        data["fields"][0].update(change)
        with pytest.raises(ScenarioError) as info:
            load_scenario(write(tmp_path, data))
        assert key in str(info.value), (change, str(info.value))


def test_shipped_files_still_load_from_a_copy(tmp_path):
    """File defaults are resolved against the project root, not the YAML's folder."""
    import shutil

    for path in DEFAULT_FOLDER.glob("*.yaml"):
        shutil.copy(path, tmp_path)
    loaded = {s.id: s for s in load_scenarios(tmp_path)}
    assert Path(loaded["market"].defaults()["prices"]) == SAMPLE
    assert math.isfinite(loaded["market"].compute({})["market_figures"].data.period_return)
