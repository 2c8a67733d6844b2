"""The studio: one object joining settings, the model manager, the generators and the record.

The UI and the API call only this. A call validates the request (before any model is touched),
gets the model through the manager (loading it on first use), runs the generator, writes
provenance into the file and records the output in the review store.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from . import __version__
from aigc_demo.core.params import check_prompt
from aigc_demo.core.types import (
    MODALITIES,
    CancelToken,
    GenerationResult,
    ModelLoadError,
    OutOfMemory,
    ProgressFn,
    Request,
    StudioError,
    TextRequest,
    ValidationError,
    no_progress,
    request_params,
    resolve_seed,
)
from .runtime import LoadedModel, ModelManager
from .security import Blocklist, redact, redact_data
from .settings import Settings, weights_on_disk

_GENERATOR_CLASSES = {
    "text": ("aigc_demo.generators.text", "TextGenerator"),
    "image": ("aigc_demo.generators.image", "ImageGenerator"),
    "audio": ("aigc_demo.generators.audio", "AudioGenerator"),
    "video": ("aigc_demo.generators.video", "VideoGenerator"),
}
SMOKE_TEST_NOTE = "Smoke-test model with random weights: its output is noise, by design."


@dataclass(frozen=True)
class RunContext:
    """Where a run comes from, for the record."""

    scenario: str = "playground"
    task: str = ""
    session_id: str = ""
    inputs: Mapping[str, Any] = field(default_factory=dict)  # the scenario form, for re-runs


def is_out_of_memory(error: BaseException | None) -> bool:
    """torch's OutOfMemoryError (or an error caused by one, e.g. wrapped by a loader)."""
    seen = 0
    while error is not None and seen < 8:
        if type(error).__name__ == "OutOfMemoryError" or "out of memory" in str(error).lower():
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _explained_load_error(model_ref: str, error: BaseException) -> ModelLoadError:
    """A loader's failure as one ModelLoadError, with secrets (HF_TOKEN...) removed."""
    if isinstance(error, ModelLoadError):
        return ModelLoadError(redact(error.model_ref), redact(error.reason), redact(error.hint))
    return ModelLoadError(redact(model_ref), redact(f"{type(error).__name__}: {error}"))


# Request fields that hold text; None means "empty" for all but the prompt.
_TEXT_FIELDS = ("prompt", "negative_prompt", "system_prompt", "voice_preset")
TIMEOUT_NOTE = "stopped after the time limit of {seconds:g} s (AIGC_RUN_TIMEOUT_SECONDS)"


def _differs(before: Any, after: Any) -> bool:
    """True when validation changed a value (not merely its type: "64" or 64.0 -> 64)."""
    try:
        return float(before) != float(after)
    except (TypeError, ValueError):
        return before != after


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
        )
        self._store = store
        self._generators: dict[str, Any] = {}
        self._lock = threading.Lock()
        blocklist = Path(settings.blocklist) if settings.blocklist else None
        self.blocklist = Blocklist.load(blocklist if blocklist and blocklist.is_file() else None)

    # ------------------------------------------------------------ parts

    @property
    def store(self) -> Any:
        if self._store is None:
            from .record import ReviewStore

            self._store = ReviewStore(Path(self.settings.data_dir))
        return self._store

    @property
    def outputs_dir(self) -> Path:
        return Path(self.store.outputs_dir)

    def generator(self, modality: str) -> Any:
        with self._lock:
            if modality not in self._generators:
                module, name = _GENERATOR_CLASSES[modality]
                self._generators[modality] = getattr(importlib.import_module(module), name)()
            return self._generators[modality]

    def model_ref(self, modality: str) -> str:
        """The model serving ``modality``, or a StudioError saying why there is none."""
        ref = self.settings.model_for(modality)
        if not ref:
            reason = self.settings.unavailable.get(modality) or f"No {modality} model in preset '{self.settings.preset}'."
            raise StudioError(reason)
        return ref

    def model_path(self, model_ref: str) -> str:
        """Built-in references become local folders; anything else is passed to from_pretrained."""
        cache = Path(self.settings.cache_dir) if self.settings.cache_dir else None
        if model_ref.startswith("tiny:"):
            from .tiny import tiny_model_path

            return str(tiny_model_path(model_ref.removeprefix("tiny:"), cache / "tiny" if cache else None))
        if model_ref == "offline:smollm2":
            from .offline import smollm2_path

            return str(smollm2_path(cache / "smollm2" if cache else None))
        return model_ref

    def is_loaded(self, modality: str) -> bool:
        return self.manager.is_loaded(modality)

    def load(self, modality: str) -> LoadedModel:
        """Get the model for ``modality`` from the manager, loading it on first use."""
        ref = self.model_ref(modality)
        try:
            return self.manager.get(modality, ref, self._loader(modality, ref), size_hint=weights_on_disk(ref))
        except ModelLoadError as error:  # e.g. the remembered failure, named by the raw reference
            raise _explained_load_error(ref, error) from None

    def _loader(self, modality: str, ref: str) -> Callable[[str, Any], Any]:
        """The manager's loader: out of memory while loading frees the other models and
        retries once; any failure becomes a ModelLoadError without secrets in it."""
        generator = self.generator(modality)

        def load(device: str, dtype: Any) -> Any:
            for attempt in (1, 2):
                try:
                    return generator.load(self.model_path(ref), device, dtype)
                except Exception as error:
                    if not is_out_of_memory(error):
                        raise _explained_load_error(ref, error) from None
                    if attempt == 2:
                        raise ModelLoadError(
                            redact(ref), "out of memory while loading it, even after unloading the other models",
                            "Try a lighter preset (--preset cpu, offline or tiny), a smaller model, or free memory "
                            "used by other programs.",
                        ) from None
                self._free_others(modality)
            raise AssertionError("unreachable")

        return load

    def _free_others(self, modality: str) -> list[str]:
        """Unload every model but ``modality``'s (making room after out of memory)."""
        others = [m["key"] for m in self.manager.status()["loaded"] if m["key"] != modality]
        for key in others:
            self.manager.unload(key)
        return others

    def session_runs(self, session_id: str, limit: int = 20, modality: str | None = None) -> list[dict[str, Any]]:
        """The outputs recorded for one browser session, newest first; nothing for an
        unknown (empty) session - never everybody's."""
        if not session_id:
            return []
        return self.store.list_outputs(session_id=session_id, modality=modality, limit=limit)

    # ------------------------------------------------------------ requests

    def prepare(self, modality: str, request: Request) -> tuple[Request, list[str]]:
        """Validate (and correct) a request and fix its seed, before any model is touched.

        Values arrive from the UI and the API as they were sent: text must be text, numbers
        must be finite (the generator checks ranges and coerces "7" or 7.0 to 7), and the
        prompt must pass the length limit and the blocklist. Returns the request to run and a
        note for each value that was corrected."""
        request = self._check_types(request)
        prompt = check_prompt(request.prompt, max_chars=self.settings.max_prompt_chars)
        self.blocklist.check(prompt, "prompt")
        if isinstance(getattr(request, "system_prompt", None), str):
            self.blocklist.check(request.system_prompt, "system_prompt")
        checked = self.generator(modality).validate(dataclasses.replace(request, prompt=prompt))
        notes = [
            f"{name} {getattr(request, name)} -> {getattr(checked, name)} (corrected to a supported value)"
            for name in request_params(request)
            if name not in ("prompt", "negative_prompt", "seed", "system_prompt")
            and _differs(getattr(request, name), getattr(checked, name))
        ]
        return dataclasses.replace(checked, seed=resolve_seed(checked.seed)), notes

    @staticmethod
    def _check_types(request: Request) -> Request:
        """Text fields hold text (None: empty), number fields hold finite numbers."""
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(request):
            value = getattr(request, f.name)
            if f.name in _TEXT_FIELDS:
                if value is None and f.name != "prompt":
                    changes[f.name] = ""
                elif not isinstance(value, str):
                    raise ValidationError(f.name, f"must be text (got {type(value).__name__})")
            elif isinstance(value, float) and not math.isfinite(value):
                raise ValidationError(f.name, f"must be a finite number (got {value})")
            elif isinstance(value, (list, tuple, dict, set)):
                raise ValidationError(f.name, f"must be a single number (got a {type(value).__name__})")
        return dataclasses.replace(request, **changes) if changes else request

    def defaults(self, modality: str) -> dict[str, Any]:
        """The preset's default parameters for ``modality``."""
        return dict(self.settings.defaults.get(modality, {}))

    # ------------------------------------------------------------ running

    def stream_text(
        self, request: TextRequest, *, cancel: CancelToken | None = None, context: RunContext = RunContext(),
        progress: ProgressFn = no_progress, finish: Callable[[str], str] | None = None,
    ) -> Iterator[str | GenerationResult]:
        """Yield the text so far while it is generated, then the recorded GenerationResult.

        ``finish`` completes the final text before it is recorded (e.g. adds a disclaimer)."""
        request, notes = self.prepare("text", request)
        cancel = cancel or CancelToken()
        loaded = self._load_with_notice("text", progress)
        generator = self.generator("text")
        text = ""
        start = time.perf_counter()
        with self._time_limit(cancel, notes):
            for text in generator.stream(loaded.model, request, cancel=cancel):
                yield text
        result = GenerationResult(
            modality="text",
            model_ref=loaded.model_ref,
            seed=request.seed,
            params=request_params(request),
            text=finish(text) if finish else text,
            load_seconds=loaded.load_seconds if loaded.first_use else 0.0,
            generate_seconds=time.perf_counter() - start,
            cancelled=cancel.cancelled,
            notes=notes,
        )
        yield self._finish(result, context)

    def run(
        self, modality: str, request: Request, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, context: RunContext = RunContext(),
    ) -> GenerationResult:
        """Run a generator to completion (text included) and record the result."""
        if modality == "text":
            result = None
            for result in self.stream_text(request, cancel=cancel, context=context, progress=progress):  # type: ignore[arg-type]
                pass
            return result  # type: ignore[return-value]
        request, notes = self.prepare(modality, request)
        cancel = cancel or CancelToken()
        generator = self.generator(modality)

        def attempt() -> GenerationResult:
            loaded = self._load_with_notice(modality, progress)
            limit_notes: list[str] = []
            with self._time_limit(cancel, limit_notes):
                result = generator.generate(
                    loaded.model, request, progress=progress, cancel=cancel, out_dir=self.outputs_dir
                )
            result.model_ref = loaded.model_ref  # the reference the user chose, not the resolved folder
            result.load_seconds = loaded.load_seconds if loaded.first_use else 0.0
            result.notes[:0] = notes
            result.notes += limit_notes
            return result

        return self._finish(self._retry_on_oom(modality, attempt), context)

    def _load_with_notice(self, modality: str, progress: ProgressFn) -> LoadedModel:
        if not self.manager.is_loaded(modality):
            progress(0, 1, redact(f"Loading {self.model_ref(modality)} (first use)…"))
        return self.load(modality)

    @contextmanager
    def _time_limit(self, cancel: CancelToken, notes: list[str]) -> Iterator[None]:
        """Cancel the run (through its token) once it has run for the configured limit."""
        seconds = self.settings.run_timeout_seconds
        if not seconds:
            yield
            return
        fired = threading.Event()

        def expire() -> None:
            fired.set()
            cancel.cancel()

        timer = threading.Timer(seconds, expire)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            if fired.is_set():
                notes.append(TIMEOUT_NOTE.format(seconds=seconds))

    def _retry_on_oom(self, modality: str, attempt: Callable[[], GenerationResult]) -> GenerationResult:
        """Out of memory while generating: free every other model, retry once, then explain.
        (Out of memory while loading is retried by the loader; its error is final here.)"""
        for try_number in (1, 2):
            try:
                return attempt()
            except ModelLoadError:
                raise
            except Exception as error:
                if not is_out_of_memory(error):
                    raise
                if try_number == 2:
                    self.manager.unload(modality)
                    raise OutOfMemory(
                        f"Out of memory while generating {modality}, even after unloading the other models. "
                        "Try a smaller size, fewer frames or steps, or a lighter preset."
                    ) from error
            self._free_others(modality)
        raise AssertionError("unreachable")

    def _finish(self, result: GenerationResult, context: RunContext) -> GenerationResult:
        """Label smoke-test output, write provenance into files, record the output."""
        if self.settings.smoke_test(result.modality) and SMOKE_TEST_NOTE not in result.notes:
            result.notes.append(SMOKE_TEST_NOTE)
        from .record import OutputRecord, provenance

        record = OutputRecord(**self.record_fields(result, context))
        for path in result.files:  # the file exists (written atomically) before its record
            provenance.embed(path, record.provenance())
        result.record_id = self.store.add_record(record)
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
            "device": self.manager.device,
            "load_seconds": result.load_seconds,
            "generate_seconds": result.generate_seconds,
            "app_version": __version__,
            "output_text": result.text,
            "session_id": context.session_id,
            "status": "cancelled" if result.cancelled else "ok",
            "notes": list(result.notes),
            "inputs": dict(context.inputs),
        })
        fields["file_paths"] = [str(p) for p in result.files]  # real paths: the files exist under them
        return fields

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
        })


__all__ = ["Studio", "RunContext", "OutOfMemory", "ValidationError", "ModelLoadError", "StudioError"]
