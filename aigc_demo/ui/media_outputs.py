"""Audio and video outputs that serve the studio's own files as they are, without ffprobe.

For every audio or video file it shows, ``gr.Audio`` / ``gr.Video`` run ``ffprobe`` (where
ffmpeg is installed, as on Spaces) to ask whether the browser can play its codec: about 100 ms
per request on 2 cores, most of an audio request's HTTP overhead. The studio writes 16-bit PCM
WAV and H.264 MP4, which every browser plays. Reading the WAV header, or opening the MP4 with
PyAV (in-process, ~1 ms), answers the same question exactly; anything else (another container,
codec, header layout, a watermark or format to convert to) goes through Gradio's own check and
conversion, unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import gradio as gr
from gradio.data_classes import FileData

# WAV format tag and bits per sample that Gradio counts as browser-playable
# (gradio.processing_utils.PLAYABLE_AUDIO_CODECS: pcm_u8, pcm_s16le, pcm_s24le, pcm_f32le).
_PLAYABLE_WAV = {(1, 8), (1, 16), (1, 24), (3, 32)}
# (container, codec) pairs that gradio.processing_utils.video_is_playable accepts in an .mp4
_PLAYABLE_MP4_CODECS = {"h264", "av1"}


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


def is_playable_mp4(path: str | Path) -> bool:
    """True for an MP4 whose first video stream is H.264 or AV1 (PyAV reads the container)."""
    import av  # the video backend's encoder: present wherever videos are made

    try:
        with av.open(str(path)) as container:
            video = container.streams.video
            codec = video[0].codec_context.name if video else ""
            return container.format.name.startswith("mov") and codec in _PLAYABLE_MP4_CODECS
    except (av.FFmpegError, OSError, ValueError):
        return False


def _local(value: Any, suffix: str) -> bool:
    return isinstance(value, (str, Path)) and "://" not in str(value) and Path(value).suffix.lower() == suffix


def _serve_own(component: gr.Audio | gr.Video, suffix: str, playable: Callable[[Any], bool]) -> None:
    """Give ``component`` a ``postprocess`` that serves a playable ``suffix`` file as it is and
    hands anything else to the component's own. (On the instance, not in a subclass: Gradio
    writes a ``.pyi`` stub next to the module of every Component subclass when it is defined.)"""
    own = component.postprocess

    def postprocess(value: Any) -> Any:
        if _local(value, suffix) and playable(value):
            return FileData(path=str(value), orig_name=Path(value).name)
        return own(value)

    component.postprocess = postprocess  # type: ignore[method-assign]


def audio_output(**kwargs: Any) -> gr.Audio:
    """``gr.Audio(**kwargs)`` that trusts a playable WAV's header."""
    component = gr.Audio(**kwargs)
    _serve_own(component, ".wav", is_playable_wav)
    return component


def video_output(**kwargs: Any) -> gr.Video:
    """``gr.Video(**kwargs)`` that trusts an H.264 MP4 it can open (unless it must convert or watermark)."""
    component = gr.Video(**kwargs)
    if not component.streaming and not component.watermark.watermark and component.format in (None, "mp4"):
        _serve_own(component, ".mp4", is_playable_mp4)
    return component
