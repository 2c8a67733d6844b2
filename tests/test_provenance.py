"""Provenance: the record goes into PNG / WAV / MP4 files and a sidecar, and comes back identical."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from aigc_demo.record import OutputRecord, provenance
from aigc_demo.core.text import AI_LABEL
from aigc_demo.record.provenance import FILE_LABEL, LABEL_KEY, embed, read, read_embedded, read_labels, sidecar_path


@pytest.fixture
def record() -> dict:
    """A realistic record: ~2 KB+ of JSON, Chinese prompt, characters ffmpeg/INFO must escape."""
    prompt = (
        "为一款手工青瓷茶杯写一段电商详情页文案，突出釉色、手感和送礼场景；语气温暖、专业。"
        ' Mention "dishwasher safe" = yes; price #1 \\ best; 第二行\n第三行 ✓ '
    ) * 6
    rec = OutputRecord(
        modality="image",
        scenario="retail",
        task="product_image",
        prompt=prompt,
        params={"prompt": prompt, "negative_prompt": "blurry, 低质量", "width": 512, "height": 512,
                "num_inference_steps": 4, "guidance_scale": 0.0, "seed": 1234567, "num_images": 1},
        seed=1234567,
        model_ref="stabilityai/sd-turbo",
        preset="cpu",
        device="cpu",
    ).provenance()
    assert len(json.dumps(rec, ensure_ascii=False).encode("utf-8")) > 2000
    return rec


def _png(path: Path) -> np.ndarray:
    pixels = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return pixels


def _wav(path: Path, **info: str) -> np.ndarray:
    t = np.arange(8000) / 16000
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    with sf.SoundFile(path, "w", samplerate=16000, channels=1, subtype="PCM_16") as handle:
        for key, value in info.items():
            setattr(handle, key, value)
        handle.write(samples)
    return samples


def _mp4(path: Path, frames: int = 6) -> None:
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(str(path), (32, 32), fps=8, codec="libx264",
                                         pix_fmt_out="yuv420p", macro_block_size=16)  # fmt: skip
    writer.send(None)
    for i in range(frames):
        writer.send(np.full((32, 32, 3), i * 40, dtype=np.uint8).tobytes())
    writer.close()


def _png_text_chunk_count(path: Path, key: bytes) -> int:
    data, pos, count = path.read_bytes(), 8, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind in (b"tEXt", b"iTXt", b"zTXt") and data[pos + 8 :].split(b"\0", 1)[0] == key:
            count += 1
        pos += 12 + length
    return count


def test_png_round_trip_keeps_pixels(tmp_path, record):
    path = tmp_path / "image.png"
    pixels = _png(path)
    assert embed(path, record) is True
    assert read(path) == record
    assert read_embedded(path) == record
    with Image.open(path) as image:  # PIL sees the chunks and decodes the same pixels
        assert image.size == (64, 48)
        assert np.array_equal(np.asarray(image), pixels)
        assert json.loads(image.text["aigc:record"]) == record
        assert image.text["AI-generated"] == FILE_LABEL
        assert AI_LABEL.en in FILE_LABEL and AI_LABEL.zh in FILE_LABEL  # the app's one label
        assert image.text["Software"].startswith("AIGC Industry Studio")
        assert "trainedAlgorithmicMedia" in image.text["XML:com.adobe.xmp"]
    assert json.loads(sidecar_path(path).read_text(encoding="utf-8")) == record
    assert sidecar_path(path).name == "image.png.json"
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]

    # embedding again replaces the record rather than adding a second one
    second = {**record, "seed": 7}
    embed(path, second)
    assert read(path) == second
    assert _png_text_chunk_count(path, b"aigc:record") == 1


def test_wav_round_trip_keeps_samples(tmp_path, record):
    path = tmp_path / "speech.wav"
    samples = _wav(path, title="old title", comment="old comment")
    assert embed(path, record) is True
    assert read(path) == record
    data, rate = sf.read(path, dtype="int16")
    assert rate == 16000 and np.array_equal(data, samples)
    info = sf.info(path)
    assert info.frames == len(samples) and info.subtype == "PCM_16"
    labels = read_labels(path)
    assert labels["IKEY"] == LABEL_KEY and labels["ISFT"].startswith("AIGC Industry Studio")
    with sf.SoundFile(path) as handle:  # libsndfile reads the short INFO fields we wrote
        assert handle.title == "AI-generated audio"
    assert json.loads(sidecar_path(path).read_text(encoding="utf-8")) == record
    # the old LIST/INFO chunk was replaced, not kept beside the new one
    assert path.read_bytes().count(b"INFO") == 1


def test_mp4_round_trip_keeps_frames(tmp_path, record):
    import imageio_ffmpeg

    path = tmp_path / "clip.mp4"
    _mp4(path)
    frames_before, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert embed(path, record) is True
    assert read(path) == record
    assert read_embedded(path) == record
    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] == frames_before == 6
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    decoded = [frame for frame in reader]
    assert meta["size"] == (32, 32) and len(decoded) == 6
    assert read_labels(path)["description"] == FILE_LABEL
    assert json.loads(sidecar_path(path).read_text(encoding="utf-8")) == record


def test_sidecar_fallback_and_sidecar_only_formats(tmp_path, record):
    png = tmp_path / "plain.png"
    _png(png)
    embed(png, record)
    _png(png)  # the file is replaced by one without text chunks: the sidecar still answers
    assert read_embedded(png) is None
    assert read(png) == record
    assert read(sidecar_path(png)) == record

    gif = tmp_path / "anim.gif"
    Image.new("P", (8, 8)).save(gif)
    assert embed(gif, record) is False
    assert read(gif) == record

    missing = tmp_path / "nothing.png"
    _png(missing)
    with pytest.raises(FileNotFoundError):
        read(missing)


def test_embed_refuses_a_file_that_is_not_what_it_says(tmp_path, record):
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"not a png at all")
    with pytest.raises(ValueError):
        embed(fake, record)
    assert fake.read_bytes() == b"not a png at all"  # untouched
    assert not sidecar_path(fake).exists()


def test_ffmetadata_parser_unescapes():
    text = ";FFMETADATA1\ncomment={\"a\": \"x\\=y\\;z\\#w\\\\\\\nnext\"}\ntitle=T\n[STREAM]\ncomment=stream\n"
    assert provenance._parse_ffmetadata(text) == {"comment": '{"a": "x=y;z#w\\\nnext"}', "title": "T"}
