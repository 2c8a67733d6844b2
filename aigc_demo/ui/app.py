"""Builds the whole Blocks app from the studio and the scenario files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import gradio as gr
from starlette.middleware import Middleware

from ..core.types import MODALITIES
from ..industries import load_scenarios
from ..scenarios import Scenario
from ..security import LoginGuard
from ..settings import ASSETS_DIR, Settings
from ..studio import Studio
from .arena_tab import ArenaTab
from .chat_tab import ChatScenarioTab
from . import fairness, made_at_launch, read_once, request_path, sessions
from .errors import guard_app
from .fairness import LIGHT_QUEUE_FACTOR
from .i18n import Translator
from .mcp_tools import launch_options
from .page_cache import PageCache
from .model_line import preset_line
from .playground import PlaygroundTabs
from .review_bar import ReviewBars
from .review_tab import RerunTarget, ReviewTab
from .runs import SessionRuns
from .scenario_tab import ScenarioTab
from .share import RunShare
from .system_tab import SystemTab
from .theme import studio_theme

# Gradio's copies of served files (exports, uploads) are deleted this long after they were made,
# checked every tenth of it. Outputs are not copied: they are served from outputs/ (serve_in_place).
CACHE_SECONDS = 3600
_IN_PLACE: set[Path] = set()  # folders given to gr.set_static_paths (one list for the whole process)


def serve_in_place(folder: Path) -> None:
    """Gradio serves the files under ``folder`` where they are, as it serves allowed paths,
    instead of hashing and copying each output into its cache before showing it (measured:
    ~10 ms of server CPU per image request, and a second copy of every output on disk).
    Outputs are never changed once published, which is what Gradio asks of static files."""
    if folder not in _IN_PLACE:
        _IN_PLACE.add(folder)
        gr.set_static_paths([folder])


def _header(studio: Studio, t: Translator) -> None:
    settings = studio.settings
    gr.Markdown(t("app.title"), elem_id="app-title")
    gr.Markdown(t("app.subtitle"))
    t.per_page(gr.Markdown(elem_id="preset-line"), lambda language: preset_line(settings, language))


def build_app(studio: Studio, scenarios: Sequence[Scenario] | None = None) -> gr.Blocks:
    """The Blocks app: industry tabs, playground, system. No model library is imported here."""
    sessions.install()  # Gradio's per-session state without a ~1 MB config copy per session
    read_once.install()  # Gradio reads each function's signature once, not once per block
    serve_in_place(studio.outputs_dir)  # the store's folder, resolved
    with made_at_launch.deferred():  # Gradio's config and app made once, by launch(), not also here
        return _blocks(studio, scenarios)


def _blocks(studio: Studio, scenarios: Sequence[Scenario] | None) -> gr.Blocks:
    scenarios = list(load_scenarios() if scenarios is None else scenarios)
    t = Translator(scenarios, {m: studio.params(m) for m in MODALITIES})
    runs = SessionRuns()
    with gr.Blocks(title="AIGC Industry Studio", analytics_enabled=False,  # retitled per language (ux.js)
                   delete_cache=(CACHE_SECONDS // 10, CACHE_SECONDS)) as demo:
        _header(studio, t)
        share = RunShare(studio, scenarios)
        share.render_banner()
        bars = ReviewBars(studio, t)
        targets: dict[str, RerunTarget] = {}
        with gr.Tabs() as tabs:
            industry_tabs = []
            for scenario in scenarios:
                tab_class = ChatScenarioTab if scenario.chat else ScenarioTab
                industry_tabs.append(tab_class(studio, t, runs, bars, scenario, share=share))
                targets |= industry_tabs[-1].render(tabs)
            targets |= PlaygroundTabs(studio, t, runs, bars).render(tabs)
            compare = ArenaTab(studio, t, runs, scenarios)
            compare.render()
            compare.wire_form_buttons(tabs, industry_tabs)
            review = ReviewTab(studio, t, [s.id for s in scenarios], bars)
            review.render(targets)
            SystemTab(studio, t).render()
        review.register_api()
        compare.register_api()
        share.register_api()
        share.wire_open(demo, targets)  # ?run=<id>, and the forms in the browser's language
        t.install_per_page(demo)  # text written per page in its language (model lines, headers)
    # Gradio's own bound only backs up fairness.FairQueue, which refuses generation earlier
    # (per user, then AIGC_QUEUE_SIZE) and never refuses reviews because generation is busy.
    size = studio.settings.queue_size
    demo.queue(max_size=size + max(64, LIGHT_QUEUE_FACTOR * size), default_concurrency_limit=4)
    demo.fair_queue, demo.disconnect_watch = fairness.install(  # type: ignore[attr-defined]
        demo, runs, size, studio.settings.user_queue_limit)
    demo.i18n_translator = t  # type: ignore[attr-defined]
    request_path.install(demo)  # Gradio's per-request work cut to what a request needs (skips, analytics)
    return guard_app(demo)  # every handler: explained errors as they are, others as a plain message


def launch_kwargs(settings: Settings, demo: gr.Blocks) -> dict[str, Any]:
    """Arguments for ``demo.launch``: theme, CSS and translations go here in Gradio 6."""
    options = launch_options(settings.mcp)  # --mcp: every scenario and generator as an MCP tool
    app_kwargs = options.pop("app_kwargs", {})
    app_kwargs["middleware"] = [Middleware(PageCache), *app_kwargs.get("middleware", [])]  # the page made once
    data = Path(settings.data_dir).expanduser().resolve()  # as the review store resolves it
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "share": settings.share,
        "auth": LoginGuard(settings.auth_users()) if settings.auth else None,  # throttled, constant time
        "i18n": demo.i18n_translator.i18n,  # type: ignore[attr-defined]
        "theme": studio_theme(),  # contrast raised to WCAG AA (ui.theme)
        "css_paths": [ASSETS_DIR / "style.css"],
        "head": f"<script>{(ASSETS_DIR / 'arena_keys.js').read_text(encoding='utf-8')}</script>",  # A/B/T/X, 1-5
        "js": (ASSETS_DIR / "ux.js").read_text(encoding="utf-8"),  # aria-live status, Run brings it into view
        # Only generated outputs may be served; the review database never.
        "allowed_paths": [str(data / "outputs")],
        "blocked_paths": [str(data / "reviews.sqlite3")],
        "max_file_size": int(settings.max_upload_mb * 1_000_000),  # larger uploads are refused, not stored
        "run_history": False,
        "show_error": True,
        "footer_links": ["api", "settings"],
        "app_kwargs": app_kwargs,
        **options,
    }
