"""Runs a scenario's tasks in order, feeding text outputs into later prompts.

Yields a snapshot after every change (each streamed text chunk, each finished media task), so
the UI can show text as it streams and media as it arrives. A media task that cannot run (no
model in this preset, a model that fails to load) is reported in the status and the others go
on; validation errors and a Stop end the run.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

from aigc_demo import grounding
from aigc_demo.core.params import check_range
from aigc_demo.core.quality import FLAG
from aigc_demo.core.types import (
    MAX_SEED,
    CancelToken,
    GenerationResult,
    ProgressFn,
    Request,
    StudioError,
    ValidationError,
    no_progress,
    resolve_seed,
)
from aigc_demo.studio import RunContext, Studio

from . import structure
from .model import Scenario, Task
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
    live: str = ""  # the task running now: which, how long, how fast, about how long is left
    started: float = field(default_factory=time.perf_counter)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # every record of this run carries it

    def record_ids(self, task: str) -> list[str]:
        return [r.record_id for r in self.results.get(task, []) if r.record_id]

    @property
    def lines(self) -> list[str]:
        """The status as shown: what is done, then what is running (or the total time)."""
        if self.done:
            return [*self.status, f"⏱️ {time.perf_counter() - self.started:.0f} s in all"]
        return [*self.status, self.live] if self.live else list(self.status)


class TaskClock:
    """Turns a task's progress reports into a live line: elapsed time, speed and an estimate."""

    def __init__(self, state: ScenarioState, label: str, position: str, modality: str, forward: ProgressFn) -> None:
        self.state, self.label, self.position, self.modality, self.forward = state, label, position, modality, forward
        self.start = time.perf_counter()
        self.first_step: float | None = None
        self.tick(0, 0, "")

    def tick(self, step: int, total: int, desc: str = "") -> None:
        now = time.perf_counter()
        elapsed = now - self.start
        line = f"⏳ {self.label} ({self.position}) · {elapsed:.0f} s"
        if step > 0:
            self.first_step = self.first_step or now
            rate = step / max(now - self.first_step, 1e-6) if step > 1 else 0.0
            unit = "tokens" if self.modality == "text" else "steps"
            line += f" · {step} {unit}" + (f", {rate:.1f}/s" if rate else "")
            if rate and total > step:
                bound = "at most " if self.modality == "text" else "about "
                line += f" · {bound}{(total - step) / rate:.0f} s left"
        elif desc:
            line += f" · {desc}"
        self.state.live = line
        self.forward(step, total, desc)


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
    for number, task in enumerate(scenario.tasks, start=1):
        if cancel.cancelled:
            break
        items = scenario.task_items(task, state.text, values) if task.for_each else [None]
        for index, item in enumerate(items, start=1):
            if cancel.cancelled:
                break
            prompt = scenario.render(task, values, state.text, item=item, index=index, computed=state.computed)
            params = {**scenario.task_params(task, language), "seed": seed}
            if task.generator == "text" and (system := scenario.system_prompt(task, language)):
                params["system_prompt"] = system
            if task.structure:  # the model may answer only JSON of these parts (where it can be enforced)
                params["response_schema"] = structure.schema(task.structure, language)
            request = studio.request(task.generator, prompt, params, capped=True)
            check = grounding.checker(scenario, task.name, values, state.computed, language) if task.generator == "text" else None
            context = RunContext(scenario.id, task.name, session_id, inputs={**values, "seed": seed}, check=check,
                                 run_id=state.run_id)
            label = f"{task.name}" + (f" {index}/{len(items)}" if len(items) > 1 else "")
            clock = TaskClock(state, label, f"task {number} of {len(scenario.tasks)}", task.generator, progress)
            try:
                fixed = scenario.fixed_parts(task, values) if task.structure else {}
                yield from _run_task(studio, scenario, task, label, request, language, fixed, context, cancel,
                                     clock.tick, state)
            except ValidationError:
                raise
            except StudioError as error:
                if task.generator == "text":
                    raise  # later tasks are written from this text
                state.status.append(f"⚠️ {label}: {error}")  # this media task cannot run here; the others go on
                yield state
                break
    if cancel.cancelled:
        state.status.append("⏹️ stopped")
    state.live = ""
    state.done = True
    yield state


def _run_task(
    studio: Studio,
    scenario: Scenario,
    task: Task,
    label: str,
    request: Request,
    language: str,
    fixed: dict[str, str],
    context: RunContext,
    cancel: CancelToken,
    progress: ProgressFn,
    state: ScenarioState,
) -> Iterator[ScenarioState]:
    """One task through the studio: text as it streams, then the recorded result. A structured
    answer (JSON) is shown as the Markdown its parts make, while it streams too."""

    def readable(text: str) -> str:
        return (structure.render(task.structure, text, language, fixed) or text) if task.structure else text

    finish = (lambda text: scenario.finish_text(readable(text), language)) if task.generator == "text" else None
    for update in studio.stream(task.generator, request, cancel=cancel, context=context, progress=progress, finish=finish):
        if not isinstance(update, GenerationResult):
            state.text[task.name] = readable(update)
            yield state
            continue
        state.results.setdefault(task.name, []).append(update)
        if task.generator == "text":
            state.text[task.name] = update.text or ""
            if (parsed := scenario.parse_output(task, state.text[task.name])) is not None:
                state.parsed[task.name] = parsed
        state.files.setdefault(task.name, []).extend(str(p) for p in update.files)
        state.status.append(f"✅ {label}: {task.generator} in {update.generate_seconds:.1f} s (seed {update.seed})")
        state.status += [f"{label}: {note.removeprefix(FLAG).strip()}" for note in update.notes if note.startswith(FLAG)]
        yield state
