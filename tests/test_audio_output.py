"""The audio output serves a playable WAV as it is (no ffprobe per request) and leaves every
other file to gr.Audio's own check; its header reading agrees with libsndfile and ffprobe."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf
from gradio import processing_utils

from aigc_demo.record import provenance
from aigc_demo.ui.audio_output import AudioOutput, is_playable_wav

# libsndfile subtypes whose codec Gradio counts as browser-playable in a .wav
PLAYABLE_SUBTYPES = {"PCM_U8", "PCM_16", "PCM_24", "FLOAT"}
SUBTYPES = ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW", "IMA_ADPCM", "MS_ADPCM"]


def _wav(path, subtype: str, channels: int = 1):
    tone = 0.3 * np.sin(np.linspace(0, 440 * 2 * np.pi, 8000, dtype=np.float32))
    sf.write(path, np.stack([tone] * channels, axis=1) if channels > 1 else tone, 8000, subtype=subtype, format="WAV")
    return path


@pytest.mark.parametrize("subtype", SUBTYPES)
def test_the_header_check_never_calls_an_unplayable_codec_playable(tmp_path, subtype):
    path = _wav(tmp_path / f"{subtype}.wav", subtype)
    ours = is_playable_wav(path)
    assert sf.info(str(path)).subtype == subtype
    if ours:
        assert subtype in PLAYABLE_SUBTYPES
    if subtype == "PCM_16":  # what every audio backend writes
        assert ours
    if shutil.which("ffprobe"):  # Gradio's own check, where ffmpeg is installed
        assert not ours or processing_utils.audio_is_playable(str(path))


def test_a_studio_wav_with_its_record_inside_is_served_as_it_is(tmp_path):
    path = _wav(tmp_path / "speech.wav", "PCM_16")
    provenance.embed(path, {"record_id": "r1", "prompt": "hello " * 200}, sidecar=False)
    assert provenance.read_embedded(path)["record_id"] == "r1"
    served = AudioOutput(type="filepath").postprocess(str(path))
    assert served.path == str(path) and served.orig_name == "speech.wav"
    assert served == AudioOutput(type="filepath").postprocess(path)


def test_anything_else_goes_through_gr_audio(tmp_path):
    output = AudioOutput(type="filepath")
    assert output.postprocess(None) is None
    # A numpy value is written to Gradio's cache by gr.Audio itself.
    served = output.postprocess((8000, np.zeros(800, dtype=np.int16)))
    assert served.path.endswith(".wav") and served.path != str(tmp_path)
    assert sf.info(served.path).samplerate == 8000
    # A FLAC file and a WAV that is not one: not trusted by their name.
    flac = tmp_path / "tone.flac"
    sf.write(flac, np.zeros(800, dtype=np.float32), 8000, format="FLAC")
    fake = tmp_path / "fake.wav"
    fake.write_bytes(b"ID3 not a wav at all")
    assert not is_playable_wav(flac) and not is_playable_wav(fake) and not is_playable_wav(tmp_path / "missing.wav")
    assert output.postprocess(str(flac)).path.endswith("tone.flac")


def test_it_is_drawn_as_gr_audio():
    output = AudioOutput(label="Speech", type="filepath")
    assert isinstance(output, AudioOutput) and output.get_block_name() == "audio"
    assert output.get_config()["label"] == "Speech"
