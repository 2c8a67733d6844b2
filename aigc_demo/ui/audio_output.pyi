"""The audio output: ``gr.Audio`` that serves a plain PCM WAV as it is, without ffprobe.

For every audio file it shows, ``gr.Audio`` runs ``ffprobe`` to ask whether the browser can play
its codec (about 40-60 ms per request on 2 cores: most of an audio request's HTTP overhead). The
studio's backends write 16-bit PCM WAV, which every browser plays; reading the file's first
bytes says so exactly. Anything else (another container, codec or header layout) goes through
``gr.Audio``'s own check and conversion, unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from gradio.data_classes import FileData

# WAV format tag and bits per sample that Gradio counts as browser-playable
# (gradio.processing_utils.PLAYABLE_AUDIO_CODECS: pcm_u8, pcm_s16le, pcm_s24le, pcm_f32le).
_PLAYABLE_WAV = {(1, 8), (1, 16), (1, 24), (3, 32)}


def is_playable_wav(path: str | Path) -> bool:
    """True for a RIFF/WAVE file whose first chunk is a ``fmt`` of a browser-playable PCM codec."""
    try:
        with open(path, "rb") as file:
            head = file.read(36)
    except OSError:
        return False
    if len(head) < 36 or head[:4] != b"RIFF" or head[8:16] != b"WAVEfmt ":
        return False
    tag = int.from_bytes(head[20:22], "little")
    bits = int.from_bytes(head[34:36], "little")
    return (tag, bits) in _PLAYABLE_WAV

from gradio.events import Dependency

class AudioOutput(gr.Audio):
    """``gr.Audio`` (same frontend component) that trusts a playable WAV's header."""

    is_template = True  # Gradio: draw it with the parent's (gr.Audio's) frontend component

    def postprocess(self, value: Any) -> FileData | bytes | None:
        if isinstance(value, (str, Path)) and Path(value).suffix.lower() == ".wav" and is_playable_wav(value):
            return FileData(path=str(value), orig_name=Path(value).name)
        return super().postprocess(value)
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component