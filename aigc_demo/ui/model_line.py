"""Which model makes each output, under which licence, and a plain badge for smoke-test models
(random weights: their output is noise). Written per page, in the page's language."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence


from aigc_demo import backends
from aigc_demo.core.files import ASSETS_DIR
from aigc_demo.core.yaml_io import safe_load
from ..messages import say
from ..scenarios import Scenario
from ..security import redact
from ..settings import Settings


@lru_cache(maxsize=1)
def known_licences() -> dict[str, str]:
    return safe_load((ASSETS_DIR / "model_licences.yaml").read_text(encoding="utf-8")) or {}


def licence(settings: Settings, modality: str, language: str) -> str:
    """The licence of the model ``settings`` picks for ``modality``, in words."""
    ref = settings.model_for(modality)
    if not ref:
        return ""
    if settings.smoke_test(modality):
        return say("ux.models.licence_none", language)
    try:
        name = backends.parse_ref(modality, ref).name
        own = backends.create(modality, ref).license  # a shipped model knows its own
    except Exception:  # an unknown backend or a missing optional package: say what we know
        name, own = ref, ""
    return own or known_licences().get(name, "") or say("ux.models.licence_unknown", language)


def model_cell(settings: Settings, modality: str, language: str) -> str:
    """"`model` (licence: ...)" plus the smoke-test badge, or "not available"."""
    ref = settings.model_for(modality)
    if not ref:  # the preset's reason, where it gives one (e.g. video needs a GPU)
        reason = settings.unavailable.get(modality)
        return say("ux.models.unavailable", language) + (f" ({reason})" if reason else "")
    text = f"`{redact(ref)}` ({say('ux.models.licence', language)}: {licence(settings, modality, language)})"
    if settings.smoke_test(modality):
        text += f' <span class="smoke-badge">{say("ux.models.smoke", language)}</span>'
    return text


def models_markdown(settings: Settings, outputs: Sequence[tuple[str, str]], language: str) -> str:
    """One line per (output title, modality), and what the badge means when one shows."""
    lines = [f"**{say('ux.models.title', language)}**"]
    lines += [f"- {title}: {model_cell(settings, modality, language)}" for title, modality in outputs]
    if any(settings.smoke_test(m) for _, m in outputs):
        lines.append(f"\n{say('ux.models.smoke_hint', language)}")
    return "\n".join(lines)


def scenario_outputs(scenario: Scenario, language: str) -> list[tuple[str, str]]:
    return [(task.title(language), task.generator) for task in scenario.tasks]


def preset_line(settings: Settings, language: str) -> str:
    """The preset in use and the notes that came with choosing it."""
    return "\n\n".join([f"**{say('ux.preset', language)}:** `{settings.preset}`", *[f"ℹ️ {n}" for n in settings.notes]])
