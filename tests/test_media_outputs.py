"""The audio and video outputs serve the studio's own WAV and H.264 MP4 files as they are (no
ffprobe per request) and leave every other file to Gradio's own check; their reading agrees
with libsndfile, PyAV and (where ffmpeg is installed) Gradio's ffprobe check."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import gradio as gr
from gradio import processing_utils

from aigc_demo.record import provenance
from aigc_demo.ui.media_outputs import audio_output, is_playable_mp4, is_playable_wav, video_output

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
    served = audio_output(type="filepath").postprocess(str(path))
    assert served.path == str(path) and served.orig_name == "speech.wav"
    assert served == audio_output(type="filepath").postprocess(path)


def test_anything_else_goes_through_gr_audio(tmp_path):
    output = audio_output(type="filepath")
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


def _mp4(path, codec: str, container: str = "mp4"):
    import av

    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(4):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 40 * i, dtype=np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def test_an_h264_mp4_is_served_as_it_is_and_other_videos_go_through_gr_video(tmp_path):
    h264 = _mp4(tmp_path / "clip.mp4", "libx264")
    mpeg4 = _mp4(tmp_path / "old.mp4", "mpeg4")  # an MP4 no browser plays
    assert is_playable_mp4(h264) and not is_playable_mp4(mpeg4)
    assert not is_playable_mp4(tmp_path / "missing.mp4")
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"not a video")
    assert not is_playable_mp4(fake)
    served = video_output().postprocess(str(h264))
    assert served.path == str(h264) and served.orig_name == "clip.mp4"
    # Anything else is gr.Video's: converted where ffmpeg is installed, served as it is elsewhere.
    other = video_output().postprocess(str(mpeg4))
    if shutil.which("ffmpeg"):
        assert other.path != str(mpeg4) and is_playable_mp4(other.path)
    else:
        assert other == gr.Video().postprocess(str(mpeg4))
    if shutil.which("ffprobe"):
        assert processing_utils.video_is_playable(str(h264)) and not processing_utils.video_is_playable(str(mpeg4))


def test_a_studio_video_with_its_record_inside_is_served_as_it_is(tmp_path):
    from aigc_demo.backends.diffusers_video import write_mp4

    frames = np.stack([np.full((64, 64, 3), 30 * i, dtype=np.uint8) for i in range(5)])
    path = tmp_path / "studio.mp4"
    write_mp4(frames, path, fps=8, metadata={"comment": "record inside"})
    assert is_playable_mp4(path)
    assert video_output().postprocess(path).path == str(path)


def test_they_are_gradio_s_own_components_and_leave_no_stub_behind(tmp_path):
    from aigc_demo.ui import media_outputs

    audio, video = audio_output(label="Speech", type="filepath"), video_output(label="Clip")
    assert type(audio) is gr.Audio and type(video) is gr.Video
    assert audio.get_config()["label"] == "Speech" and video.get_config()["label"] == "Clip"
    assert not Path(media_outputs.__file__).with_suffix(".pyi").exists()  # no Component subclass
    # A video to convert keeps gr.Video's own postprocess.
    webm = video_output(format="webm")
    assert webm.postprocess.__func__ is gr.Video.postprocess
