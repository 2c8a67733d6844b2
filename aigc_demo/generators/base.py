"""What every generator shares: requests, results, errors, seeds, progress and cancel.

A generator is one small class per modality with two methods:

- ``load(model_ref, device, dtype)`` builds the model object with ``from_pretrained``
  (the ModelManager, not the generator, then places it on the device);
- ``generate(model, request, progress=..., cancel=..., out_dir=...)`` returns a
  :class:`GenerationResult`. The text generator also has ``stream(...)`` that yields
  the text so far.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

MAX_SEED = 2**32 - 1
MODALITIES = ("text", "image", "audio", "video")

# progress(step, total, description)
ProgressFn = Callable[[int, int, str], None]


def no_progress(step: int, total: int, desc: str = "") -> None:
    """The default progress callback: does nothing."""


class StudioError(Exception):
    """Base of the errors a user should see as a message, not a traceback."""


class ValidationError(StudioError, ValueError):
    """A request parameter is invalid; raised before any model is touched."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


class ModelLoadError(StudioError, RuntimeError):
    """A model could not be loaded; the message names it and says what to do."""

    def __init__(self, model_ref: str, reason: str, hint: str = ""):
        self.model_ref = model_ref
        self.reason = reason
        self.hint = hint or (
            "Try another preset (--preset offline or tiny), a local folder "
            "(AIGC_<MODALITY>_MODEL=/path), or set HF_TOKEN for gated repos."
        )
        super().__init__(f"Cannot load model '{model_ref}': {reason}. {self.hint}")


class Cancelled(StudioError):
    """The run was stopped by the user."""


class CancelToken:
    """A thread-safe flag a run checks between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


def resolve_seed(seed: int | None) -> int:
    """A negative or missing seed means "pick one"; the chosen seed is always reported."""
    if seed is None or seed < 0:
        return random.randint(0, MAX_SEED)
    if seed > MAX_SEED:
        raise ValidationError("seed", f"must be between -1 and {MAX_SEED}")
    return int(seed)


# ---------------------------------------------------------------- requests


@dataclass(frozen=True)
class TextRequest:
    prompt: str
    system_prompt: str = "You are a helpful assistant for business users. Answer concisely."
    max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.9
    seed: int = -1


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    negative_prompt: str = ""
    width: int = 512
    height: int = 512
    num_inference_steps: int = 4
    guidance_scale: float = 0.0
    seed: int = -1
    num_images: int = 1


@dataclass(frozen=True)
class AudioRequest:
    prompt: str
    voice_preset: str = "v2/en_speaker_6"
    seed: int = -1


@dataclass(frozen=True)
class VideoRequest:
    prompt: str
    negative_prompt: str = ""
    width: int = 480
    height: int = 320
    num_frames: int = 17
    fps: int = 8
    num_inference_steps: int = 20
    guidance_scale: float = 5.0
    seed: int = -1


Request = TextRequest | ImageRequest | AudioRequest | VideoRequest


# ---------------------------------------------------------------- result


@dataclass
class GenerationResult:
    """What one generator call produced, with everything needed to reproduce it."""

    modality: str
    model_ref: str
    seed: int
    params: dict[str, Any]
    text: str | None = None
    files: list[Path] = field(default_factory=list)
    load_seconds: float = 0.0
    generate_seconds: float = 0.0
    cancelled: bool = False
    notes: list[str] = field(default_factory=list)
    record_id: str | None = None  # set once the review store has recorded it

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["files"] = [str(p) for p in self.files]
        return record


def request_params(request: Request) -> dict[str, Any]:
    """All parameters of a request as a plain dict (for records and metadata)."""
    return asdict(request)


class Timer:
    """Context manager measuring wall time in seconds."""

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


class Generator(Protocol):
    modality: str

    def load(self, model_ref: str, device: str, dtype: Any) -> Any: ...

    def generate(
        self,
        model: Any,
        request: Any,
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
        out_dir: Path | None = None,
    ) -> GenerationResult: ...

    def validate(self, request: Any) -> Any:
        """Return the request, corrected where that is safe (e.g. a snapped size),
        or raise ValidationError naming the field and the allowed range."""
        ...


# ---------------------------------------------------------------- validation helpers

MAX_PROMPT_CHARS = 4000


def check_prompt(prompt: Any, field_name: str = "prompt", max_chars: int = MAX_PROMPT_CHARS) -> str:
    """Strip control characters; reject empty or over-long prompts."""
    if not isinstance(prompt, str):
        raise ValidationError(field_name, "must be text")
    cleaned = "".join(ch for ch in prompt if ch in "\n\t" or ch.isprintable()).strip()
    if not cleaned:
        raise ValidationError(field_name, "is empty; please describe what you want")
    if len(cleaned) > max_chars:
        raise ValidationError(field_name, f"is {len(cleaned)} characters; the limit is {max_chars}")
    return cleaned


def check_range(field_name: str, value: Any, low: float, high: float, kind: type = int) -> Any:
    """Coerce to ``kind`` and check low <= value <= high."""
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ValidationError(field_name, f"must be a number between {low} and {high}") from None
    if isinstance(value, bool) or not (low <= number <= high):
        raise ValidationError(field_name, f"must be between {low} and {high} (got {value})")
    return number


def snap(value: int, multiple: int, minimum: int | None = None) -> int:
    """Round to the nearest multiple (at least ``minimum`` or one multiple)."""
    snapped = max(minimum or multiple, int(round(value / multiple)) * multiple)
    return snapped


# ---------------------------------------------------------------- output files


def new_output_path(out_dir: Path | None, modality: str, suffix: str) -> Path:
    """A collision-free file name under ``out_dir`` (created if needed)."""
    folder = Path(out_dir) if out_dir is not None else Path("outputs")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return folder / f"{modality}-{stamp}-{uuid.uuid4().hex[:10]}{suffix}"


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path with the same suffix; rename it to ``final`` on success.

    A crash mid-write leaves only a hidden ``.tmp`` file, never a partial ``final``.
    """
    final = Path(final)
    tmp = final.with_name(f".{final.stem}.tmp{final.suffix}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
