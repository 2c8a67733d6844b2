"""The demo's plain words, without a browser: messages in the page's language, errors that name
the field by its label, the model line, the System tables, the ticking run stream."""

from __future__ import annotations

import re
import threading
import time
from types import SimpleNamespace

import pytest
import yaml

from aigc_demo.core.types import ValidationError
from aigc_demo.industries import load_scenarios
from aigc_demo.messages import catalogue, say
from aigc_demo.settings import ASSETS_DIR, preset_settings
from aigc_demo.ui.locale import field_error, page_language
from aigc_demo.ui.model_line import models_markdown, scenario_outputs
from aigc_demo.ui.system_view import health_markdown, status_markdown
from aigc_demo.ui.ticker import every


@pytest.fixture(scope="module")
def scenarios():
    return {s.id: s for s in load_scenarios()}


def test_every_catalogue_entry_has_english_and_chinese_with_the_same_fields():
    raw = yaml.safe_load((ASSETS_DIR / "i18n.yaml").read_text(encoding="utf-8"))
    for key, entry in raw.items():
        assert set(entry) == {"en", "zh"} and entry["en"].strip() and entry["zh"].strip(), key
        assert set(re.findall(r"\{(\w+)\}", entry["en"])) == set(re.findall(r"\{(\w+)\}", entry["zh"])), key
        assert " · " not in entry["en"] or not re.search(r"[\u4e00-\u9fff]", entry["en"]), f"{key}: paired label"


def test_the_page_language_comes_from_the_browser_preference():
    request = lambda header: SimpleNamespace(headers={"accept-language": header})  # noqa: E731
    assert page_language(request("zh-CN,zh;q=0.9,en;q=0.8")) == "zh"
    assert page_language(request("en-US,en;q=0.9,zh-CN;q=0.8")) == "en"
    assert page_language(None) == "en"
    assert say("ux.run.total", "zh-TW", seconds=3) == catalogue()["ux.run.total"]["zh"].format(seconds=3)


def test_form_errors_name_the_field_by_its_label_in_both_languages(scenarios):
    retail = scenarios["retail"]
    with pytest.raises(ValidationError) as caught:
        retail.validate_values({"product_name": "  "})
    english = field_error(retail, caught.value, "en").message
    chinese = field_error(retail, caught.value, "zh").message
    assert english.startswith(retail.field("product_name").label.en + " is empty") and "product_name" not in english
    assert retail.field("product_name").label.zh in chinese and "为空" in chinese and "product_name" not in chinese


def test_the_model_line_names_each_output_model_licence_and_smoke_badge(scenarios):
    tiny = preset_settings("tiny")
    retail = scenarios["retail"]
    for language in ("en", "zh"):
        text = models_markdown(tiny, scenario_outputs(retail, language), language)
        for task in retail.tasks:
            assert f"{task.title(language)}: `tiny:{task.generator}`" in text
        assert text.count(say("ux.models.smoke", language)) >= len(retail.tasks)
        assert say("ux.models.licence_none", language) in text


def test_a_real_model_shows_its_licence_and_no_smoke_badge():
    cpu = preset_settings("cpu")
    text = models_markdown(cpu, [("Hero image", "image")], "en")
    assert "non-commercial" in text and say("ux.models.smoke", "en") not in text


def test_the_system_tab_is_tables_in_the_page_language():
    tiny = preset_settings("tiny")
    status = {"preset": "tiny", "device": "cpu", "used_mb": 0.5, "budget_mb": 100, "notes": [],
              "loaded": [{"key": "text", "device": "cpu", "size_mb": 0.5}], "load_count": {"text": 2}}
    zh = status_markdown(status, tiny, "zh")
    assert "| 文本 | `tiny:text`" in zh and "| 是 | cpu | 0.5 | 2 |" in zh and "| 图像 |" in zh
    assert not re.search(r"\b(loaded|modality|size)\b", zh)
    health = {"ok": False, "checks": {"disk": {"ok": False, "detail": "3 MB free"}}, "quarantined": []}
    assert health_markdown(health, "zh").startswith("⚠️ 自检发现问题：disk: 3 MB free")


def test_the_ticker_repeats_the_latest_item_while_the_source_is_busy():
    def slow():
        yield "a"
        time.sleep(2.4)
        yield "b"

    items = list(every(slow(), seconds=0.5))
    assert items[0] == "a" and items[-1] == "b" and items.count("a") >= 3


def test_the_ticker_passes_errors_on_and_cancels_when_the_reader_leaves():
    def broken():
        yield 1
        raise ValidationError("seed", "must be a number")

    with pytest.raises(ValidationError, match="seed"):
        list(every(broken()))

    cancelled = threading.Event()
    closed = threading.Event()

    def endless():
        try:
            while not cancelled.is_set():
                yield 0
                time.sleep(0.05)
        finally:
            closed.set()

    stream = every(endless(), on_close=cancelled.set)
    next(stream), next(stream)
    stream.close()
    assert cancelled.is_set() and closed.wait(5)


def test_a_review_bar_is_drawn_only_once_its_output_exists(studio):
    import gradio as gr

    from aigc_demo.ui.app import build_app

    def classes(blocks: gr.Blocks) -> list[str]:
        return [c for block in blocks.blocks.values() for c in getattr(block, "elem_classes", None) or []]

    demo = build_app(studio)
    # In the page: one area per output, each with its "nothing to rate yet" line, and no bar.
    assert classes(demo).count("review-area") == classes(demo).count("review-empty") == len(demo.renderables) > 10
    assert "review-bar" not in classes(demo)
    draw = demo.renderables[0].fn
    with gr.Blocks() as nothing:
        draw([])  # a run started: its output is gone, and so is the bar
    with gr.Blocks() as drawn:
        draw(["a-record-id"])
    assert "review-bar" not in classes(nothing) and classes(drawn).count("review-bar") == 1
    # every value given, so a bar drawn over the last one keeps nothing of it (Gradio drops Nones)
    values = {type(b).__name__: b.value for b in drawn.blocks.values() if type(b).__name__ in ("Radio", "Dropdown", "Textbox")}
    assert values == {"Radio": None, "Dropdown": [], "Textbox": ""}
    stars = next(b for b in drawn.blocks.values() if type(b).__name__ == "Radio")
    assert stars.key is not None and not stars.preserved_by_key  # keyed: its None is sent, not kept
    # the app does not keep each drawn bar's (empty) file sets for good
    assert all(block.temp_files is not files for block in drawn.blocks.values() if hasattr(block, "temp_files")
               for files in drawn.temp_file_sets)
