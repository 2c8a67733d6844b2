"""The System tab as a person reads it: the self-check, the models (with licences and what is
loaded) and the settings, as tables in the page's language. The JSON stays for developers."""

from __future__ import annotations

from typing import Any, Mapping

from aigc_demo.core.types import MODALITIES
from ..messages import say
from ..settings import Settings
from .model_line import model_cell


def health_markdown(health: Mapping[str, Any], language: str) -> str:
    """The self-check in one line, and each quarantined row (so the operator sees it)."""
    if health["ok"]:
        head = say("ux.system.health_ok", language)
    else:
        failed = "; ".join(f"{name}: {c['detail']}" for name, c in health["checks"].items() if not c["ok"])
        head = say("ux.system.health_bad", language, problems=failed)
    rows = [f"- {say('ux.system.quarantined', language, kind=q['kind'], key=q['key'], reason=q['reason'], at=q['quarantined_at'][:19])}"
            for q in health["quarantined"]]
    return "\n".join([head, *rows])


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def status_markdown(status: Mapping[str, Any], settings: Settings, language: str) -> str:
    """Models and settings as two Markdown tables."""
    col = lambda name: say(f"ux.system.col.{name}", language)  # noqa: E731
    yes, no = say("ux.yes", language), say("ux.no", language)
    loaded = {entry["key"]: entry for entry in status.get("loaded", [])}
    lines = [f"### {say('ux.system.models', language)}", "",
             _row([col("modality"), col("model"), col("loaded"), col("device"), col("size"), col("loads")]),
             _row(["---"] * 6)]
    for m in MODALITIES:
        entry = loaded.get(m)
        lines.append(_row([say(f"ux.modality.{m}", language), model_cell(settings, m, language),
                           yes if entry else no, entry["device"] if entry else "–",
                           entry["size_mb"] if entry else "–", status.get("load_count", {}).get(m, 0)]))
    lines += ["", f"### {say('ux.system.settings', language)}", "", _row([col("setting"), col("value")]), _row(["---"] * 2),
              _row([say("ux.preset", language), f"`{status['preset']}`"]),
              _row([col("device"), status["device"] if loaded else say("ux.system.no_device", language)]),
              _row([col("size"), f"{status['used_mb']} / {status['budget_mb'] or '–'}"])]
    lines += [f"\nℹ️ {note}" for note in status.get("notes", [])]
    return "\n".join(lines)
