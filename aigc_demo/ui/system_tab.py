"""The System tab: the model manager's status and self-check, with load and unload buttons.

Loading and unloading models affects everyone, so it is allowed to logged-in users (--auth), or
without a login only when the app serves this machine alone (a loopback host, no share link).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from aigc_demo.core.types import MODALITIES, StudioError
from ..messages import say
from ..studio import Studio
from .i18n import Translator
from .concurrency import GPU_GROUP
from .errors import user_errors
from .locale import page_language
from .system_view import health_markdown, status_markdown


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class SystemTab:
    def __init__(self, studio: Studio, t: Translator) -> None:
        self.studio = studio
        self.t = t

    def render(self) -> None:
        with gr.Tab(self.t("tab.system"), id="system", elem_id="tab-system"):
            health = self.t.per_page(gr.Markdown(elem_id="system-health"),
                                     lambda language: health_markdown(self.studio.health(), language))
            tables = self.t.per_page(gr.Markdown(elem_id="system-tables"), self._tables)
            with gr.Accordion(self.t("ux.system.raw"), open=False):
                # filled on page load, not while the app is built: the status asks remote servers
                status = self.t.per_page(gr.JSON(label=self.t("ui.system_status"), elem_id="system-status"),
                                         lambda language: self.studio.status())
            with gr.Row():
                modality = gr.Dropdown([(self.t(f"ux.modality.{m}"), m) for m in MODALITIES], value="text",
                                       label=self.t("ui.modality"))
                load = gr.Button(self.t("ui.load"))
                unload = gr.Button(self.t("ui.unload"))
                unload_all = gr.Button(self.t("ui.unload_all"), variant="stop")
                refresh = gr.Button(self.t("ui.refresh"))

        def system_status() -> dict[str, Any]:
            """Preset, models, memory, load counts, and the self-check (``health``)."""
            return self.studio.status()

        @user_errors
        def load_model(modality: str, request: gr.Request) -> dict[str, Any]:
            self.check_may_manage(request)
            self.studio.load(modality)
            return self.studio.status()

        @user_errors
        def unload_model(modality: str, request: gr.Request) -> dict[str, Any]:
            self.check_may_manage(request)
            self.studio.manager.unload(modality)
            return self.studio.status()

        @user_errors
        def unload_everything(request: gr.Request) -> dict[str, Any]:
            self.check_may_manage(request)
            self.studio.manager.unload_all()
            return self.studio.status()

        def readable(request: gr.Request) -> tuple[str, str]:
            language = page_language(request)
            return health_markdown(self.studio.health(), language), self._tables(language)

        for event in (refresh.click(system_status, None, status, api_name="system_status", queue=False),
                      load.click(load_model, modality, status, api_name="load_model", concurrency_id=GPU_GROUP,
                                 concurrency_limit=1),
                      unload.click(unload_model, modality, status, api_name="unload_model"),
                      unload_all.click(unload_everything, None, status, api_name="unload_all")):
            event.then(readable, None, [health, tables], queue=False, api_visibility="private", show_progress="hidden")

    def _tables(self, language: str) -> str:
        return status_markdown(self.studio.status(), self.studio.settings, language)

    def may_manage(self, request: gr.Request | None) -> bool:
        """Whether this caller may load and unload models (see the module docstring)."""
        settings = self.studio.settings
        if settings.auth:
            return bool(getattr(request, "username", None))
        return not settings.share and settings.host in LOCAL_HOSTS

    def check_may_manage(self, request: gr.Request | None) -> None:
        if not self.may_manage(request):
            raise StudioError(say("ux.system.needs_login", page_language(request)))
