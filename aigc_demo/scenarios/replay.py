"""A recorded run seen again: its state rebuilt from the records (for a permalink), its words for
the run's summary page, and a scenario's worked example in one language (the form's default).

Nothing is generated here: outputs come from the records, panels from the same code that drew
them (pre-steps on the recorded form, parsers on the recorded text).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aigc_demo.core.text import lang
from aigc_demo.core.types import GenerationResult, StudioError
from aigc_demo.record.bundle import RunText
from aigc_demo.record.models import OutputRecord

from .fields import display_value
from .model import Scenario
from .runner import ScenarioState

SEED_LABEL = {"en": "Seed", "zh": "随机种子"}


def recorded_form(scenario: Scenario, records: Sequence[OutputRecord]) -> dict[str, Any]:
    """The form the run started from: each field's recorded value (the run's first record)."""
    inputs = records[0].inputs if records else {}
    return {f.name: inputs[f.name] for f in scenario.fields if f.name in inputs}


def run_language(scenario: Scenario, records: Sequence[OutputRecord]) -> str:
    field = scenario.language_field
    return lang(recorded_form(scenario, records).get(field.name)) if field else "en"


def recorded_state(scenario: Scenario, records: Sequence[OutputRecord]) -> ScenarioState:
    """The state the run ended in, from its records (in the order they were made)."""
    state = ScenarioState(language=run_language(scenario, records), done=True)
    state.run_id = records[0].run_id if records else state.run_id
    tasks = {t.name for t in scenario.tasks}
    for record in records:
        if record.task not in tasks:
            continue
        result = GenerationResult(record.modality, record.model_ref, record.seed or 0, dict(record.params),
                                  text=record.output_text, files=[Path(p) for p in record.file_paths],
                                  generate_seconds=record.generate_seconds, notes=list(record.notes),
                                  record_id=record.id)
        state.results.setdefault(record.task, []).append(result)
        state.files.setdefault(record.task, []).extend(p for p in record.file_paths if Path(p).is_file())
        if record.output_text is not None:
            state.text[record.task] = record.output_text
            parsed = scenario.parse_output(record.task, record.output_text)
            if parsed is not None:
                state.parsed[record.task] = parsed
    if scenario.pre_steps:
        try:
            state.computed = scenario.compute(recorded_form(scenario, records), state.language)
        except StudioError:  # e.g. an uploaded file that is gone: the outputs still show
            state.computed = {}
    took = sum(r.load_seconds + r.generate_seconds for r in records)
    state.started = time.perf_counter() - took  # "N s in all" then says how long the run took
    return state


def run_text(scenario: Scenario | None, records: Sequence[OutputRecord]) -> RunText:
    """The words of a run's summary page, in the run's language."""
    if scenario is None:  # the playground: the prompt and the parameters are the form
        first = records[0]
        form = [("prompt", first.prompt), *((k, v) for k, v in first.params.items() if k != "prompt" and v not in (None, ""))]
        return RunText(language="en", title=f"Playground · {first.modality}", form=form)
    language = run_language(scenario, records)
    values = recorded_form(scenario, records)
    form: list[tuple[str, Any]] = []
    for f in scenario.fields:
        if f.name not in values or values[f.name] in (None, "", []):
            continue
        value = values[f.name]
        if f.kind == "table":
            value = [f.headers(language), *value]
        else:
            try:
                value = display_value(f, value, language)
            except (TypeError, ValueError):
                value = str(value)
        form.append((f.label[language], value))
    seed = records[0].inputs.get("seed")
    if seed is not None:
        form.append((SEED_LABEL[language], seed))
    disclaimers = [scenario.disclaimer[language]] if scenario.disclaimer else []
    return RunText(language=language, title=scenario.title[language], form=form,
                   tasks={t.name: t.title[language] for t in scenario.tasks}, disclaimers=disclaimers)


def example_values(scenario: Scenario, language: str) -> dict[str, Any] | None:
    """The first worked example written in ``language`` (every field filled), or None. A
    scenario without one but with a language field gets its defaults in that language."""
    field = scenario.language_field
    for example in scenario.examples:
        if field is not None and lang(example.get(field.name)) == language:
            return dict(scenario.validate_values(example))
    if field is None:
        return None
    return {**scenario.defaults(), field.name: language}


def form_row(scenario: Scenario, values: Mapping[str, Any]) -> list[Any]:
    """``values`` in field order (e.g. for a tab's form components)."""
    return [values.get(f.name) for f in scenario.fields]
