"""The review bar under every output: thumbs in one click, or stars, reasons and a comment.

Each bar reads the record ids of the output above it from a ``gr.State`` that the output's
handler fills. The reviewer is the login name (with --auth) or the browser session's guest
id, never typed; saving again replaces the same reviewer's earlier review, nobody else's.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import gradio as gr

from aigc_demo.core.types import StudioError
from ..grounding.view import flags_markdown
from ..record import normalize_rating
from ..record.models import MAX_COMMENT_CHARS
from ..studio import Studio
from .i18n import Translator
from .runs import reviewer_id

# (label, value) reason tags offered when a scenario has none of its own.
DEFAULT_TAGS: list[tuple[str, str]] = [
    ("Great · 很好", "great"),
    ("Factual error · 事实错误", "factual error"),
    ("Off-brand · 不符合品牌", "off-brand"),
    ("Compliance risk · 合规风险", "compliance risk"),
    ("Unsafe · 不安全", "unsafe"),
    ("Low quality · 质量差", "low quality"),
]


class ReviewBars:
    """Renders review bars; all of them share one way to save."""

    def __init__(self, studio: Studio, t: Translator) -> None:
        self.studio = studio
        self.t = t

    def render(self, record_ids: gr.State, tags: Sequence[tuple[str, str]] | None = None) -> None:
        with gr.Group(elem_classes=["review-bar"]):
            with gr.Row(equal_height=True):
                up = gr.Button("👍", size="sm", min_width=44, scale=0, elem_classes=["thumbs-up"])
                down = gr.Button("👎", size="sm", min_width=44, scale=0, elem_classes=["thumbs-down"])
                stars = gr.Radio([1, 2, 3, 4, 5], show_label=False, scale=3, min_width=260, elem_classes=["review-stars"])
                reasons = gr.Dropdown(list(tags or DEFAULT_TAGS), multiselect=True, show_label=False, scale=3,
                                      info=None, elem_classes=["review-tags"])
                save = gr.Button(self.t("review.save"), size="sm", scale=1, min_width=100, elem_classes=["review-save"])
            with gr.Accordion(self.t("review.comment"), open=False):
                comment = gr.Textbox(label=self.t("review.comment"), max_length=MAX_COMMENT_CHARS)
            confirmation = gr.Markdown(elem_classes=["review-confirmation"])
            checks = gr.Markdown(visible=False, elem_classes=["review-checks"])
        record_ids.change(self.checks, record_ids, checks, queue=False, show_progress="hidden", api_visibility="private")
        fields = [record_ids, reasons, comment]
        up.click(self._thumbs("up"), fields, [confirmation, stars], queue=False, api_visibility="private")
        down.click(self._thumbs("down"), fields, [confirmation, stars], queue=False, api_visibility="private")
        save.click(self.save, [stars, *fields], [confirmation, stars], queue=False, api_visibility="private")

    def checks(self, record_ids: list[str] | None) -> Any:
        """The grounding flags stored with the output's records; hidden when there are none."""
        flags = [flag for record_id in record_ids or []
                 if (record := self.studio.store.get_record(record_id)) is not None for flag in record.checks]
        text = flags_markdown(flags)
        return gr.update(value=text, visible=bool(text))

    def _thumbs(self, rating: str) -> Callable[..., tuple[str, Any]]:
        def save(record_ids: list[str] | None, tags: list[str] | None, comment: str, request: gr.Request) -> tuple[str, Any]:
            return self.save(rating, record_ids, tags, comment, request)

        return save

    def save(self, rating: Any, record_ids: list[str] | None, tags: list[str] | None, comment: str,
             request: gr.Request) -> tuple[str, Any]:
        """Attach (or replace) the caller's review on every record of the output."""
        if not record_ids:
            gr.Warning("Nothing to review yet: generate an output first.", title="Review")
            return gr.skip(), gr.skip()
        if rating in (None, ""):
            gr.Warning("Choose 1-5 stars, or click 👍 / 👎.", title="Review")
            return gr.skip(), gr.skip()
        try:
            stars = normalize_rating(rating)  # 👍 = 5, 👎 = 1
            reviewer = reviewer_id(request, bool(self.studio.settings.auth))
            for record_id in record_ids:
                review = self.studio.store.submit_review(record_id, stars, tags or [], comment or "", reviewer)
        except StudioError as error:
            raise gr.Error(str(error), title="Review", print_exception=False) from error
        who = f" as {review.reviewer}"
        shown = {"up": "👍", "down": "👎"}.get(rating, "★" * int(stars))
        return f"✅ Saved {shown}{who} for {len(record_ids)} output(s) at {review.updated_at[11:19]} UTC - edit and save again to change it.", int(stars)
