"""English and Chinese UI text through ``gr.I18n``; the browser's language picks one."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping

import gradio as gr

from ..core.params import PARAMS, Params
from ..core.text import LANGUAGES
from ..messages import catalogue
from ..scenarios import Scenario


@lru_cache(maxsize=1)
def ui_strings() -> dict[str, dict[str, str]]:
    return catalogue()  # the one catalogue, read once (aigc_demo.messages)


def scenario_key(scenario: Scenario, *parts: str) -> str:
    return ".".join(("scn", scenario.id, *parts))


def scenario_strings(scenarios: Iterable[Scenario]) -> dict[str, dict[str, str]]:
    """Translation entries for every scenario title, field label and task title."""
    strings: dict[str, dict[str, str]] = {}
    for s in scenarios:
        strings[scenario_key(s, "title")] = dict(s.title)
        strings[scenario_key(s, "tab")] = dict(s.tab)
        strings[scenario_key(s, "description")] = dict(s.description)
        if s.disclaimer:
            strings[scenario_key(s, "disclaimer")] = dict(s.disclaimer)
        for f in s.fields:
            strings[scenario_key(s, "field", f.name)] = dict(f.label)
            if f.info:
                strings[scenario_key(s, "info", f.name)] = dict(f.info)
        for t in s.tasks:
            strings[scenario_key(s, "task", t.name)] = dict(t.title)
        for f in s.fields:
            for column in f.columns:
                strings[scenario_key(s, "column", f.name, column.name)] = dict(column.label)
            for c in f.choices:
                strings[scenario_key(s, "choice", f.name, str(c.value))] = dict(c.label)
        for tag in s.review_tags:
            strings[scenario_key(s, "tag", tag.value)] = dict(tag.label)
        for source, panels in s.panels():
            for i, spec in enumerate(panels.specs):
                strings[panel_key(s, source, i)] = dict(spec.title)
    return strings


def panel_key(scenario: Scenario, source: str, index: int) -> str:
    return scenario_key(scenario, "panel", source, str(index))


# Reason tags offered when a scenario has none of its own: (catalogue key, stored value).
DEFAULT_TAGS: tuple[tuple[str, str], ...] = (
    ("ux.tag.great", "great"),
    ("ux.tag.factual_error", "factual error"),
    ("ux.tag.off_brand", "off-brand"),
    ("ux.tag.compliance_risk", "compliance risk"),
    ("ux.tag.unsafe", "unsafe"),
    ("ux.tag.low_quality", "low quality"),
)


def tag_choices(t: "Translator", scenario: Scenario | None = None) -> list[tuple[Any, str]]:
    """(translated label, value) reason tags of ``scenario``, or the default ones."""
    if scenario is not None and scenario.review_tags:
        return [(t(scenario_key(scenario, "tag", tag.value)), tag.value) for tag in scenario.review_tags]
    return [(t(key), value) for key, value in DEFAULT_TAGS]


def param_key(modality: str, name: str, *parts: str) -> str:
    return ".".join(("param", modality, name, *parts))


def param_strings(params: Mapping[str, Params]) -> dict[str, dict[str, str]]:
    """Translation entries for every parameter's label and help text."""
    strings: dict[str, dict[str, str]] = {}
    for modality, declared in params.items():
        for name, param in declared.items():
            strings[param_key(modality, name)] = dict(param.label)
            if param.help:
                strings[param_key(modality, name, "help")] = dict(param.help)
    return strings


class Translator:
    """Holds the gr.I18n object and hands out translation keys."""

    def __init__(self, scenarios: Iterable[Scenario] = (), params: Mapping[str, Params] = PARAMS) -> None:
        entries = {**ui_strings(), **scenario_strings(scenarios), **param_strings(params)}
        self.i18n = gr.I18n(**{lang: {k: v[lang] for k, v in entries.items()} for lang in LANGUAGES})
        self._keys = set(entries)
        self._entries = entries
        self._per_page: list[tuple[gr.Component, Callable[[str], Any]]] = []

    def text(self, key: str, language: str) -> str:
        """The string ``key`` in ``language`` (for text written at run time); the key if unknown."""
        entry = self._entries.get(key)
        return entry[language] if entry else key

    def per_page(self, component: gr.Component, value: Callable[[str], Any]) -> gr.Component:
        """Fill ``component`` on each page load with ``value(language)``: for text written at run
        time (model lines, table headers) that ``gr.I18n`` keys cannot hold."""
        self._per_page.append((component, value))
        return component

    def install_per_page(self, demo: gr.Blocks) -> None:
        """One load event for every :meth:`per_page` component (call inside ``demo``)."""
        from .locale import page_language

        pairs = list(self._per_page)

        def fill(request: gr.Request) -> list[Any]:
            language = page_language(request)
            return [value(language) for _, value in pairs]

        if pairs:
            demo.load(fill, None, [c for c, _ in pairs], queue=False, api_visibility="private", show_progress="hidden")

    def __call__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(f"no UI string {key!r}")
        return self.i18n(key)
