"""The review bar under every output: thumbs in one click, or stars, reasons and a comment.

Each bar belongs to the output above it: it reads the output's record ids from a ``gr.State``
that the output's handler fills, stays hidden (with a line saying why) until there is an output,
and starts empty again whenever a new output replaces the old one. Every save or refusal says so
in a toast, in the page's language. The reviewer is the login name (with --auth) or the browser
session's guest id, never typed; saving again replaces the same reviewer's earlier review only.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import gradio as gr

from aigc_demo.core.types import StudioError
from ..grounding.view import flags_markdown
from ..messages import say
from ..record import normalize_rating
from ..record.models import MAX_COMMENT_CHARS
from ..studio import Studio
from .i18n import Translator, tag_choices
from .locale import page_language, toast
from .concurrency import LIGHT_GROUP
from .runs import reviewer_id

STAR_CHOICES = [("★", 1), ("★★", 2), ("★★★", 3), ("★★★★", 4), ("★★★★★", 5)]


class ReviewBars:
    """Renders review bars; all of them share one way to save."""

    def __init__(self, studio: Studio, t: Translator) -> None:
        self.studio = studio
        self.t = t

    def render(self, record_ids: gr.State, tags: Sequence[tuple[Any, str]] | None = None,
               hidden_until_output: bool = True) -> None:
        t = self.t
        empty = gr.Markdown(t("ux.review.nothing"), elem_classes=["review-empty"], visible=hidden_until_output)
        with gr.Group(elem_classes=["review-bar"], visible=not hidden_until_output) as bar:
            with gr.Row(equal_height=True):
                up = gr.Button(t("ux.review.up"), size="sm", min_width=80, scale=0, elem_classes=["thumbs-up"])
                down = gr.Button(t("ux.review.down"), size="sm", min_width=80, scale=0, elem_classes=["thumbs-down"])
                stars = gr.Radio(STAR_CHOICES, label=t("ux.review.stars"), show_label=True, scale=3, min_width=260,
                                 elem_classes=["review-stars"])
                reasons = gr.Dropdown(list(tags or tag_choices(t)), multiselect=True, label=t("review.tags"),
                                      show_label=True, scale=3, elem_classes=["review-tags"])
                save = gr.Button(t("review.save"), size="sm", scale=1, min_width=100, elem_classes=["review-save"])
            with gr.Accordion(t("review.comment"), open=False):
                comment = gr.Textbox(label=t("review.comment"), max_length=MAX_COMMENT_CHARS)
            confirmation = gr.Markdown(elem_classes=["review-confirmation"])
            checks = gr.Markdown(visible=False, elem_classes=["review-checks"])
        fields = [record_ids, reasons, comment]
        # Queued (toasts need the queue) in the light group: never behind a generation.
        light = {"api_visibility": "private", "concurrency_id": LIGHT_GROUP, "concurrency_limit": 4}
        up.click(self._thumbs("up"), fields, [confirmation, stars], **light)
        down.click(self._thumbs("down"), fields, [confirmation, stars], **light)
        save.click(self.save, [stars, *fields], [confirmation, stars], **light)
        # A new output (or none, when a run starts): the bar starts over, shown only with an output,
        # with the output's grounding flags (one event for both: every event costs each page).
        record_ids.change(self.start_over, record_ids, [bar, empty, stars, reasons, comment, confirmation, checks],
                          queue=False, api_visibility="private", show_progress="hidden")

    @staticmethod
    def reset(record_ids: list[str] | None) -> tuple[Any, ...]:
        shown = bool(record_ids)
        return gr.update(visible=shown), gr.update(visible=not shown), None, [], "", ""

    def start_over(self, record_ids: list[str] | None, request: gr.Request) -> tuple[Any, ...]:
        """The bar for a new output: :meth:`reset`, then :meth:`checks` in the page's language."""
        return (*self.reset(record_ids), self.checks(record_ids, page_language(request)))

    def checks(self, record_ids: list[str] | None, language: str | None = None) -> Any:
        """The grounding flags stored with the output's records; hidden when there are none."""
        flags = [flag for record_id in record_ids or []
                 if (record := self.studio.store.get_record(record_id)) is not None for flag in record.checks]
        text = flags_markdown(flags, language)
        return gr.update(value=text, visible=bool(text))

    def _thumbs(self, rating: str) -> Callable[..., tuple[str, Any]]:
        def save(record_ids: list[str] | None, tags: list[str] | None, comment: str, request: gr.Request) -> tuple[str, Any]:
            return self.save(rating, record_ids, tags, comment, request)

        return save

    def save(self, rating: Any, record_ids: list[str] | None, tags: list[str] | None, comment: str,
             request: gr.Request) -> tuple[str, Any]:
        """Attach (or replace) the caller's review on every record of the output."""
        language = page_language(request)
        if not record_ids:
            toast("warning", "ux.review.no_output", language)
            return gr.skip(), gr.skip()
        if rating in (None, ""):
            toast("warning", "ux.review.no_rating", language)
            return gr.skip(), gr.skip()
        try:
            stars = normalize_rating(rating)  # 👍 = 5, 👎 = 1
            reviewer = reviewer_id(request, bool(self.studio.settings.auth))
            for record_id in record_ids:
                review = self.studio.store.submit_review(record_id, stars, tags or [], comment or "", reviewer)
        except StudioError as error:
            raise gr.Error(say("ux.review.failed", language, error=error), title=say("ux.review.toast_title", language),
                           print_exception=False) from error
        shown = {"up": "👍", "down": "👎"}.get(rating, "★" * int(stars))
        message = say("ux.review.saved", language, shown=shown, reviewer=review.reviewer, count=len(record_ids),
                      time=review.updated_at[11:19])
        gr.Info(message, title=say("ux.review.toast_title", language))
        return message, int(stars)
