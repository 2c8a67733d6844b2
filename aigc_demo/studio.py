"""The studio: one object joining settings, the model manager, the backends and the record.

The UI and the API call only this. Every modality takes one path: the request is validated
once, at the door (before any model is touched), the backend's model comes through the
manager (loaded on first use), the backend streams or generates, out of memory is retried by
the manager's policy, provenance goes into the files, and the output is recorded.

A request may choose another model than the configured one (``RunContext.model``; the
candidates and their check: ``model_choice``). Backends are made once per (modality, model);
a chosen local model is held by the manager under ``modality@ref``, the configured one under
the modality itself.
"""

from __future__ import annotations

import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from . import __version__
from .backends import create as create_backend
from .batching import Batcher
from .backends.base import Backend
from .core.files import free_mb, is_disk_full, publish, remove_files, staging_dir
from .core.params import PARAMS, Params, check_cost
from .core import stamp as stamps
from .core.quality import quality_flags
from .core.stamp import Stamp
from .backends import backend_class
from .core.types import (
    MODALITIES,
    CancelToken,
    DiskFull,
    GenerationResult,
    ModelLoadError,
    OutOfMemory,
    ProgressFn,
    Request,
    StudioError,
    ValidationError,
    no_progress,
    resolve_seed,
)
from .model_choice import Choices, ModelChoices
from .runtime import LoadedModel, ModelManager
from .security import Blocklist, redact, redact_data
from .settings import Settings

SMOKE_TEST_NOTE = "Smoke-test model with random weights: its output is noise, by design."


@dataclass(frozen=True)
class RunContext:
    """Where a run comes from, for the record."""

    scenario: str = "playground"
    task: str = ""
    session_id: str = ""
    inputs: Mapping[str, Any] = field(default_factory=dict)  # the scenario form, for re-runs
    check: Callable[[str], list[dict[str, Any]]] | None = None  # grounding flags of a text output
    run_id: str = ""  # shared by every output of one scenario run; "" = the output is a run of its own
    model: str = ""  # the model to run (a candidate of ``model_choice``); "" = the configured one


TIMEOUT_NOTE = "stopped after the time limit of {seconds:g} s (AIGC_RUN_TIMEOUT_SECONDS)"


class Studio:
    def __init__(self, settings: Settings, store: Any | None = None) -> None:
        self.settings = settings
        budget = int(settings.memory_budget_gb * 2**30) if settings.memory_budget_gb else None
        self.manager = ModelManager(
            device=settings.device,
            dtype=settings.dtype,
            budget_bytes=budget,
            idle_seconds=settings.idle_unload_seconds or None,
            failure_cooldown=settings.failure_cooldown_seconds,
            threads=settings.threads,
        )
        self._store = store
        self._backends: dict[tuple[str, str], Backend] = {}  # (modality, model reference) -> backend
        self.choices = ModelChoices(settings, self.backend)  # which models a request may choose
        self._lock = threading.Lock()
        self._store_lock = threading.Lock()
        self.batcher = Batcher(max_batch_size=settings.max_batch_size)
        blocklist = Path(settings.blocklist) if settings.blocklist else None
        self.blocklist = Blocklist.load(blocklist if blocklist and blocklist.is_file() else None)

    # ------------------------------------------------------------ parts

    @property
    def store(self) -> Any:
        with self._store_lock:  # the first requests may arrive together: one store, opened once
            if self._store is None:
                from .record import ReviewStore

                self._store = ReviewStore(Path(self.settings.data_dir), database_url=self.settings.database_url)
        return self._store

    @property
    def outputs_dir(self) -> Path:
        return Path(self.store.outputs_dir)

    def model_ref(self, modality: str, model: str = "") -> str:
        """The model serving ``modality``: ``model`` (a checked choice, see :meth:`choose`) when
        given, else the configured one, or a StudioError saying why there is none."""
        if model:
            return model
        ref = self.settings.model_for(modality)
        if not ref:
            reason = self.settings.unavailable.get(modality) or f"No {modality} model in preset '{self.settings.preset}'."
            raise StudioError(reason)
        return ref

    def backend(self, modality: str, model: str = "") -> Backend:
        """The backend serving ``modality`` with ``model`` ("" = the configured model), created
        once per (modality, model); it loads nothing yet."""
        ref = self.model_ref(modality, model)
        with self._lock:
            if (modality, ref) not in self._backends:
                cache = Path(self.settings.cache_dir) if self.settings.cache_dir else None
                self._backends[(modality, ref)] = create_backend(
                    modality, ref, cache_dir=cache, threads=self.settings.threads,
                    base_url=self.settings.base_urls.get(modality), timeout=self.settings.remote_timeout_seconds)
            return self._backends[(modality, ref)]

    def model_key(self, modality: str, model: str = "") -> str:
        """The model manager's key: the modality for its configured model, ``modality@ref`` for
        a chosen other one (so two models of one modality are loaded and evicted apart)."""
        return f"{modality}@{model}" if model and model != self.settings.model_for(modality) else modality

    def choose(self, modality: str, model: Any) -> str:
        """A request's model checked at the door (``model_choice``): "" for the configured one,
        else a candidate's reference; a ValidationError naming ``model`` and the choices."""
        return self.choices.resolve(modality, model)

    def model_choices(self, modality: str, refresh: bool = False) -> Choices:
        """The models ``modality`` may run here (a remote server's list is cached a little)."""
        return self.choices.choices(modality, refresh=refresh)

    def params(self, modality: str, model: str = "") -> Params:
        """The parameters ``modality`` takes here: its backend's, or the modality's own when
        this preset has no model for it."""
        return self.backend(modality, model).params if self.settings.model_for(modality) else PARAMS[modality]

    def is_loaded(self, modality: str, model: str = "") -> bool:
        return self.manager.is_loaded(self.model_key(modality, model))

    def is_remote(self, modality: str, model: str = "") -> bool:
        """The modality's model runs on a server (a remote backend), not in this process."""
        return bool(self.settings.model_for(modality)) and self.backend(modality, model).remote

    def load(self, modality: str, model: str = "") -> LoadedModel:
        """Get the model for ``modality`` from the manager, loading it on first use. A remote
        backend's model is its client: the manager neither loads nor budgets it."""
        backend, ref = self.backend(modality, model), self.model_ref(modality, model)
        if backend.remote:
            return remote_model(modality, ref, backend)
        return self.manager.get(self.model_key(modality, model), ref, backend.load, size_hint=backend.size_hint())

    def session_runs(self, session_id: str, limit: int = 20, modality: str | None = None) -> list[dict[str, Any]]:
        """The outputs recorded for one browser session, newest first; nothing for an
        unknown (empty) session - never everybody's."""
        if not session_id:
            return []
        return self.store.list_outputs(session_id=session_id, modality=modality, limit=limit)

    # ------------------------------------------------------------ requests

    def defaults(self, modality: str) -> dict[str, Any]:
        """The preset's default parameters for ``modality``."""
        return dict(self.settings.defaults.get(modality, {}))

    def request(self, modality: str, prompt: str, values: Mapping[str, Any], *, capped: bool = False,
                model: str = "") -> Request:
        """A request: the parameters' defaults < the preset's defaults < ``values``; with
        ``capped``, numbers are then held to the preset's scenario limits (one click stays quick).
        ``model``: a chosen model (checked here), whose parameters then apply."""
        merged = {**self.defaults(modality), **values}
        if capped:
            for key, limit in self.settings.scenario_limits.get(modality, {}).items():
                if isinstance(merged.get(key), (int, float)):
                    merged[key] = min(merged[key], limit)
        return self.params(modality, self.choose(modality, model)).request(prompt, merged)

    def prepare(self, modality: str, request: Request, model: str = "") -> tuple[Request, list[str]]:
        """Validate (and correct) a request and fix its seed, before any model is touched.

        Values arrive from the UI and the API as they were sent: every parameter is checked
        against its declaration (type, range, length, choices), the prompt and system prompt
        against the blocklist. Returns the request to run and a note for each corrected value."""
        checked, notes = self.params(modality, self.choose(modality, model)).validate(request, self.settings.max_prompt_chars)
        if self.settings.model_for(modality):  # one request cannot hold the device for long
            ceiling = self.settings.max_cost.get(modality)
            check_cost(modality, checked, ceiling * self.settings.max_cost_scale if ceiling else ceiling)
        self.blocklist.check(checked.prompt, "prompt")
        if getattr(checked, "system_prompt", ""):
            self.blocklist.check(checked.system_prompt, "system_prompt")
        return replace(checked, seed=resolve_seed(checked.seed)), notes

    # ------------------------------------------------------------ running

    def stream(
        self, modality: str, request: Request, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, context: RunContext = RunContext(),
        finish: Callable[[str], str] | None = None,
    ) -> Iterator[str | GenerationResult]:
        """Yield the text so far (text backends) while it is generated, then the recorded
        GenerationResult. ``finish`` completes a final text before it is recorded (e.g. adds
        a disclaimer). Out of memory frees the other models and runs once more. Files are
        written to a staging folder and moved into outputs/ only when the run succeeded; a
        run that fails leaves no file behind, and a full disk is said in plain words."""
        model = self.choose(modality, context.model)  # checked once, at the door
        request, notes = self.prepare(modality, request, model)
        staging: Path | None = None
        try:
            staging = staging_dir(self.outputs_dir)
            yield from self._stream(modality, model, request, notes, progress, cancel, context, finish, staging)
        except StudioError:
            raise
        except Exception as error:
            if is_disk_full(error) or free_mb(Path(self.settings.data_dir)) < max(1.0, self.settings.min_free_disk_mb / 10):
                raise DiskFull() from error
            raise
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)

    def _stream(
        self, modality: str, model: str, request: Request, notes: list[str], progress: ProgressFn,
        cancel: CancelToken | None, context: RunContext, finish: Callable[[str], str] | None, staging: Path,
    ) -> Iterator[str | GenerationResult]:
        cancel = cancel or CancelToken()
        backend = self.backend(modality, model)
        loads: list[LoadedModel] = []
        stamp = self._stamp(context, loads)

        def attempt() -> Iterator[str | GenerationResult]:
            loads.append(self._load_with_notice(modality, model, progress))
            with self._time_limit(cancel, notes), stamps.opened(staging, stamp):
                loaded = loads[-1].model
                if self.batcher.accepts(modality, backend):  # concurrent compatible requests share one call
                    yield self.batcher.run(modality, backend, loaded, request, out_dir=staging, progress=progress,
                                           cancel=cancel)
                else:
                    yield from backend.stream(loaded, request, progress=progress, cancel=cancel, out_dir=staging)

        result: GenerationResult | None = None
        for update in self.manager.retry_on_oom(self.model_key(modality, model), attempt):
            if isinstance(update, GenerationResult):
                result = update
            else:
                yield update
        assert result is not None, f"{type(backend).__name__} ended without a result"
        result.files = publish(list(result.files), self.outputs_dir)
        loaded = loads[-1]
        result.model_ref = loaded.model_ref  # the reference the user chose, not the resolved folder
        result.load_seconds = loaded.load_seconds if any(entry.first_use for entry in loads) else 0.0
        result.notes[:0] = notes
        if result.text is not None:  # echo and loops are flagged in the result, and so in the record
            result.notes += quality_flags(f"{request.prompt}\n{getattr(request, 'system_prompt', '')}", result.text)
            if finish is not None:
                result.text = finish(result.text)
        yield self._finish(result, context, stamp)

    def run(
        self, modality: str, request: Request, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, context: RunContext = RunContext(),
    ) -> GenerationResult:
        """Run to completion (text included) and return the recorded result."""
        result = None
        for result in self.stream(modality, request, progress=progress, cancel=cancel, context=context):
            pass
        return result  # type: ignore[return-value]

    def _load_with_notice(self, modality: str, model: str, progress: ProgressFn) -> LoadedModel:
        if not self.is_loaded(modality, model) and not self.is_remote(modality, model):
            progress(0, 1, redact(f"Loading {self.model_ref(modality, model)} (first use)…"))
        return self.load(modality, model)

    @contextmanager
    def _time_limit(self, cancel: CancelToken, notes: list[str]) -> Iterator[None]:
        """Cancel the run (its token reads as cancelled) once it has run for the configured limit."""
        seconds = self.settings.run_timeout_seconds
        if not seconds:
            yield
            return
        cancel.expire_at(time.monotonic() + seconds)  # a deadline, not a timer thread per run
        try:
            yield
        finally:
            expired = cancel.expired
            cancel.expire_at(None)
            if expired:
                cancel.cancel()  # stays cancelled, as a Stop would
                notes.append(TIMEOUT_NOTE.format(seconds=seconds))

    def _stamp(self, context: RunContext, loads: list[LoadedModel]) -> Stamp:
        """The run's provenance before its files are written (``core.stamp``): its record id
        is fixed now, so a backend can write the record into a file in its one write."""
        from .record import provenance

        def record(result: GenerationResult) -> dict[str, Any]:
            ref = loads[-1].model_ref if loads else result.model_ref  # as _stream records it
            return self._record(replace(result, model_ref=ref), context, stamp).provenance()

        stamp = Stamp(record=record, tags=provenance.video_tags)
        return stamp

    def _record(self, result: GenerationResult, context: RunContext, stamp: Stamp | None) -> Any:
        """The OutputRecord of a result, with the stamp's id and time when it has one."""
        from .record import OutputRecord
        from .record.models import utc_now

        if stamp is None:
            return OutputRecord(**self.record_fields(result, context))
        stamp.created_at = stamp.created_at or utc_now()
        return OutputRecord(**self.record_fields(result, context), id=stamp.record_id, created_at=stamp.created_at)

    def _finish(self, result: GenerationResult, context: RunContext, stamp: Stamp | None = None) -> GenerationResult:
        """Label smoke-test output, write provenance into files, record the output."""
        if self._smoke_test(result.modality, result.model_ref) and SMOKE_TEST_NOTE not in result.notes:
            result.notes.append(SMOKE_TEST_NOTE)
        from .record import provenance

        record = self._record(result, context, stamp)
        embedded = record.provenance()
        try:
            for path in result.files:  # the file exists (written atomically) before its record
                provenance.embed(path, embedded, carried=bool(stamp and stamp.carries(path, embedded)))
            result.record_id = self.store.add_record(record)
        except BaseException:  # not recorded: its files must not stay (they would be orphans)
            remove_files([*result.files, *(provenance.sidecar_path(p) for p in result.files)])
            raise
        return result

    def record_fields(self, result: GenerationResult, context: RunContext) -> dict[str, Any]:
        """The record of a result; secrets (HF_TOKEN...) never reach the store or exports."""
        fields = redact_data({
            "scenario": context.scenario,
            "task": context.task or result.modality,
            "modality": result.modality,
            "prompt": result.params.get("prompt", ""),
            "params": result.params,
            "seed": result.seed,
            "model_ref": result.model_ref,
            "preset": self.settings.preset,
            "device": self._device(result.modality, result.model_ref),
            "load_seconds": result.load_seconds,
            "generate_seconds": result.generate_seconds,
            "app_version": __version__,
            "output_text": result.text,
            "session_id": context.session_id,
            "status": "cancelled" if result.cancelled else "ok",
            "notes": list(result.notes),
            "inputs": dict(context.inputs),
            "run_id": context.run_id,
        })
        fields["file_paths"] = [str(p) for p in result.files]  # real paths: the files exist under them
        fields["checks"] = context.check(fields["output_text"]) if context.check and fields["output_text"] else []
        return fields

    def _smoke_test(self, modality: str, ref: str) -> bool:
        """Whether ``ref`` (the model a result came from) has random weights."""
        if not ref or ref == self.settings.model_for(modality):
            return self.settings.smoke_test(modality)
        return backend_class(modality, ref).smoke_test

    def _device(self, modality: str, ref: str = "") -> str:
        """Where a result was made: this process's device, or the remote server (no key)."""
        backend = self._backends.get((modality, ref or self.settings.model_for(modality) or ""))
        return f"remote {backend.server.url}" if backend is not None and backend.remote else self.manager.device

    # ------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        """Preset, models, what is loaded, and how often each model was loaded (a model
        loaded twice without being unloaded in between would be a bug)."""
        return redact_data({
            "preset": self.settings.preset,
            "models": {m: self.settings.model_for(m) or f"(unavailable) {self.settings.unavailable.get(m, '')}" for m in MODALITIES},
            "notes": list(self.settings.notes),
            **self.manager.status(),
            "load_count": dict(self.manager.load_count),
            "health": self.health(),
            "remote": self.remote_health(),
        })

    def remote_health(self) -> dict[str, Any]:
        """Each remote backend's server: answering or not (the message), latency, models. The
        servers are asked at the same time, each for at most the remote timeout (cached 10 s)."""
        from concurrent.futures import ThreadPoolExecutor

        remote = [m for m in MODALITIES if self.is_remote(m)]
        if not remote:
            return {}
        with ThreadPoolExecutor(len(remote)) as pool:
            reports = list(pool.map(lambda m: self.backend(m).health(), remote))
        return dict(zip(remote, reports))

    def health(self) -> dict[str, Any]:
        """The start-up self-check, run again now (``record.health``): data directory, disk,
        database, integrity, schema, quarantined rows."""
        from .record.health import self_check

        return self_check(self.settings.data_dir, self.settings.min_free_disk_mb, store=self.store).as_dict()


def remote_model(modality: str, model_ref: str, backend: Backend) -> LoadedModel:
    """A remote backend's client in the shape of a loaded model (never in the manager)."""
    import time

    now = time.monotonic()
    return LoadedModel(key=modality, model_ref=model_ref, model=backend.client(), device="remote", dtype="",
                       size_bytes=0, load_seconds=0.0, loaded_at=now, last_used=now)


__all__ = ["Studio", "RunContext", "OutOfMemory", "ValidationError", "ModelLoadError", "StudioError"]
