"""Batched image generation on the real tiny pipeline: one call for concurrent compatible
requests gives each request the image it would get alone, and its own record."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from aigc_demo.batching import Batcher, batch_key
from aigc_demo.core.types import ImageRequest
from aigc_demo.record import provenance

SIZE = dict(width=64, height=64, num_inference_steps=2)
MAX_LEVEL_DIFF = 2  # batched matrix products may round differently: at most 2 of 255 levels


def requests(count: int, **changes) -> list[ImageRequest]:
    return [ImageRequest(f"product photo {i} · 产品照片", seed=100 + i, **{**SIZE, **changes}) for i in range(count)]


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


@pytest.fixture(scope="module")
def backend_and_pipe(tiny_model):
    import torch

    from aigc_demo.backends.diffusers_image import DiffusersImage

    backend = DiffusersImage(str(tiny_model("image")))
    return backend, backend.load("cpu", torch.float32)


def test_batch_equals_one_at_a_time_for_the_same_seeds(backend_and_pipe, tmp_path):
    backend, pipe = backend_and_pipe
    batch = requests(4)
    alone = [backend.generate(pipe, r, out_dir=tmp_path / "alone") for r in batch]
    together = backend.generate_batch(pipe, batch, out_dirs=[tmp_path / f"b{i}" for i in range(4)])
    assert len(together) == 4
    for one, joint, request in zip(alone, together, batch):
        assert joint.seed == one.seed == request.seed and joint.params == one.params
        (path,) = joint.files
        assert path.parent == tmp_path / f"b{batch.index(request)}"
        assert np.abs(pixels(path) - pixels(one.files[0])).max() <= MAX_LEVEL_DIFF
    # Different seeds are different images (the batch did not reuse one noise for all).
    assert np.abs(pixels(together[0].files[0]) - pixels(together[1].files[0])).max() > MAX_LEVEL_DIFF


def test_batch_key_separates_what_cannot_share_a_call():
    model = object()
    base = requests(1)[0]
    assert batch_key("image", model, base) == batch_key("image", model, requests(2)[1])
    assert batch_key("image", model, base) != batch_key("image", model, requests(1, width=128)[0])
    assert batch_key("image", model, base) != batch_key("image", object(), base)
    assert batch_key("image", model, requests(1, num_images=2)[0]) is None
    batchable = type("B", (), {"generate_batch": 1})()
    assert Batcher().accepts("image", batchable) and not Batcher().accepts("text", batchable)
    assert Batcher(max_batch_size=1).accepts("image", batchable) is False


def test_concurrent_studio_requests_run_as_one_batch_each_with_its_own_record(make_studio):
    studio = make_studio()
    studio.load("image")  # loaded first: the requests then reach the batcher together
    studio.batcher = Batcher(max_batch_size=4, window_s=5.0)  # full batch starts at once
    batch = requests(4)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda r: studio.run("image", r), batch))
    assert studio.batcher.batches == [4]
    assert len({r.record_id for r in results}) == 4
    for result, request in zip(results, batch):
        assert result.seed == request.seed
        stored = studio.store.get_record(result.record_id)
        assert stored.seed == request.seed and stored.prompt == request.prompt
        (path,) = result.files
        assert stored.file_paths == [str(path)]
        assert provenance.read_embedded(path)["id"] == result.record_id
        assert any("one batch with 3 other" in note for note in result.notes)
    # The same requests one at a time give the same images.
    studio.batcher = Batcher(max_batch_size=1)
    for joint, request in zip(results, batch):
        alone = studio.run("image", request)
        assert np.abs(pixels(joint.files[0]) - pixels(alone.files[0])).max() <= MAX_LEVEL_DIFF


def test_incompatible_concurrent_requests_run_in_separate_batches(make_studio):
    studio = make_studio()
    studio.load("image")
    studio.batcher = Batcher(max_batch_size=2, window_s=5.0)
    mixed = requests(2) + requests(2, width=96)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda r: studio.run("image", r), mixed))
    assert sorted(studio.batcher.batches) == [2, 2]
    assert [Image.open(r.files[0]).size[0] for r in results] == [64, 64, 96, 96]
    assert len({r.record_id for r in results}) == 4


def test_more_requests_than_a_batch_make_several_batches(make_studio):
    studio = make_studio()
    studio.load("image")
    studio.batcher = Batcher(max_batch_size=2, window_s=0.5)
    batch = requests(5)
    with ThreadPoolExecutor(5) as pool:
        results = list(pool.map(lambda r: studio.run("image", r), batch))
    assert sum(studio.batcher.batches) == 5 and max(studio.batcher.batches) <= 2
    assert [r.seed for r in results] == [r.seed for r in batch]
    assert all(len(r.files) == 1 for r in results)


def test_requests_that_cannot_batch_still_take_turns(make_studio):
    """Two-image requests run alone (the one-request path), one after the other."""
    studio = make_studio()
    studio.load("image")
    studio.batcher = Batcher(max_batch_size=4, window_s=5.0)
    pair = requests(3, num_images=2)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda r: studio.run("image", r), pair))
    assert studio.batcher.batches == [1, 1, 1]
    assert [len(r.files) for r in results] == [2, 2, 2]
    assert not any("one batch" in note for r in results for note in r.notes)


def test_a_free_device_waits_for_the_clients_of_the_last_batch(make_studio):
    """Under steady load the clients of a batch come back one by one: the next batch waits for
    them, not longer than the patience, instead of starting with whoever is first."""
    studio = make_studio()
    studio.load("image")
    studio.batcher = Batcher(max_batch_size=4, window_s=5.0, patience_s=60.0)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda r: studio.run("image", r), requests(4)))  # four at once: one batch
    studio.batcher.window_s = 0.0  # from here on only the patience can gather a batch

    def one_by_one(pairs: tuple[float, ImageRequest]):
        delay, request = pairs
        time.sleep(delay)
        return studio.run("image", request)

    with ThreadPoolExecutor(4) as pool:
        back = list(pool.map(one_by_one, zip([0.0, 0.3, 0.6, 0.9], requests(4))))
    assert studio.batcher.batches == [4, 4]
    assert [r.seed for r in back] == [r.seed for r in requests(4)]
    studio.batcher.patience_s = 0.5  # only two of the four come back: they wait that long, then run
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one_by_one, zip([0.0, 0.1], requests(2))))
    assert studio.batcher.batches == [4, 4, 2]


def test_one_client_at_a_time_never_waits(make_studio):
    studio = make_studio()
    studio.load("image")
    studio.batcher = Batcher(max_batch_size=4, patience_s=60.0)
    started = time.monotonic()
    for request in requests(3):
        studio.run("image", request)
    assert studio.batcher.batches == [1, 1, 1]
    assert time.monotonic() - started < 30  # not one patience spent waiting for company
