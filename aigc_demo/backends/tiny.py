"""``tiny:<modality>``: random-weight models built from configs (``aigc_demo/tiny``), loaded by
the same backends as real checkpoints. Seconds on a CPU, no network; their output is noise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aigc_demo.backends.bark_audio import BarkAudio
from aigc_demo.backends.diffusers_image import DiffusersImage
from aigc_demo.backends.diffusers_video import DiffusersVideo
from aigc_demo.backends.transformers_text import TransformersText
from aigc_demo.tiny import tiny_model_path


class _Tiny:
    """Mixed into a real backend: the model folder is built (once) instead of downloaded."""

    scheme = "tiny"
    smoke_test = True
    modality: str
    cache_dir: Path | None

    def __init__(self, name: str, **options: Any) -> None:
        if name != self.modality:
            raise ValueError(f"tiny:{name}: the tiny {self.modality} model is 'tiny:{self.modality}'")
        super().__init__(name, **options)  # type: ignore[call-arg]

    def location(self) -> str:
        return str(tiny_model_path(self.modality, self.cache_dir / "tiny" if self.cache_dir else None))

    def available_offline(self) -> bool:
        return True

    def size_hint(self) -> int:
        return 0


class TinyText(_Tiny, TransformersText):
    pass


class TinyImage(_Tiny, DiffusersImage):
    pass


class TinyAudio(_Tiny, BarkAudio):
    pass


class TinyVideo(_Tiny, DiffusersVideo):
    pass
