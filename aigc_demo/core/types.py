"""What every layer shares: requests, results, errors, seeds, progress and cancel."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

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


class DiskFull(StudioError):
    """The data directory's disk is full: the output could not be saved (nothing was recorded)."""

    def __init__(self) -> None:
        super().__init__(
            "The server's disk is full, so the output could not be saved (nothing was recorded). "
            "Please tell the operator; requests that write no files still work."
        )


class OutOfMemory(StudioError):
    """Generation ran out of device memory even after the other models were unloaded."""


class CancelToken:
    """A thread-safe flag a run checks between steps; it also reads as set once its deadline
    (``time.monotonic()``, see :meth:`expire_at`) has passed, so a time limit needs no timer thread."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._deadline: float | None = None

    def cancel(self) -> None:
        self._event.set()

    def expire_at(self, deadline: float | None) -> None:
        """Read as cancelled from ``deadline`` on (None: no deadline)."""
        self._deadline = deadline

    @property
    def expired(self) -> bool:
        """Whether the deadline has passed (a Stop does not count)."""
        deadline = self._deadline  # read once: the run's thread may clear it while another polls
        return deadline is not None and time.monotonic() >= deadline

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or self.expired


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
    response_schema: str = ""  # a JSON schema the answer must follow, where the backend can enforce one
    repetition_penalty: float = 1.1  # > 1 discourages repeating recent words (small models loop)

    def messages(self) -> list[dict[str, str]]:
        """The chat messages every chat backend sends: the system prompt (when set), then the user's."""
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [*system, {"role": "user", "content": self.prompt}]


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
