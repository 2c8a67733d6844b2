"""Browser: a run's permalink and "Download run"; the link opens the run read-only in a fresh
browser; a bad link explains itself; a Chinese browser gets the Chinese worked example."""

from __future__ import annotations

import re
import zipfile

import pytest
from playwright.sync_api import expect

from conftest import open_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT_MS = 240_000  # a busy shared machine: loading the tiny models can take a minute
LOAD_TIMEOUT_MS = 30_000  # the page's opening values arrive after it renders (a busy 2-core machine)


def test_a_run_gives_a_permalink_and_a_zip_and_the_link_opens_it_read_only(browser, app_server, page, tmp_path):
    page.get_by_role("tab", name="Medical", exact=True).click()
    panel = page.locator("#tab-medical")
    panel.get_by_role("button", name="Run scenario").click()
    link = panel.locator(".permalink a")
    expect(link).to_have_attribute("href", re.compile(r"^\?run=[0-9a-f]{32}$"), timeout=RUN_TIMEOUT_MS)
    href = link.get_attribute("href")
    report = page.locator("#medical-report textarea").input_value()
    assert "clinician" in report.lower()

    panel.locator(".download-run").click()
    zip_link = panel.locator(".run-zip a[download]").first
    expect(zip_link).to_be_visible()
    with page.expect_download() as download:
        zip_link.click()
    path = tmp_path / "run.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert "index.html" in names and "run.json" in names
        audio = [n for n in names if n.endswith(".wav")]
        assert audio and f"{audio[0]}.json" in names
        assert href.removeprefix("?run=") in archive.read("index.html").decode("utf-8")

    # Someone else opens the link: a fresh context (no cookies, another Gradio session).
    context, other = open_page(browser, app_server + href, "en-US")
    try:
        expect(other.locator("#recorded-run")).to_contain_text("Recorded run", timeout=LOAD_TIMEOUT_MS)
        expect(other.get_by_role("tab", name="Medical", exact=True)).to_have_attribute("aria-selected", "true")
        expect(other.locator("#medical-report textarea")).to_have_value(report)
        expect(other.locator("#medical-spoken_summary audio").first).to_be_attached()  # only drawn with a value
        expect(other.locator("#tab-medical").get_by_role("button", name="Run scenario")).to_be_disabled()
        expect(other.locator("#tab-medical .permalink a")).to_have_attribute("href", href)
    finally:
        context.close()


def test_a_bad_run_link_says_why_in_both_languages(browser, app_server):
    context, page = open_page(browser, app_server + "?run=[evil](http://x)", "en-US")
    try:
        banner = page.locator("#recorded-run")
        expect(banner).to_contain_text("is not a run id", timeout=LOAD_TIMEOUT_MS)
        expect(banner).to_contain_text("不是有效的运行编号")
        expect(banner.locator("a")).to_have_count(0)  # the id is shown as text, never as a link
    finally:
        context.close()
    context, page = open_page(browser, app_server + "?run=" + "0" * 32, "en-US")
    try:
        expect(page.locator("#recorded-run")).to_contain_text("No run with id", timeout=LOAD_TIMEOUT_MS)
    finally:
        context.close()


def test_a_chinese_browser_gets_the_chinese_worked_example(browser, app_server):
    context, page = open_page(browser, app_server, "zh-CN")
    try:
        retail = page.locator("#tab-retail")
        expect(retail.get_by_role("textbox", name="商品名称", exact=True)).to_have_value("云朵记忆棉 U 型护颈枕", timeout=LOAD_TIMEOUT_MS)
        expect(retail.get_by_role("radio", name="中文")).to_be_checked()
    finally:
        context.close()
