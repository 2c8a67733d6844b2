"""Text-to-speech with transformers' port of Suno's Bark (``BarkModel`` + ``BarkProcessor``).

Bark speaks about 13 seconds per call, so long text is split at sentence boundaries and
spoken piece by piece (progress and cancel between pieces), then joined with a short pause
into one WAV file. The seed is applied once before the first piece: same seed, same audio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigc_demo.core.files import atomic_path, new_output_path
from aigc_demo.backends.hub import HubBackend
from aigc_demo.core.params import AUDIO_PARAMS
from aigc_demo.core.types import (
    AudioRequest,
    CancelToken,
    GenerationResult,
    ModelLoadError,
    ProgressFn,
    Timer,
    no_progress,
    request_params,
    resolve_seed,
)

if TYPE_CHECKING:
    import numpy as np
    from transformers import BarkModel, BarkProcessor

MAX_PIECE_CHARS = 200  # ~13 s of speech, Bark's comfortable length per call
PAUSE_SECONDS = 0.3  # silence between pieces

# Sampling as in Suno's original generate_audio (text_temp=0.7, waveform_temp=0.7, fine 0.5).
# Passed on every call so the seed matters whatever the checkpoint's generation config says.
SAMPLING: dict[str, Any] = {
    "do_sample": True,
    "semantic_temperature": 0.7,
    "coarse_temperature": 0.7,
    "fine_temperature": 0.5,
    "min_eos_p": 0.2,  # stop the semantic stage once EOS is likely (original Bark default)
}

@dataclass
class AudioModel:
    """What ``load`` returns; the ModelManager moves ``model`` (an nn.Module) to the device."""

    model: "BarkModel"
    processor: "BarkProcessor"
    model_ref: str


# ---------------------------------------------------------------- text splitting

# A sentence ends after . ! ? followed by whitespace (so "3.14" and "e.g.x" stay whole)
# or after 。！？ (no space in Chinese), with any closing quotes/brackets; newlines too.
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)|[。！？]+[\"'”’」』）)]*|\n")
# Words whose period does not end a sentence ("Dr. Smith", "e.g. this").
_ABBREVIATIONS = frozenset({"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "e.g.", "i.e.", "no."})
_CLAUSE_END = re.compile(r"[,;:，；：、]+")
_SPACE = re.compile(r"\s+")


def _cut_after(pattern: re.Pattern[str], text: str) -> list[str]:
    """Cut ``text`` right after each match of ``pattern`` (the separators stay attached)."""
    parts, start = [], 0
    for match in pattern.finditer(text):
        parts.append(text[start : match.end()])
        start = match.end()
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Greedily join consecutive parts while the result fits in ``max_chars``."""
    chunks: list[str] = []
    current = ""
    for part in parts:
        if current and len((current + part).strip()) > max_chars:
            chunks.append(current.strip())
            current = ""
        current += part
    if current.strip():
        chunks.append(current.strip())
    return chunks


def _cap(piece: str, max_chars: int, level: int = 0) -> list[str]:
    """Split an over-long piece at commas, then spaces, then anywhere."""
    if len(piece) <= max_chars:
        return [piece]
    splitters = (_CLAUSE_END, _SPACE)
    if level == len(splitters):
        cuts = (piece[i : i + max_chars].strip() for i in range(0, len(piece), max_chars))
        return [c for c in cuts if c]
    chunks = _pack(_cut_after(splitters[level], piece), max_chars)
    return [out for chunk in chunks for out in _cap(chunk, max_chars, level + 1)]


def split_sentences(text: str, max_chars: int = MAX_PIECE_CHARS) -> list[str]:
    """Split text into sentences (English . ! ? and Chinese 。！？), none over ``max_chars``.

    Whitespace runs collapse to one space; a sentence that is still too long is cut at
    commas, then at spaces, then (for unspaced text) every ``max_chars`` characters.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    sentences: list[str] = []
    pending = ""
    for part in _cut_after(_SENTENCE_END, text):
        words = (pending + part).split()
        pending = ""
        if words[-1].lower() in _ABBREVIATIONS:
            pending = " ".join(words) + " "  # glue to the next part
        else:
            sentences.append(" ".join(words))
    if pending.strip():
        sentences.append(pending.strip())
    return [piece for s in sentences for piece in _cap(s, max_chars)]


# ---------------------------------------------------------------- generator


def sample_rate_of(model: "BarkModel") -> int:
    """Bark's output rate: ``generation_config.sample_rate``, else the codec's rate."""
    rate = getattr(model.generation_config, "sample_rate", None)
    return int(rate or model.config.codec_config.sampling_rate)


def _cancel_criteria(cancel: CancelToken) -> Any:
    """A StoppingCriteria ending the semantic stage when ``cancel`` is set."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _StopOnCancel(StoppingCriteria):
        def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
            return torch.full((input_ids.shape[0],), cancel.cancelled, dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([_StopOnCancel()])


class BarkAudio(HubBackend):
    modality = "audio"
    scheme = "bark"
    params = AUDIO_PARAMS

    def load(self, device: str, dtype: Any) -> AudioModel:
        """Load processor (tokenizer + voice presets) and model; the manager places it."""
        from transformers import BarkModel, BarkProcessor

        model_ref = self.location()
        folder = Path(model_ref).expanduser()
        if (folder.is_absolute() or model_ref.startswith((".", "~"))) and not folder.is_dir():
            raise ModelLoadError(model_ref, "no such folder")
        processor = BarkProcessor.from_pretrained(model_ref)
        model = BarkModel.from_pretrained(model_ref, **({"dtype": dtype} if dtype is not None else {}))
        return AudioModel(model=model.eval(), processor=processor, model_ref=model_ref)

    def generate(
        self,
        model: AudioModel,
        request: AudioRequest,
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
        out_dir: Path | None = None,
    ) -> GenerationResult:
        import numpy as np
        import soundfile as sf
        import torch

        seed = resolve_seed(request.seed)
        notes: list[str] = []

        preset = self._usable_preset(model, request.voice_preset, notes)

        pieces = split_sentences(request.prompt)
        rate = sample_rate_of(model.model)
        extra: dict[str, Any] = dict(SAMPLING)
        if cancel is not None:
            extra["semantic_stopping_criteria"] = _cancel_criteria(cancel)

        spoken: list[np.ndarray] = []
        cancelled = False
        with Timer() as timer:
            torch.manual_seed(seed)  # seeds CPU and all accelerators
            for index, piece in enumerate(pieces):
                if cancel is not None and cancel.cancelled:
                    cancelled = True
                    break
                wave = self._speak(model, piece, preset, extra)
                if cancel is not None and cancel.cancelled:
                    cancelled = True  # stopped mid-piece: that piece is not what was asked for
                    break
                spoken.append(wave)
                progress(index + 1, len(pieces), "speaking")

            files: list[Path] = []
            if spoken:
                pause = np.zeros(int(PAUSE_SECONDS * rate), dtype=np.float32)
                joined = [part for wave in spoken for part in (pause, wave)][1:]
                audio = np.clip(np.concatenate(joined), -1.0, 1.0)
                path = new_output_path(out_dir, self.modality, ".wav")
                with atomic_path(path) as tmp:
                    sf.write(tmp, audio, rate, subtype="PCM_16", format="WAV")
                files.append(path)

        notes.append(f"{rate} Hz, {len(spoken)} of {len(pieces)} piece(s) spoken")
        if cancelled:
            notes.append(f"cancelled after {len(spoken)} of {len(pieces)} piece(s)")
        params = request_params(request)
        params["seed"] = seed
        return GenerationResult(
            modality=self.modality,
            model_ref=model.model_ref,
            seed=seed,
            params=params,
            files=files,
            generate_seconds=timer.seconds,
            cancelled=cancelled,
            notes=notes,
        )

    @staticmethod
    def _usable_preset(model: AudioModel, preset: str, notes: list[str]) -> str | None:
        """The preset if this model ships it and its arrays load, else None (with a note)."""
        if not preset:
            return None
        if preset not in model.processor.available_voice_presets:
            notes.append(f"voice preset {preset!r} is not available in this model; used no preset")
            return None
        try:  # hub checkpoints fetch a preset's arrays on first use; offline that can fail
            model.processor("", voice_preset=preset)
        except (OSError, ValueError) as exc:
            notes.append(f"voice preset {preset!r} could not be loaded ({exc}); used no preset")
            return None
        return preset

    @staticmethod
    def _speak(model: AudioModel, text: str, preset: str | None, extra: dict[str, Any]) -> "np.ndarray":
        """One Bark call: text -> mono float32 waveform at the model's sample rate."""
        import torch

        inputs = model.processor(text, voice_preset=preset, return_tensors="pt")
        device = model.model.device
        inputs = {key: value.to(device) for key, value in inputs.items()}
        with torch.inference_mode():
            wave = model.model.generate(**inputs, **extra)
        return wave[0].float().cpu().numpy().astype("float32", copy=False)
