"""Browser: a reviewer runs a blind comparison on Medical (in English from the Medical tab's
"Compare this form" button, in Chinese from the Compare tab's industry list), votes with the
keyboard, rates the next queued output with a digit key, and sees the leaderboard change."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conftest import open_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT_MS = 120_000
TEXTS = {
    "en-US": {"tab": "Compare", "medical": "Medical · 医疗", "run": "Run comparison", "votes": "Votes:",
              "saved": "Vote saved", "revealed": "Revealed", "rated": "Saved ★★★★ as", "next": "Next unrated output",
              "key": "b"},
    "zh-CN": {"tab": "对比", "medical": "Medical · 医疗", "run": "运行对比", "votes": "投票数：",
              "saved": "已保存投票", "revealed": "揭晓", "rated": "已保存 ★★★★", "next": "下一个未评分输出",
              "key": "t"},
}


def _votes(page, label: str) -> int:
    text = page.locator("#arena-verdicts").inner_text()
    found = re.search(re.escape(label.rstrip(":：")) + r"\s*[:：]\s*(\d+)", text)
    assert found, text
    return int(found.group(1))


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_compare_on_medical_vote_by_keyboard_and_see_the_leaderboard_change(browser, app_server, locale):
    words = TEXTS[locale]
    context, page = open_page(browser, app_server, locale)
    try:
        page.get_by_role("tab", name=words["tab"], exact=True).click()
        expect(page.locator("#arena-verdicts")).to_contain_text(words["votes"].rstrip(":："))
        before = _votes(page, words["votes"])

        if locale == "en-US":  # from the Medical tab: its form travels to the Compare tab
            page.get_by_role("tab", name="Medical", exact=True).click()
            page.locator("#tab-medical").get_by_role("button", name="Compare this form (A/B)").click()
            expect(page.get_by_role("tab", name=words["tab"], exact=True)).to_have_attribute("aria-selected", "true")
            expect(page.locator("#arena-form textarea")).to_have_value(re.compile(r'"exam_type"'))
        else:  # in the Compare tab: pick the industry
            page.locator("#arena-industry input").click()
            page.get_by_role("option", name=words["medical"]).click()
        expect(page.locator("#arena-industry input")).to_have_value(words["medical"])
        page.get_by_role("button", name=words["run"]).click()
        expect(page.locator("#arena-comparison textarea, #arena-comparison input").first).to_have_value(
            re.compile(r"^[0-9a-f]{32}$"), timeout=RUN_TIMEOUT_MS)
        for side in ("a", "b"):
            expect(page.locator(f"#arena-output-{side} textarea")).to_have_value(re.compile(r"clinician", re.I))
        expect(page.locator("#arena-output-a")).not_to_contain_text("seed")

        page.evaluate("document.activeElement && document.activeElement.blur()")  # keys act outside fields
        page.keyboard.press(words["key"])
        result = page.locator("#arena-vote-result")
        expect(result).to_contain_text(words["saved"])
        expect(result).to_contain_text(words["revealed"])
        expect(result).to_contain_text("seed=1")  # revealed only now
        expect(page.locator("#arena-verdicts")).to_contain_text(str(before + 1))
        assert _votes(page, words["votes"]) == before + 1

        # The queue: the next unrated output, rated 4 with the "4" key.
        page.get_by_role("button", name=words["next"]).click()
        expect(page.locator("#arena-queued textarea, #arena-queued input").first).to_have_value(re.compile(r"^[0-9a-f]{32}$"))
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.keyboard.press("4")
        expect(page.locator("#arena-rate-result")).to_contain_text(words["rated"])
    finally:
        context.close()
