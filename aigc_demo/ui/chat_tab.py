"""A scenario shown as a chat (``chat:`` in its YAML): the message box and the conversation
fill two of its fields; its first text task is the reply, streamed into the chat.

The scenario's API endpoint stays the generic one (every field a parameter), so
``/service_reply`` works with no arguments like every other scenario.
"""

from __future__ import annotations

from typing import Any, Iterator

import gradio as gr

from ..industries.service import format_history
from .i18n import scenario_key, tag_choices
from .concurrency import generation_group
from .review_tab import RerunTarget
from .errors import user_errors
from .runs import with_request_args
from .scenario_tab import ScenarioTab


class ChatScenarioTab(ScenarioTab):
    def render(self, outer: gr.Tabs) -> dict[str, RerunTarget]:
        s = self.scenario
        message_field, history_field = s.chat  # type: ignore[misc]
        reply = next(t for t in s.tasks if t.generator == "text")
        with self._tab():
            with gr.Row():
                with gr.Column(scale=1):
                    inputs = [self._render_field(f) for f in s.fields]
                    for component, f in zip(inputs, s.fields):
                        component.visible = f.name not in s.chat  # the chat fills these
                    with gr.Accordion(self.t("ux.more_options"), open=False, elem_classes=["more-options"]):
                        seed = gr.Number(value=-1, label=self.t("ui.seed"), precision=0)
                    panels = self._render_panels()
                with gr.Column(scale=2):
                    if s.disclaimer:
                        gr.Markdown(self.t(scenario_key(s, "disclaimer")), elem_classes=["disclaimer"])
                    chatbot = gr.Chatbot(label=self.t(scenario_key(s, "task", reply.name)), height=420,
                                         elem_id=f"{s.id}-{reply.name}", buttons=["copy"])
                    with gr.Row(elem_classes=["action-bar", "chat-bar"]):  # stays in view (style.css)
                        message = gr.Textbox(show_label=False, scale=5, elem_id=f"{s.id}-message",
                                             value=s.field(message_field).default,
                                             label=self.t(scenario_key(s, "field", message_field)))
                        send = gr.Button(self.t("ui.generate"), variant="primary", scale=1, elem_classes=["run-button"])
                        stop = gr.Button(self.t("ui.stop"), variant="stop", scale=1, elem_classes=["stop-button"])
                    record_ids = gr.State([])
                    self.bars.render(record_ids, tag_choices(self.t, s))
                    status = gr.Markdown(elem_classes=["run-status"], elem_id=f"{s.id}-status")
                    if self.share is not None:
                        link, run_id = self.share.render_row(self.t)
                    reply_box = gr.Textbox(visible=False, elem_id=f"{s.id}-{reply.name}-text")  # the API's output
                    api_button = gr.Button(visible=False)

        # The generic endpoint, every field a parameter (a hidden trigger: the chat drives the UI).
        self._wire(api_button, stop, inputs + [seed], [reply_box, status, record_ids] + panels)
        others = [(f.name, c) for f, c in zip(s.fields, inputs) if f.name not in s.chat]

        @user_errors
        def chat(*args: Any) -> Iterator[tuple[Any, ...]]:
            text, messages, *rest, seed_value, request, progress = args
            values = dict(zip([n for n, _ in others], rest))
            language = values.get(s.language_field.name, "en") if s.language_field else "en"
            values[message_field], values[history_field] = text, format_history(messages or [], language)
            messages = [*(messages or []), {"role": "user", "content": text}, {"role": "assistant", "content": ""}]
            for snapshot in self._stream(values, seed_value, request, progress):
                messages[-1]["content"] = snapshot[0] or "…"
                yield (messages, "", *snapshot[1:])

        chat = with_request_args(chat, ["message", "messages", *[n for n, _ in others], "seed"], f"{s.api_name}_chat")
        event = gr.on([send.click, message.submit], chat, [message, chatbot, *[c for _, c in others], seed],
                      [chatbot, message, status, record_ids] + panels, api_visibility="private",
                      **generation_group(self.studio, [t.generator for t in s.tasks]), show_progress_on=status)
        if self.share is not None:  # the reply's permalink; ?run=<id> shows it in the page's banner
            self.share.after_run(event, [record_ids], link, run_id)
        # Re-running a recorded reply puts its message back in the message box.
        return self._rerun_target(outer, [message if f.name == message_field else c for f, c in zip(s.fields, inputs)] + [seed])
