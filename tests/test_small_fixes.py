"""The smaller items of issue 16 (item 10): "model contains" matches a part, limits are whole
numbers, the comment box holds what the API accepts, a long price history is drawn from a
sample of its days."""

from __future__ import annotations

import datetime
import json

import pytest

from aigc_demo.core.params import check_range
from aigc_demo.core.types import ValidationError
from aigc_demo.industries import market
from aigc_demo.record import ReviewStore
from aigc_demo.record.models import MAX_COMMENT_CHARS


def test_model_filter_matches_any_part_in_any_case(tmp_path):
    with ReviewStore(tmp_path / "data") as store:
        qwen = store.add_record(modality="text", model_ref="transformers:Qwen/Qwen2.5-0.5B-Instruct")
        store.add_record(modality="text", model_ref="tiny:text")
        store.add_record(modality="text", model_ref="gguf:a_b%c")
        assert [r["id"] for r in store.list_outputs(model="qwen2.5")] == [qwen]
        assert [r["model_ref"] for r in store.list_outputs(model="TINY")] == ["tiny:text"]
        assert [r["model_ref"] for r in store.list_outputs(model="_b%")] == ["gguf:a_b%c"]  # no wildcards
        assert store.list_outputs(model="a%c") == [] and store.summary(model="qwen")["count"] == 1


@pytest.mark.parametrize("value", [1.5, "1.5", 2.000001])
def test_whole_number_limits_are_not_truncated(value):
    with pytest.raises(ValidationError, match=r"limit: must be a whole number between 1 and 10000 \(got"):
        check_range("limit", value, 1, 10_000)
    assert check_range("limit", 2.0, 1, 10_000) == 2 and check_range("limit", "7", 1, 10_000) == 7


def test_review_listing_refuses_a_fractional_limit(studio):
    import gradio as gr

    from aigc_demo.ui.review_tab import ReviewTab

    with pytest.raises(gr.Error, match="limit: must be a whole number"):
        ReviewTab(studio, None, []).list_outputs(limit=1.5)  # type: ignore[arg-type]


def test_the_comment_box_holds_what_the_api_accepts(studio):
    import gradio as gr

    from aigc_demo.ui.app import build_app

    demo = build_app(studio)
    with gr.Blocks() as drawn:  # what a review bar's render draws for an output
        demo.renderables[0].fn(["a-record-id"])
    boxes = {c.label: c.max_length for c in drawn.blocks.values() if type(c).__name__ == "Textbox" and c.max_length}
    lengths = {str(label): length for label, length in boxes.items()}
    comment = [n for label, n in lengths.items() if "review.comment" in label]
    assert comment and set(comment) == {MAX_COMMENT_CHARS}


def test_a_long_price_history_is_charted_from_a_sample(tmp_path):
    start = datetime.date(1900, 1, 1)
    lines = ["date,close"] + [f"{start + datetime.timedelta(days=i)},{100 + (i % 977) * 0.37 + (i == 31_000) * 900:.2f}"
                              for i in range(75_000)]
    csv_file = tmp_path / "prices.csv"
    csv_file.write_text("\n".join(lines), encoding="utf-8")
    assert csv_file.stat().st_size > 1_300_000  # the size the issue reports
    figures = market.compute_figures(market.load_prices(str(csv_file)))
    table, chart = market.figures_panels(figures, "en")
    size = len(json.dumps([table, chart]))
    assert size < 200_000, f"the panels send {size} bytes"
    closes = [r for r in market.chart_long_rows(figures) if r["series"] == "Close"]
    assert len(closes) <= market.MAX_CHART_POINTS + 4
    dates = {r["date"] for r in closes}
    assert {str(figures.first_date), str(figures.last_date), str(figures.high_date), str(figures.low_date)} <= dates
    assert max(r["value"] for r in closes) == figures.high  # the spike is still drawn
