"""The review bar under every output: thumbs in one click, or stars, reasons and a comment.

Each bar belongs to the output above it: it reads the output's record ids from a ``gr.State``
that the output's handler fills, is drawn only once there is an output (a line says why until
then), and is drawn anew, empty, whenever a new output replaces the old one. Every save or
refusal says so in a toast, in the page's language. The reviewer is the login name (with --auth)
or the browser session's guest id, never typed; saving again replaces the same reviewer's earlier
review only.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Sequence

import gradio as gr
from gradio.context import LocalContext, get_blocks_context

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


_file_sets_lock = threading.Lock()


def _forget_file_sets(*components: gr.components.Component) -> None:
    """Drop drawn components' file sets from the app's list of them (``temp_file_sets``), where
    Gradio adds them for good: ~1.7 kB per bar drawn, for the life of the process. A bar's
    components hold no file; Gradio's own workflow API drops the sets of what it removes the same way."""
    drawn = {id(component.temp_files) for component in components}
    root = get_blocks_context().root_block
    with _file_sets_lock:
        root.temp_file_sets[:] = [files for files in root.temp_file_sets if id(files) not in drawn]


class ReviewBars:
    """Renders review bars; all of them share one way to save."""

    def __init__(self, studio: Studio, t: Translator) -> None:
        self.studio = studio
        self.t = t

    def render(self, record_ids: gr.State, tags: Sequence[tuple[Any, str]] | None = None) -> None:
        """A line saying there is nothing to rate yet, and the bar, drawn only for an output.

        The bar is drawn anew (``gr.render``) whenever ``record_ids`` changes: fresh, with the
        output's grounding flags, or not at all while there is no output (the line shows then,
        by CSS: ``.review-area:has(.review-bar)`` hides it). Nothing of it exists in the page
        before an output, so the app starts, and serves its page, without ~20 bars' worth of
        blocks and events."""
        with gr.Column(elem_classes=["review-area"]):
            gr.Markdown(self.t("ux.review.nothing"), elem_classes=["review-empty"])

            # Unqueued, as a quick redraw should be: never behind a generation.
            @gr.render(inputs=record_ids, triggers=[record_ids.change], queue=False, show_progress="hidden")
            def bar(ids: list[str] | None) -> None:
                if ids:
                    self._bar(record_ids, ids, tags)

    def _bar(self, record_ids: gr.State, ids: list[str], tags: Sequence[tuple[Any, str]] | None) -> None:
        t = self.t
        # A bar drawn over the last one reuses its page components, and Gradio leaves a None out of
        # a drawn component's config: so every value is given, and the stars (empty = None) are
        # keyed, the one way Gradio sends a None, with nothing kept from the last bar.
        with gr.Group(elem_classes=["review-bar"]):
            with gr.Row(equal_height=True):
                up = gr.Button(t("ux.review.up"), size="sm", min_width=80, scale=0, elem_classes=["thumbs-up"])
                down = gr.Button(t("ux.review.down"), size="sm", min_width=80, scale=0, elem_classes=["thumbs-down"])
                stars = gr.Radio(STAR_CHOICES, value=None, label=t("ux.review.stars"), show_label=True, scale=3,
                                 min_width=260, elem_classes=["review-stars"], key="stars", preserved_by_key=None)
                reasons = gr.Dropdown(list(tags or tag_choices(t)), value=[], multiselect=True, label=t("review.tags"),
                                      show_label=True, scale=3, elem_classes=["review-tags"])
                save = gr.Button(t("review.save"), size="sm", scale=1, min_width=100, elem_classes=["review-save"])
            with gr.Accordion(t("review.comment"), open=False):
                comment = gr.Textbox("", label=t("review.comment"), max_length=MAX_COMMENT_CHARS)
            confirmation = gr.Markdown("", elem_classes=["review-confirmation"])
            checks = gr.Markdown(elem_classes=["review-checks"],
                                 **self.checks(ids, page_language(LocalContext.request.get(None))))
        _forget_file_sets(up, down, stars, reasons, save, comment, confirmation, checks)
        fields = [record_ids, reasons, comment]
        # Queued (toasts need the queue) in the light group: never behind a generation.
        light = {"api_visibility": "private", "concurrency_id": LIGHT_GROUP, "concurrency_limit": 4}
        up.click(self._thumbs("up"), fields, [confirmation, stars], **light)
        down.click(self._thumbs("down"), fields, [confirmation, stars], **light)
        save.click(self.save, [stars, *fields], [confirmation, stars], **light)

    def checks(self, record_ids: list[str] | None, language: str | None = None) -> dict[str, Any]:
        """The grounding flags stored with the output's records (``value``), and whether there are
        any (``visible``)."""
        flags = [flag for record_id in record_ids or []
                 if (record := self.studio.store.get_record(record_id)) is not None for flag in record.checks]
        text = flags_markdown(flags, language)
        return {"value": text, "visible": bool(text)}

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
