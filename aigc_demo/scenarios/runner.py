"""Runs a scenario's tasks in order, feeding text outputs into later prompts.

Yields a snapshot after every change (each streamed text chunk, each finished media task), so
the UI can show text as it streams and media as it arrives. A media task that cannot run (no
model in this preset, a model that fails to load) is reported in the status and the others go
on; validation errors and a Stop end the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from aigc_demo.core.params import check_range
from aigc_demo.core.types import (
    MAX_SEED,
    CancelToken,
    GenerationResult,
    ProgressFn,
    StudioError,
    TextRequest,
    ValidationError,
    no_progress,
    resolve_seed,
)
from aigc_demo.studio import RunContext, Studio

from .model import REQUEST_TYPES, Scenario, Task
from .registry import Computed, Parsed


@dataclass
class ScenarioState:
    """Everything a scenario run has produced so far."""

    text: dict[str, str] = field(default_factory=dict)  # task -> text (finished text carries disclaimer/label)
    files: dict[str, list[str]] = field(default_factory=dict)  # task -> file paths
    results: dict[str, list[GenerationResult]] = field(default_factory=dict)
    status: list[str] = field(default_factory=list)
    language: str = "en"
    computed: dict[str, Computed] = field(default_factory=dict)  # pre-step -> figures for the UI
    parsed: dict[str, Parsed] = field(default_factory=dict)  # task -> what its parser read
    done: bool = False

    def record_ids(self, task: str) -> list[str]:
        return [r.record_id for r in self.results.get(task, []) if r.record_id]


def build_request(studio: Studio, task: Task, prompt: str, params: dict[str, Any], system: str | None) -> Any:
    """Request for a task: generator defaults < preset defaults < scenario params, each
    number then capped by the preset's scenario limits (so one click stays quick)."""
    modality = task.generator
    merged = {**studio.defaults(modality), **params}
    for key, limit in studio.settings.scenario_limits.get(modality, {}).items():
        if isinstance(merged.get(key), (int, float)):
            merged[key] = min(merged[key], limit)
    if modality == "text" and system:
        merged["system_prompt"] = system
    allowed = REQUEST_TYPES[modality].__dataclass_fields__
    return REQUEST_TYPES[modality](prompt=prompt, **{k: v for k, v in merged.items() if k in allowed and k != "prompt"})


def run_scenario(
    studio: Studio,
    scenario: Scenario,
    values: dict[str, Any],
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    session_id: str = "",
    seed: Any = -1,
) -> Iterator[ScenarioState]:
    """Run every task of ``scenario`` with the form ``values``; yield the state as it grows."""
    values = scenario.validate_values(values)  # checked once, at the door: trusted from here on
    language = scenario.language(values)
    seed = resolve_seed(check_range("seed", seed, -1, MAX_SEED))  # one seed for the whole run: re-runnable
    cancel = cancel or CancelToken()
    state = ScenarioState(language=language, computed=scenario.compute(values, language) if scenario.pre_steps else {})
    if state.computed:
        yield state
    for task in scenario.tasks:
        if cancel.cancelled:
            break
        items = scenario.task_items(task, state.text, values) if task.for_each else [None]
        for index, item in enumerate(items, start=1):
            if cancel.cancelled:
                break
            prompt = scenario.render(task, values, state.text, item=item, index=index, computed=state.computed)
            params = {**scenario.task_params(task, language), "seed": seed}
            request = build_request(studio, task, prompt, params, scenario.system_prompt(task, language))
            context = RunContext(scenario.id, task.name, session_id, inputs={**values, "seed": seed})
            label = f"{task.name}" + (f" {index}/{len(items)}" if len(items) > 1 else "")
            if task.generator == "text":
                yield from _run_text(studio, scenario, task, request, language, context, cancel, progress, state)
                continue
            try:
                result = studio.run(task.generator, request, progress=progress, cancel=cancel, context=context)
            except ValidationError:
                raise
            except StudioError as error:  # this task cannot run here; the others go on
                state.status.append(f"⚠️ {label}: {error}")
                yield state
                break
            state.results.setdefault(task.name, []).append(result)
            state.files.setdefault(task.name, []).extend(str(p) for p in result.files)
            state.status.append(f"✅ {label}: {task.generator} in {result.generate_seconds:.1f} s (seed {result.seed})")
            yield state
    if cancel.cancelled:
        state.status.append("⏹️ stopped")
    state.done = True
    yield state


def _run_text(
    studio: Studio,
    scenario: Scenario,
    task: Task,
    request: TextRequest,
    language: str,
    context: RunContext,
    cancel: CancelToken,
    progress: ProgressFn,
    state: ScenarioState,
) -> Iterator[ScenarioState]:
    finish = lambda text: scenario.finish_text(text, language)  # noqa: E731
    for update in studio.stream_text(request, cancel=cancel, context=context, progress=progress, finish=finish):
        if isinstance(update, GenerationResult):
            state.text[task.name] = update.text or ""
            state.results.setdefault(task.name, []).append(update)
            if (parsed := scenario.parse_output(task, state.text[task.name])) is not None:
                state.parsed[task.name] = parsed
            state.status.append(f"✅ {task.name}: text in {update.generate_seconds:.1f} s (seed {update.seed})")
        else:
            state.text[task.name] = update
        yield state
