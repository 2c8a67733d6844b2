"""Browser: the grounding flags of an output are listed under its review bar, in both languages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT_MS = 90_000


def test_a_reply_to_a_question_the_faq_does_not_cover_shows_what_to_check(page):
    page.get_by_role("tab", name="Service", exact=True).click()
    panel = page.locator("#tab-service")
    checks = panel.locator(".review-checks").first
    expect(checks).to_be_hidden()  # nothing to check before there is an output
    page.locator("#service-message textarea").fill("Do you have a shop in Paris where I can try the headphones?")
    panel.locator(".more-options").get_by_text("More options").first.click()  # the seed is folded there
    panel.get_by_label("Seed (-1 = random)").fill("1")
    panel.get_by_role("button", name="Generate").click()
    expect(panel.locator(".run-status").first).to_contain_text("Finished in", timeout=RUN_TIMEOUT_MS)
    # The tiny model's noise neither answers from the FAQ nor hands the customer over.
    expect(checks).to_be_visible(timeout=20_000)
    expect(checks).to_contain_text("Check before approving")
    expect(checks).to_contain_text("does not hand it over to a person")
    expect(checks).not_to_contain_text("转交人工")  # in the page's language only
