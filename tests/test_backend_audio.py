"""The Bark audio backend end to end on the tiny Bark model, plus the pure sentence splitter;
its parameters as declared in ``core.params``."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_demo.backends.bark_audio import AudioModel, BarkAudio, sample_rate_of, split_sentences
from aigc_demo.core.params import AUDIO_PARAMS, VOICE_PRESETS
from aigc_demo.core.types import AudioRequest, CancelToken, ModelLoadError, ValidationError
from aigc_demo.runtime import ModelManager
from aigc_demo.tiny.audio import TINY_VOICE_PRESETS

MAX_AUDIO_PROMPT_CHARS = AUDIO_PARAMS["prompt"].max_chars

# ---------------------------------------------------------------- split_sentences


def test_split_english_sentences():
    text = "Hello there. How are you?  I'm fine!\nPi is 3.14, e.g. roughly. Ask Dr. Li"
    assert split_sentences(text) == [
        "Hello there.",
        "How are you?",
        "I'm fine!",
        "Pi is 3.14, e.g. roughly.",  # no split inside numbers or after abbreviations
        "Ask Dr. Li",
    ]


def test_split_keeps_closing_quotes():
    assert split_sentences('He said "Stop." Then he left.') == ['He said "Stop."', "Then he left."]


def test_split_chinese_sentences():
    assert split_sentences("你好。今天天气很好！你呢？我也好") == ["你好。", "今天天气很好！", "你呢？", "我也好"]


def test_split_mixed_and_blank():
    assert split_sentences("Hi! 你好。 OK.") == ["Hi!", "你好。", "OK."]
    assert split_sentences("   \n  ") == []


def test_long_sentence_split_at_commas_then_spaces():
    clause = "word " * 12  # 60 chars
    text = ", ".join([clause.strip()] * 6) + "."
    pieces = split_sentences(text, max_chars=80)
    assert len(pieces) > 1
    assert all(len(p) <= 80 for p in pieces)
    assert " ".join(pieces).split() == text.split()  # nothing lost, nothing added
    assert pieces[0].endswith(",")  # cut after a comma, not mid-clause

    no_commas = "abc " * 100
    pieces = split_sentences(no_commas, max_chars=50)
    assert all(len(p) <= 50 for p in pieces)
    assert " ".join(pieces).split() == no_commas.split()


def test_long_unspaced_chinese_is_cut_hard():
    text = "很" * 450
    pieces = split_sentences(text, max_chars=200)
    assert [len(p) for p in pieces] == [200, 200, 50]
    assert "".join(pieces) == text

    with_commas = "，".join(["好" * 90] * 4) + "。"
    pieces = split_sentences(with_commas, max_chars=200)
    assert all(len(p) <= 200 for p in pieces) and len(pieces) == 2
    assert "".join(pieces) == with_commas


# ---------------------------------------------------------------- validation and loading


def test_validate_voice_preset_and_fields():
    assert BarkAudio.params is AUDIO_PARAMS and MAX_AUDIO_PROMPT_CHARS == 2000
    ok, notes = AUDIO_PARAMS.validate(AudioRequest("  Hello  ", voice_preset=" v2/zh_speaker_3 ", seed=5))
    assert (ok.prompt, ok.voice_preset, ok.seed) == ("Hello", "v2/zh_speaker_3", 5) and notes == []
    assert AUDIO_PARAMS.validate(AudioRequest("Hello", voice_preset=""))[0].voice_preset == ""
    assert AUDIO_PARAMS.validate(AudioRequest("Hello", voice_preset="en_speaker_6"))[0].voice_preset == "en_speaker_6"
    assert "v2/en_speaker_6" in VOICE_PRESETS and set(TINY_VOICE_PRESETS) <= set(VOICE_PRESETS)  # offered in the UI

    with pytest.raises(ValidationError) as err:
        AUDIO_PARAMS.validate(AudioRequest("Hello", voice_preset="v2/xx_speaker_1"))
    assert err.value.field == "voice_preset"
    assert "v2/en_speaker_6" in str(err.value)

    for bad, field in (
        (AudioRequest("Hello", voice_preset="../../etc/passwd"), "voice_preset"),
        (AudioRequest("Hello", seed=2**40), "seed"),
        (AudioRequest(""), "prompt"),
        (AudioRequest("x" * (MAX_AUDIO_PROMPT_CHARS + 1)), "prompt"),
    ):
        with pytest.raises(ValidationError) as err:
            AUDIO_PARAMS.validate(bad)
        assert err.value.field == field


def test_missing_folder_is_a_model_load_error(tmp_path):
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(ModelLoadError) as err:
        ModelManager(device="cpu").get("audio", missing, BarkAudio(missing).load)
    assert missing in str(err.value) and "no such folder" in str(err.value)


# ---------------------------------------------------------------- generation (tiny model)


@pytest.fixture(scope="module")
def backend(tiny_model) -> BarkAudio:
    return BarkAudio(str(tiny_model("audio")))


@pytest.fixture(scope="module")
def bark(backend) -> AudioModel:
    return backend.load("cpu", None)


def _read(path: Path):
    import soundfile as sf

    return sf.read(path, dtype="float32")


def test_wav_is_valid_at_model_rate(backend, bark, tmp_path):
    result = backend.generate(bark, AudioRequest("Hello world.", seed=1), out_dir=tmp_path)
    assert not result.cancelled and len(result.files) == 1
    path = result.files[0]
    assert path.suffix == ".wav" and path.parent == tmp_path
    assert not list(tmp_path.glob(".*tmp*"))  # atomic write left no temp file
    samples, rate = _read(path)
    assert rate == sample_rate_of(bark.model) == 24_000
    assert samples.ndim == 1 and len(samples) > 0
    assert result.seed == 1 and result.params["seed"] == 1
    assert result.params["voice_preset"] == "v2/en_speaker_6"  # the default, shipped by the tiny model
    assert any("24000 Hz" in note for note in result.notes)


def test_same_seed_same_audio_different_seed_differs(backend, bark, tmp_path):
    def speak(seed: int):
        result = backend.generate(bark, AudioRequest("Good morning.", seed=seed), out_dir=tmp_path)
        return _read(result.files[0])[0]

    first, again, other = speak(7), speak(7), speak(8)
    assert first.shape == again.shape and (first == again).all()
    assert first.shape != other.shape or not (first == other).all()


def test_random_seed_is_reported(backend, bark, tmp_path):
    result = backend.generate(bark, AudioRequest("Hi.", seed=-1), out_dir=tmp_path)
    assert 0 <= result.seed < 2**32 and result.params["seed"] == result.seed


def test_unshipped_preset_falls_back_with_a_note(backend, bark, tmp_path):
    assert set(TINY_VOICE_PRESETS) <= set(bark.processor.available_voice_presets)
    assert "v2/de_speaker_3" not in bark.processor.available_voice_presets
    result = backend.generate(
        bark, AudioRequest("Hallo.", voice_preset="v2/de_speaker_3", seed=2), out_dir=tmp_path
    )
    assert result.files and any("v2/de_speaker_3" in note for note in result.notes)

    no_preset = backend.generate(bark, AudioRequest("Hallo.", voice_preset="", seed=2), out_dir=tmp_path)
    assert not any("preset" in note for note in no_preset.notes)
    assert (_read(result.files[0])[0] == _read(no_preset.files[0])[0]).all()


def test_long_text_is_spoken_piece_by_piece(backend, bark, tmp_path):
    text = "One. Two! Three? 四。"
    calls: list[tuple[int, int, str]] = []
    full = backend.generate(
        bark, AudioRequest(text, seed=3), out_dir=tmp_path, progress=lambda *a: calls.append(a)
    )
    assert calls == [(i, 4, "speaking") for i in range(1, 5)]
    assert any("4 of 4 piece(s)" in note for note in full.notes)
    one_piece = backend.generate(bark, AudioRequest("One.", seed=3), out_dir=tmp_path)
    # four pieces plus three pauses are longer than one piece
    assert len(_read(full.files[0])[0]) > 3 * len(_read(one_piece.files[0])[0])


def test_cancel_between_pieces_stops_early(backend, bark, tmp_path):
    token = CancelToken()
    calls: list[int] = []

    def progress(step: int, total: int, desc: str) -> None:
        calls.append(step)
        token.cancel()  # the user presses Stop while the first piece finishes

    result = backend.generate(
        bark, AudioRequest("One. Two. Three.", seed=4), out_dir=tmp_path, progress=progress, cancel=token
    )
    assert result.cancelled and calls == [1]
    assert len(result.files) == 1 and len(_read(result.files[0])[0]) > 0  # what was spoken is kept
    assert any("cancelled after 1 of 3" in note for note in result.notes)


def test_cancel_before_start_writes_nothing(backend, bark, tmp_path):
    token = CancelToken()
    token.cancel()
    result = backend.generate(bark, AudioRequest("One. Two.", seed=5), out_dir=tmp_path, cancel=token)
    assert result.cancelled and result.files == []


class _CancelAfterReads(CancelToken):
    """A real token that becomes cancelled after it has been checked ``n`` times."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.reads = n, 0

    @property
    def cancelled(self) -> bool:
        self.reads += 1
        if self.reads >= self.n:
            self.cancel()
        return super().cancelled


def test_cancel_mid_piece_stops_the_semantic_stage(backend, bark, tmp_path):
    token = _CancelAfterReads(3)  # 1st: before the piece; then inside generation
    result = backend.generate(bark, AudioRequest("One.", seed=6), out_dir=tmp_path, cancel=token)
    assert result.cancelled and result.files == []  # a half-spoken piece is dropped
    assert token.reads > 2  # the stopping criterion consulted the token during generation


def test_preset_with_missing_arrays_falls_back(tiny_model, tmp_path):
    import shutil

    folder = tmp_path / "bark"
    shutil.copytree(tiny_model("audio"), folder)
    for npy in (folder / "speaker_embeddings" / "v2").glob("zh_speaker_0_*.npy"):
        npy.unlink()
    backend = BarkAudio(str(folder))
    model = backend.load("cpu", None)
    assert "v2/zh_speaker_0" in model.processor.available_voice_presets  # listed, not loadable
    result = backend.generate(
        model, AudioRequest("你好。", voice_preset="v2/zh_speaker_0", seed=1), out_dir=tmp_path
    )
    assert result.files and any("could not be loaded" in note for note in result.notes)
