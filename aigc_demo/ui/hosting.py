"""Hosting helpers: ZeroGPU on Hugging Face Spaces, with no hard dependency on `spaces`."""

from __future__ import annotations

import importlib.util
import inspect
import os
from typing import Any, Callable, Mapping

MAX_GPU_SECONDS = 300


def on_zero_gpu() -> bool:
    """True on a Spaces ZeroGPU slot (the `spaces` package and a Space id are present)."""
    return bool(os.environ.get("SPACE_ID")) and importlib.util.find_spec("spaces") is not None


def estimate_seconds(arguments: Mapping[str, Any], base: float, per_unit: float, unit_keys: tuple[str, ...]) -> int:
    """GPU time for a request: ``base`` plus ``per_unit`` times the product of its sizes."""
    units = 1.0
    for key in unit_keys:
        value = arguments.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            units *= float(value)
    return int(min(MAX_GPU_SECONDS, base + per_unit * units))


def gpu_function(fn: Callable[..., Any], base: float, per_unit: float, unit_keys: tuple[str, ...]) -> Callable[..., Any]:
    """Wrap ``fn`` with ``spaces.GPU`` on ZeroGPU, its duration growing with the request."""
    if not on_zero_gpu():
        return fn
    import spaces  # only on Spaces

    signature = inspect.signature(fn)

    def duration(*args: Any, **kwargs: Any) -> int:
        return estimate_seconds(signature.bind_partial(*args, **kwargs).arguments, base, per_unit, unit_keys)

    return spaces.GPU(duration=duration)(fn)


# The corner buttons of media outputs. "share" posts to a Spaces discussion and fails anywhere
# else ("Must be on Spaces to share"), so it is offered on Spaces only.
_MEDIA_BUTTONS = {
    "image": ["download", "fullscreen"],
    "gallery": ["download", "download_all", "fullscreen"],
    "audio": ["download"],
    "video": ["download"],
}


def on_spaces() -> bool:
    """True on Hugging Face Spaces (it sets SPACE_ID), ZeroGPU or not."""
    return bool(os.environ.get("SPACE_ID"))


def media_buttons(kind: str) -> list[str]:
    """The corner buttons for a ``kind`` of media output (image, gallery, audio, video) here."""
    return [*_MEDIA_BUTTONS[kind], *(["share"] if on_spaces() else [])]
