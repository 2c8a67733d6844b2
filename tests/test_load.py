"""Load: 16 clients x 5 requests across modalities, and 50 load/unload cycles without growth.

The app runs with a small queue (AIGC_QUEUE_SIZE=8) so that some requests meet a full queue:
each request must end with a correct answer or a clear "queue is full, try again in about N s" (HTTP 429), within
a bounded time, and no model may be loaded twice.
"""

from __future__ import annotations

import gc
import json
import wave
import weakref
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from conftest import output_path, running_app

pytestmark = pytest.mark.slow

CLIENTS, REQUESTS = 16, 5
QUEUE_SIZE = 8
REQUEST_TIMEOUT = 120  # seconds; a request still waiting after this counts as hung
MODALITIES = ("text", "image", "audio", "video")


@pytest.fixture(scope="module")
def busy_app(tmp_path_factory, app_cache):
    data = tmp_path_factory.mktemp("load-data")
    env = {"AIGC_CACHE_DIR": str(app_cache), "AIGC_QUEUE_SIZE": str(QUEUE_SIZE)}
    with running_app(data, data / "server.log", env) as (url, _):
        yield url


def _request(modality: str, seed: int) -> dict:
    prompt = f"load test {modality} {seed} 竹子 🎍"
    return {
        "text": dict(prompt=prompt, max_new_tokens=4, seed=seed),
        "image": dict(prompt=prompt, width=64, height=64, num_inference_steps=1, seed=seed),
        "audio": dict(prompt=prompt, seed=seed),
        "video": dict(prompt=prompt, width=64, height=64, num_frames=5, num_inference_steps=1, seed=seed),
    }[modality] | {"api_name": f"/generate_{modality}"}


def _check(modality: str, seed: int, output: tuple) -> None:
    """The answer is the one asked for: the seed, the record, a valid file of the right kind."""
    value, used_seed, details = output[:3]
    assert used_seed == seed and details["seed"] == seed and details["record_id"], details
    if modality == "text":
        assert isinstance(value, str)
    elif modality == "image":
        with Image.open(output_path(value[0])) as image:
            assert image.size == (64, 64)
    elif modality == "audio":
        with wave.open(str(output_path(value))) as wav:
            assert wav.getnframes() > 0
    else:
        assert output_path(value).suffix == ".mp4" and output_path(value).stat().st_size > 0


def _client_session(url: str, index: int) -> list[str]:
    """One user: their own Client, five requests across the modalities, one after another."""
    import httpx
    from gradio_client import Client
    from gradio_client.exceptions import AppError
    from gradio_client.utils import QueueError

    client = Client(url, analytics_enabled=False, verbose=False)
    outcomes = []
    for j in range(REQUESTS):
        modality, seed = MODALITIES[(index + j) % len(MODALITIES)], index * 100 + j
        try:
            output = client.submit(**_request(modality, seed)).result(timeout=REQUEST_TIMEOUT)
        except (QueueError, AppError) as error:
            if "queue is full" not in str(error).lower():
                raise
            outcomes.append("queue full")
            continue
        except httpx.HTTPStatusError as error:  # the app's own refusal: 429, saying how long to wait
            detail = error.response.json()["detail"]
            if error.response.status_code != 429 or "try again in about" not in detail:
                raise
            outcomes.append("queue full")
            continue
        _check(modality, seed, output)
        outcomes.append(f"ok {modality}")
    return outcomes


def test_sixteen_clients_get_answers_or_queue_full_and_models_load_once(busy_app):
    from gradio_client import Client

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(_client_session, busy_app, i) for i in range(CLIENTS)]
        outcomes = Counter(o for f in futures for o in f.result(timeout=REQUEST_TIMEOUT * REQUESTS))
    assert sum(outcomes.values()) == CLIENTS * REQUESTS, outcomes
    assert all(outcomes[f"ok {m}"] > 0 for m in MODALITIES), outcomes
    print("load test outcomes:", dict(outcomes))

    status = Client(busy_app, analytics_enabled=False, verbose=False).predict(api_name="/system_status")
    status = json.loads(status) if isinstance(status, str) else status
    assert status["load_count"] == {m: 1 for m in MODALITIES}  # never loaded twice
    assert {m["key"] for m in status["loaded"]} == set(MODALITIES)


def test_fifty_load_unload_cycles_do_not_grow_memory(make_studio):
    import psutil

    studio = make_studio(idle_unload_seconds=0)
    process = psutil.Process()
    cycle = ("audio", "text", "text", "text", "text")  # Bark is the largest tiny model (~14 MB of weights)
    for modality in ("audio", "text") * 2:  # warm up: imports, caches, allocator pools
        studio.load(modality)
        studio.manager.unload(modality)
    gc.collect()
    start = process.memory_info().rss
    models = []
    for i in range(50):
        modality = cycle[i % len(cycle)]
        models.append(weakref.ref(studio.load(modality).model))
        assert studio.manager.unload(modality)
    gc.collect()
    growth_mb = (process.memory_info().rss - start) / 2**20
    assert [m for m in models if m() is not None] == []  # every unloaded model was really freed
    assert studio.manager.load_count == {"audio": 12, "text": 42} and studio.manager.status()["loaded"] == []
    # 10 leaked Bark models alone would be ~140 MB; allocator noise is a few MB
    assert growth_mb < 40, f"RSS grew by {growth_mb:.1f} MB over 50 load/unload cycles"
