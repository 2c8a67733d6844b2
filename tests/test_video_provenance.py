"""Video in one encode: the record is known before the file is written (``core.stamp``), so the
one H.264 encode carries it and the studio only adds the sidecar (no ffmpeg remux)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from aigc_demo.backends.diffusers_video import DiffusersVideo, write_mp4
from aigc_demo.core import stamp as stamps
from aigc_demo.core.types import VideoRequest
from aigc_demo.record import provenance

REQUEST = VideoRequest("waves at dusk · 黄昏的海浪", width=64, height=64, num_frames=5, num_inference_steps=2, seed=4)


def test_write_mp4_puts_the_tags_in_the_one_encode(tmp_path):
    record = {"id": "abc", "prompt": "海浪 waves", "ai_generated": True}
    frames = np.random.default_rng(0).integers(0, 255, size=(5, 48, 64, 3), dtype=np.uint8)
    path = tmp_path / "clip.mp4"
    write_mp4(frames, path, 8, provenance.video_tags(record))
    assert provenance.read_embedded(path) == record
    assert provenance.read_labels(path)["description"] == provenance.FILE_LABEL
    import imageio_ffmpeg

    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] == 5


def test_embed_of_a_carried_record_leaves_the_file_as_written(tmp_path):
    record = {"id": "abc", "prompt": "waves"}
    frames = np.zeros((3, 32, 32, 3), dtype=np.uint8)
    path = tmp_path / "clip.mp4"
    write_mp4(frames, path, 8, provenance.video_tags(record))
    before = path.read_bytes()
    assert provenance.embed(path, record, carried=True) is True
    assert path.read_bytes() == before  # not rewritten
    assert provenance.read(provenance.sidecar_path(path)) == record


def test_the_backend_writes_the_open_stamp_into_its_file(tiny_model, tmp_path):
    import torch

    backend = DiffusersVideo(str(tiny_model("video")))
    pipe = backend.load("cpu", torch.float32)
    seen = []

    def record(result):
        seen.append(result.params["num_frames"])
        return {"id": "run-1", "seed": result.seed, "params": result.params}

    stamp = stamps.Stamp(record=record, tags=provenance.video_tags)
    with stamps.opened(tmp_path, stamp):
        result = backend.generate(pipe, REQUEST, out_dir=tmp_path)
    assert stamps.for_dir(tmp_path) is None  # closed with its run
    (path,) = result.files
    embedded = provenance.read_embedded(path)
    assert embedded["id"] == "run-1" and embedded["seed"] == 4
    assert stamp.carries(path, embedded) and seen == [5]
    # Without an open stamp the file is written plainly (no record inside).
    other = backend.generate(pipe, REQUEST, out_dir=tmp_path / "plain")
    assert provenance.read_embedded(other.files[0]) is None


@pytest.mark.parametrize("modality", ["video", "image"])
def test_studio_records_what_the_file_carries(make_studio, modality):
    """The record id inside the published file is the stored record's, and the whole
    embedded record equals the stored record's provenance (same created_at)."""
    studio = make_studio()
    from aigc_demo.core.types import ImageRequest

    request = REQUEST if modality == "video" else ImageRequest("waves", width=64, height=64, num_inference_steps=2, seed=4)
    result = studio.run(modality, request)
    (path,) = result.files
    stored = studio.store.get_record(result.record_id)
    assert provenance.read_embedded(path) == _json(stored.provenance())
    assert provenance.read(provenance.sidecar_path(path)) == _json(stored.provenance())
    assert Path(path).parent == studio.outputs_dir


def test_two_video_runs_get_their_own_records(make_studio):
    studio = make_studio()
    first = studio.run("video", REQUEST)
    second = studio.run("video", dataclasses.replace(REQUEST, seed=5))
    ids = {provenance.read_embedded(r.files[0])["id"] for r in (first, second)}
    assert ids == {first.record_id, second.record_id} and len(ids) == 2


def _json(record: dict) -> dict:
    import json

    return json.loads(json.dumps(record, default=str))
