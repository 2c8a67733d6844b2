"""Browser: generate in a scenario tab, rate it, see the rating in the Review tab, download the export."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT_MS = 90_000


def test_rate_a_scenario_output_then_find_it_in_review_and_export(page, tmp_path):
    page.get_by_role("tab", name="Medical", exact=True).click()
    panel = page.locator("#tab-medical")
    panel.get_by_role("button", name="Run scenario").click()
    status = panel.locator(".run-status").first
    expect(status).to_contain_text("⏱️ Finished", timeout=RUN_TIMEOUT_MS)
    report = page.locator("#medical-report textarea")
    expect(report).to_have_value(re.compile(r"clinician", re.IGNORECASE))

    # One click: thumbs down on the report (the first review bar of the tab), with a reason.
    bar = panel.locator(".review-bar").first
    bar.locator(".thumbs-down").click()
    expect(panel.locator(".review-confirmation").first).to_contain_text("Saved")

    page.get_by_role("tab", name="Review", exact=True).click()
    table = page.locator("#review-table")
    row = table.get_by_role("row").filter(has=page.get_by_role("gridcell", name="Report draft", exact=True)).first
    expect(row).to_be_visible()  # tasks and industries by their titles, not ids
    expect(row.get_by_role("gridcell", name="Medical", exact=True)).to_be_visible()
    expect(row.get_by_role("gridcell", name="1", exact=True)).to_be_visible()  # the thumbs-down rating

    # Re-run exactly: select the output, and the Medical tab comes back with the recorded form.
    recorded_seed = row.get_by_role("gridcell").nth(5).inner_text().strip()  # the seed column
    row.get_by_role("gridcell", name="Report draft", exact=True).click()
    expect(page.locator("#review-selected textarea, #review-selected input").first).to_have_value(re.compile(r"^[0-9a-f]{32}$"))
    page.locator("#review-rerun").click()
    expect(page.get_by_test_id("toast-body").filter(has_text="Re-running").first).to_be_visible()
    expect(page.get_by_role("tab", name="Medical", exact=True)).to_have_attribute("aria-selected", "true")
    expect(status).to_contain_text("⏳", timeout=RUN_TIMEOUT_MS)  # and it runs
    panel.locator(".more-options").get_by_text("More options").first.click()  # the seed is folded there
    seed = panel.get_by_label("Seed (-1 = random)")
    expect(seed).to_have_value(recorded_seed)
    page.get_by_role("tab", name="Review", exact=True).click()

    page.locator("#review-export").click()
    link = page.locator('#review-export-files a[download][href$=".jsonl"]').first
    expect(link).to_be_visible()
    with page.expect_download() as download_info:
        link.click()
    path = tmp_path / "export.jsonl"
    download_info.value.save_as(path)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rated = [r for r in records if r["scenario"] == "medical" and r["task"] == "report" and r["reviews"]]
    assert rated and rated[-1]["reviews"][0]["rating"] == 1
