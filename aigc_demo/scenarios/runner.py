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
from typing import Any, Callable, Iterator, Mapping

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
from aigc_demo.messages import say
from aigc_demo.studio import RunContext, Studio

from . import structure
from .model import Scenario, Task
from .registry import Computed, Parsed


# (scenario, task, form values, pre-step figures, language) -> ``text -> flags`` for that task, or None.
# The caller passes one in (aigc_demo.grounding.checker): scenarios do not know which checks exist.
OutputChecker = Callable[[Scenario, str, Mapping[str, Any], Mapping[str, Computed], str],
                         "Callable[[str], list[dict[str, Any]]] | None"]


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
    ui: str = "en"  # the language of the page that reads the status (not of the outputs)
    clock: "TaskClock | None" = None  # the running task's clock (refreshes ``live`` when read)
    started: float = field(default_factory=time.perf_counter)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # every record of this run carries it
    seed: int | None = None  # the run's one seed, shown at the end so the run can be repeated

    def record_ids(self, task: str) -> list[str]:
        return [r.record_id for r in self.results.get(task, []) if r.record_id]

    @property
    def lines(self) -> list[str]:
        """The status as shown: what is done, then what is running (or the total time)."""
        if self.done:
            seconds = f"{time.perf_counter() - self.started:.0f}"
            total = say("ux.run.total", self.ui, seconds=seconds) if self.seed is None else \
                say("ux.run.total_seed", self.ui, seconds=seconds, seed=self.seed)
            return [*self.status, total]
        if self.clock is not None:
            self.clock.refresh()  # the elapsed time as of now, even between progress reports
        elif not self.live:  # figures computed before the first task: the clock runs already
            return [*self.status, say("ux.run.preparing", self.ui, elapsed=f"{time.perf_counter() - self.started:.0f}")]
        return [*self.status, self.live] if self.live else list(self.status)


class TaskClock:
    """Turns a task's progress reports into a live line: elapsed time, speed and an estimate."""

    def __init__(self, state: ScenarioState, label: str, position: tuple[int, int], modality: str,
                 forward: ProgressFn) -> None:
        self.state, self.label, self.position, self.modality, self.forward = state, label, position, modality, forward
        self.start = time.perf_counter()
        self.first_step: float | None = None
        self.step, self.total, self.desc = 0, 0, ""
        state.clock = self
        self.tick(0, 0, "")

    def tick(self, step: int, total: int, desc: str = "") -> None:
        now = time.perf_counter()
        if step > 0 and self.first_step is None:
            self.first_step = now
        self.step, self.total, self.desc = step, total, desc
        self.refresh(now)
        self.forward(step, total, desc)

    def refresh(self, now: float | None = None) -> None:
        """Write the live line as of ``now`` from the last progress report."""
        now = time.perf_counter() if now is None else now
        step, total, desc = self.step, self.total, self.desc
        elapsed = now - self.start
        ui = self.state.ui
        number, count = self.position
        line = say("ux.run.running", ui, task=self.label, number=number, count=count, elapsed=f"{elapsed:.0f}")
        if step > 0 and self.first_step is not None:
            rate = step / max(now - self.first_step, 1e-6) if step > 1 else 0.0
            line += say("ux.run.tokens" if self.modality == "text" else "ux.run.steps", ui, step=step)
            line += say("ux.run.rate", ui, rate=f"{rate:.1f}") if rate else ""
            if rate and total > step:  # text may end before its token budget; media runs every step
                bound = "ux.run.left_at_most" if self.modality == "text" else "ux.run.left_about"
                line += say(bound, ui, seconds=f"{(total - step) / rate:.0f}")
        elif desc.startswith("Loading"):
            line += say("ux.run.loading", ui)  # the only thing reported before the first step
        self.state.live = line


def run_scenario(
    studio: Studio,
    scenario: Scenario,
    values: dict[str, Any],
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    session_id: str = "",
    seed: Any = -1,
    ui_language: str = "en",
    checker: OutputChecker | None = None,
    models: Mapping[str, str] | None = None,
) -> Iterator[ScenarioState]:
    """Run every task of ``scenario`` with the form ``values``; yield the state as it grows.
    Status lines are written in ``ui_language`` (the reader's), naming tasks by their titles;
    ``checker`` gives each text output's grounding check, stored with its record; ``models``
    chooses a model per modality (a candidate of ``model_choice``; none: the configured)."""
    models = {m: studio.choose(m, ref) for m, ref in (models or {}).items()}  # checked at the door
    values = scenario.validate_values(values)  # checked once, at the door: trusted from here on
    language = scenario.language(values)
    seed = resolve_seed(check_range("seed", seed, -1, MAX_SEED))  # one seed for the whole run: re-runnable
    cancel = cancel or CancelToken()
    state = ScenarioState(language=language, ui=ui_language, seed=seed,
                          computed=scenario.compute(values, language) if scenario.pre_steps else {})
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
            request = studio.request(task.generator, prompt, params, capped=True, model=models.get(task.generator, ""))
            check = checker(scenario, task.name, values, state.computed, language) if checker and task.generator == "text" else None
            context = RunContext(scenario.id, task.name, session_id, inputs={**values, "seed": seed}, check=check,
                                 run_id=state.run_id, model=models.get(task.generator, ""))
            label = task.title(ui_language) + (f" {index}/{len(items)}" if len(items) > 1 else "")
            clock = TaskClock(state, label, (number, len(scenario.tasks)), task.generator, progress)
            yield state  # the status names the task at once, before its model answers
            try:
                fixed = scenario.fixed_parts(task, values) if task.structure else {}
                yield from _run_task(studio, scenario, task, label, request, language, fixed, context, cancel,
                                     clock.tick, state)
            except ValidationError:
                raise
            except StudioError as error:
                if task.generator == "text":
                    raise  # later tasks are written from this text
                state.status.append(say("ux.run.failed_task", ui_language, task=label, error=error))  # this media task cannot run here; the others go on
                yield state
                break
    if cancel.cancelled:
        state.status.append(say("ux.run.stopped", ui_language))
    state.live, state.clock = "", None
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
        state.status.append(say("ux.run.done_task", state.ui, task=label, seconds=f"{update.generate_seconds:.1f}"))
        state.status += [say("ux.run.flag", state.ui, task=label, note=note.removeprefix(FLAG).strip())
                         for note in update.notes if note.startswith(FLAG)]
        yield state
