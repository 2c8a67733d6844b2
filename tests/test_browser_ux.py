"""Browser: the demo as a stakeholder sees it, at 1440x900 and 390x844, in en-US and zh-CN.

Run in view on every industry tab, a live status line after Run, review bars that start over
with each output, a Chinese page with no English, every shown string in the i18n catalogue,
and axe-core finding no serious or critical problem in the app's own markup. Screenshots of
every tab in both locales go to ``test-screenshots/`` (git-ignored) for a person to look at.
One server (the session's tiny-preset app) and one page per locale and window size.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import expect

from aigc_demo.industries import load_scenarios
from aigc_demo.messages import catalogue
from aigc_demo.settings import preset_settings
from aigc_demo.ui.i18n import param_strings, scenario_strings
from aigc_demo.core.params import PARAMS
from aigc_demo.ui.playground import EXAMPLES as PLAYGROUND_EXAMPLES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-screenshots"
WINDOWS = {"desktop": (1440, 900), "phone": (390, 844)}
RUN_TIMEOUT_MS = 120_000
SCENARIOS = list(load_scenarios())
INDUSTRIES = [s for s in SCENARIOS]
OTHER_TABS = {"playground": "tab.playground", "review": "tab.review", "system": "tab.system"}

# Gradio's own words (its widgets, in its own translations): not the app's to translate.
GRADIO_OWN = {
    "en": ["Drop File Here", "- or -", "Click to Upload", "Drop Audio Here", "Drop Video Here", "Drop Image Here",
           "Record", "Upload file", "Clear", "Submit", "Examples", "Use via API", "Built with Gradio", "Settings",
           "Stop recording", "Share", "Download", "Fullscreen", "Copy", "Loading...", "Empty value",
           "Drop CSV or TSV files here to import data into dataframe", "Paste from clipboard", "Upload", "processing"],
    "zh": ["拖放文件到此处", "- 或 -", "点击上传", "拖放音频到此处", "拖放视频到此处", "拖放图像到此处", "点击上传",
           "录制", "清除", "提交", "示例", "通过 API 使用", "使用 Gradio 构建", "设置", "上传", "复制", "下载", "全屏",
           "或", "拖放文件至此", "- 或 -", "通过API使用", "使用Gradio构建", "拖放图片到此处", "拖放图片至此处", "processing",
           "将 CSV 或 TSV 文件拖放到此处以将数据导入数据框"],
}


def _lang(locale: str) -> str:
    return "zh" if locale.startswith("zh") else "en"


def _t(key: str, locale: str) -> str:
    entries = {**catalogue(), **scenario_strings(SCENARIOS)}
    return entries[key][_lang(locale)]


@pytest.fixture(scope="module")
def pages(browser, app_server) -> Iterator[dict]:
    """(locale, window) -> an open page, made on first use and kept for the module."""
    opened: dict = {}
    contexts = []

    def get(locale: str, window: str):
        if (locale, window) not in opened:
            width, height = WINDOWS[window]
            context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.goto(app_server)
            page.locator("#tab-retail-button").wait_for()
            expect(page.locator("#preset-line")).not_to_be_empty()  # the per-page texts have arrived
            contexts.append(context)
            opened[(locale, window)] = page
        return opened[(locale, window)]

    yield get
    for context in contexts:
        context.close()


def select_tab(page, tab_id: str, name: str) -> None:
    """Select a top-level tab, through the "More tabs" menu where the window is too narrow."""
    button = page.locator(f"#tab-{tab_id}-button")
    if button.count() and button.is_visible():
        button.click()
    else:
        page.locator(".overflow-menu > button").first.click()
        page.locator(".overflow-dropdown button", has_text=re.compile(f"^{re.escape(name)}$")).first.click()
    expect(page.locator(f"#tab-{tab_id}")).to_be_visible()
    page.evaluate("() => window.scrollTo(0, 0)")


def all_tabs(locale: str) -> list[tuple[str, str]]:
    return [(s.id, s.tab[_lang(locale)]) for s in SCENARIOS] + [(i, _t(k, locale)) for i, k in OTHER_TABS.items()]


# ---------------------------------------------------------------- Run in view, screenshots


@pytest.mark.parametrize("window", list(WINDOWS))
@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_run_is_in_view_on_every_industry_tab_and_every_tab_is_photographed(pages, locale, window):
    page = pages(locale, window)
    width, height = WINDOWS[window]
    SHOTS.mkdir(exist_ok=True)
    for tab_id, name in all_tabs(locale):
        select_tab(page, tab_id, name)
        page.screenshot(path=str(SHOTS / f"{locale}-{window}-{tab_id}.png"))
        if tab_id in OTHER_TABS:
            continue
        run = page.locator(f"#tab-{tab_id} .run-button").first
        expect(run).to_be_visible()
        box = run.bounding_box()
        assert box and 0 <= box["y"] and box["y"] + box["height"] <= height and box["x"] + box["width"] <= width, \
            f"{tab_id}: Run at {box} is outside the {width}x{height} window"
    assert page.title() == _t("app.title", locale)


# ---------------------------------------------------------------- a run: status, review bar


def _status(page, scenario_id: str):
    return page.locator(f"#{scenario_id}-status")


def _run_and_wait(page, scenario_id: str, locale: str) -> None:
    status = _status(page, scenario_id)
    before = status.inner_text()
    page.locator(f"#tab-{scenario_id} .run-button").first.click()
    # Within 2 s the status is in view and reports the elapsed time: the live line, or (for a
    # run as short as the tiny models make) the new total.
    elapsed = r"· \d+ s|Finished in \d+ s" if locale == "en-US" else r"已用 \d+ 秒|用时 \d+ 秒"
    expect(status).to_be_in_viewport(timeout=2_000)
    expect(status).not_to_have_text(before, timeout=2_000)
    expect(status).to_contain_text(re.compile(elapsed), timeout=2_000)
    finished = "⏱️ Finished in" if locale == "en-US" else "⏱️ 全部完成"
    expect(_status(page, scenario_id)).to_contain_text(finished, timeout=RUN_TIMEOUT_MS)


@pytest.mark.parametrize(("locale", "window", "scenario_id"), [("en-US", "desktop", "medical"), ("zh-CN", "phone", "market")])
def test_a_run_shows_live_status_and_its_review_bar_starts_over_with_each_output(pages, locale, window, scenario_id):
    page = pages(locale, window)
    scenario = next(s for s in SCENARIOS if s.id == scenario_id)
    select_tab(page, scenario_id, scenario.tab[_lang(locale)])
    panel = page.locator(f"#tab-{scenario_id}")
    bar = panel.locator(".review-bar").first
    expect(bar).to_be_hidden()  # nothing to rate yet: the bar waits, a line says why
    expect(panel.locator(".review-empty").first).to_contain_text(_t("ux.review.nothing", locale))

    _run_and_wait(page, scenario_id, locale)
    expect(bar).to_be_visible()
    expect(panel.locator(".review-empty").first).to_be_hidden()  # the line gives way to the bar
    bar.locator(".review-save").click()  # no rating chosen: refused, and said so
    expect(page.get_by_test_id("toast-body").filter(has_text=_t("ux.review.no_rating", locale)).first).to_be_visible()
    bar.locator(".review-stars label").nth(3).click()  # four stars
    bar.locator(".review-save").click()
    saved = "Saved" if locale == "en-US" else "已保存"
    expect(bar.locator(".review-confirmation").first).to_contain_text(saved)

    _run_and_wait(page, scenario_id, locale)  # a new output replaces the rated one
    expect(bar).to_be_visible()
    # The bar's reset is its own event: on a busy shared machine it can take a few seconds to land.
    expect(bar.locator(".review-confirmation").first).to_have_text(re.compile(r"^\s*$"), timeout=20_000)
    expect(bar.locator(".review-stars input:checked")).to_have_count(0)

    if locale == "zh-CN":  # the Chinese page: status with no English words (model names and units apart)
        status = _status(page, scenario_id).inner_text()
        assert re.search(r"[\u4e00-\u9fff]", status) and not _english_words(status), status


def _english_words(text: str) -> list[str]:
    """Latin words of 3+ letters that are not model names (tiny:text, `Qwen/...`) or units."""
    text = re.sub(r"\S*[:/]\S*", " ", text)  # model references and paths
    return [w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in {"AIGC", "JSON", "CSV", "JSONL", "UTC", "MB", "API"}]


def test_the_chinese_page_has_no_english_title_or_table_header(pages, client):
    client.predict(api_name="/service_reply")  # one recorded output, so the review table shows
    page = pages("zh-CN", "desktop")
    assert page.title() == _t("app.title", "zh-CN")
    select_tab(page, "review", _t("tab.review", "zh-CN"))
    table = page.locator("#review-table")
    expect(table).to_be_visible(timeout=30_000)  # earlier runs made outputs
    headers = " ".join(table.locator("thead th, [role=columnheader]").all_inner_texts())
    assert re.search(r"[\u4e00-\u9fff]", headers) and not _english_words(headers), headers
    expect(page.locator("#review-summary")).to_contain_text("输出")
    select_tab(page, "system", _t("tab.system", "zh-CN"))
    tables = page.locator("#system-tables")
    expect(tables).to_contain_text(_t("ux.system.col.model", "zh-CN"))
    headers = " ".join(tables.locator("th").all_inner_texts())
    assert headers and not _english_words(headers), headers


# ---------------------------------------------------------------- every shown string is catalogued


def _norm(text: str) -> str:
    """Text as compared: Markdown marks and repeated spaces out."""
    return re.sub(r"\s+", " ", re.sub(r"[*_`#|>]+", " ", text)).strip()


def _catalogue_fragments(language: str) -> list[str]:
    """Literal pieces of every catalogue string in ``language`` (templates split at {fields})."""
    from aigc_demo.grounding import terms, view

    grounding = {**terms.data()["reasons"], **terms.data()["sources"], "heading": view.HEADING, "more": view.MORE}
    entries = {**catalogue(), **scenario_strings(SCENARIOS), **param_strings(PARAMS), **grounding}
    pieces: set[str] = set()
    for entry in entries.values():
        for piece in re.split(r"\{[a-z_]+\}", entry[language]):
            for line in piece.splitlines():
                line = _norm(line)
                if len(line) >= 2 or re.fullmatch(r"[\u4e00-\u9fff]", line):  # 是/否 are words too
                    pieces.add(line)
    return sorted(pieces, key=len, reverse=True)


def _user_content() -> list[str]:
    """Form defaults and worked examples (content a user would type), and model names."""
    content: set[str] = set()

    def add(value) -> None:
        if isinstance(value, (list, tuple)):
            for item in value:
                add(item)
        elif value is not None:
            content.update(str(value).splitlines())
            content.add(str(value)[:60])  # example labels
            content.update({Path(str(value)).name, Path(str(value)).stem})  # a file's name

    for s in SCENARIOS:
        for f in s.fields:
            add(f.default)
            add([f".{ext}" for ext in f.extensions])
        add(s.example_rows())
    settings = preset_settings("tiny")
    add([*settings.models.values(), settings.preset])
    add([row for rows in PLAYGROUND_EXAMPLES.values() for row in rows])
    return sorted({_norm(c) for c in content if len(_norm(c)) >= 2}, key=len, reverse=True)


def uncatalogued(text: str, language: str) -> list[str]:
    """Lines of ``text`` that still hold words once catalogue strings, user content, Gradio's own
    words, numbers and units are taken out."""
    known = sorted({*_catalogue_fragments(language), *_user_content(), *GRADIO_OWN[language]}, key=len, reverse=True)
    left = []
    for line in text.splitlines():
        rest = _norm(line)
        if rest.endswith("...") and any(k.startswith(rest[:-3].rstrip()) for k in known):
            continue  # Gradio shortens long examples
        # a run's permalink first: a known piece found inside its random id would leave letters behind
        rest = re.sub(r"\?run=\w+", " ", rest)
        for piece in known:
            if piece in rest:
                rest = rest.replace(piece, " ")
        rest = re.sub(r"\S*[:/]\S*", " ", rest)  # model references, paths, times
        words = re.findall(r"[A-Za-z]{2,}|[\u4e00-\u9fff]+", rest)
        words = [w for w in words if w not in {"MB", "UTC", "GB", "KB", "cpu", "cuda", "mps"}]  # units, devices
        if words:
            left.append(line.strip())
    return left


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_every_string_shown_on_every_tab_is_in_the_catalogue(pages, locale):
    page = pages(locale, "desktop")
    missing: dict[str, list[str]] = {}
    for tab_id, name in all_tabs(locale):
        select_tab(page, tab_id, name)
        page.wait_for_timeout(300)
        # Recorded outputs (the Review table: prompts, model text, ids) are content, not the app's words.
        page.evaluate("() => { const t = document.getElementById('review-table'); if (t) t.style.display = 'none'; }")
        text = page.locator(f"#tab-{tab_id}").inner_text()
        page.evaluate("() => { const t = document.getElementById('review-table'); if (t) t.style.display = ''; }")
        if left := uncatalogued(text, _lang(locale)):
            missing[tab_id] = left
    header = page.locator("#app-title").inner_text() + "\n" + page.locator("#preset-line").inner_text()
    if left := uncatalogued(header, _lang(locale)):
        missing["header"] = left
    assert not missing, "\n".join(f"{tab}: {line!r}" for tab, lines in missing.items() for line in lines)


# ---------------------------------------------------------------- accessibility (axe-core)

# Markup that is the app's own: its CSS classes and element ids.
OWN_MARKUP = re.compile(r"run-button|stop-button|action-bar|run-status|model-line|smoke-badge|review-|disclaimer|"
                        r"preset-line|app-title|scenario-title|system-|more-options|panel-note|-status")


def _axe_problems(page) -> tuple[list[str], list[str]]:
    """(the app's own serious/critical violations, those inside Gradio's components)."""
    from axe_playwright_python.sync_playwright import Axe

    own, gradio = [], []
    for violation in Axe().run(page).response["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        for node in violation["nodes"]:
            where = f"{violation['id']}: {node['target']} {node['html'][:120]}"
            # Colours come from the app's theme, so contrast is always the app's to fix.
            ours = violation["id"] == "color-contrast" or OWN_MARKUP.search(node["html"])  # the element itself
            (own if ours else gradio).append(where)
    return own, gradio


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_axe_finds_no_serious_problem_in_the_apps_own_markup(pages, locale):
    page = pages(locale, "phone")
    found: dict[str, list[str]] = {}
    for tab_id, name in all_tabs(locale):
        select_tab(page, tab_id, name)
        # Outputs still loading are dimmed on purpose (Gradio's pending state): check them loaded.
        expect(page.locator(f"#tab-{tab_id} .pending")).to_have_count(0, timeout=30_000)
        page.wait_for_timeout(300)
        own, gradio = _axe_problems(page)
        if own:
            found[tab_id] = own
        for problem in gradio:
            print(f"[gradio] {locale} {tab_id} {problem}")  # listed in the README
    assert not found, found
