"""English and Chinese UI text through ``gr.I18n``; the browser's language picks one."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable, Mapping

import gradio as gr
import yaml

from ..core.params import PARAMS, Params
from ..core.text import LANGUAGES
from ..scenarios import Scenario
from ..settings import ASSETS_DIR


@lru_cache(maxsize=1)
def ui_strings() -> dict[str, dict[str, str]]:
    return yaml.safe_load((ASSETS_DIR / "i18n.yaml").read_text(encoding="utf-8"))


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
    return strings


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

    def __call__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(f"no UI string {key!r}")
        return self.i18n(key)
