"""Fair sharing of the generation slot (issue 16, item 2): a cost ceiling per request set by the
preset, a default run time limit per preset, a per-user cap on queued generation, reviews and
listings never behind generation, a "queue full" that says how long to wait, and runs stopped
when their client disconnects. App tests run the tiny preset on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from aigc_demo.core.types import ImageRequest, TextRequest, ValidationError, VideoRequest
from aigc_demo.settings import from_env
from conftest import running_app

LARGEST = dict(width=2048, height=2048, num_inference_steps=150, num_images=4)  # the declared maxima
BIG = dict(width=512, height=512, num_inference_steps=4, num_images=4)  # at the tiny preset's ceiling


# ---------------------------------------------------------------- cost ceiling and run time limit


def test_a_request_over_the_presets_cost_ceiling_is_refused_before_any_model(studio):
    with pytest.raises(ValidationError) as caught:
        studio.run("image", ImageRequest("a cup", **LARGEST))
    assert str(caught.value).startswith("request: costs 2,516,582,400 (2048 width x 2048 height x 150 steps x 4 images)")
    assert "at most 4,194,304 per image request" in str(caught.value)
    with pytest.raises(ValidationError, match="frames"):
        studio.prepare("video", VideoRequest("waves", width=1280, height=1280, num_frames=161, num_inference_steps=100))
    assert studio.manager.load_count == {}
    studio.prepare("image", ImageRequest("a cup", **BIG))  # at the ceiling is fine
    studio.prepare("text", TextRequest("hi", max_new_tokens=4096))


def test_each_preset_sets_its_ceilings_and_a_run_time_limit():
    for preset in ("gpu", "cpu", "offline", "tiny"):
        settings = from_env({"AIGC_PRESET": preset})
        assert set(settings.max_cost) == {"text", "image", "audio", "video"}
        assert settings.run_timeout_seconds and 60 <= settings.run_timeout_seconds <= 900
    assert from_env({"AIGC_PRESET": "cpu"}).max_cost["text"] < from_env({"AIGC_PRESET": "gpu"}).max_cost["text"]
    assert from_env({"AIGC_PRESET": "tiny", "AIGC_RUN_TIMEOUT_SECONDS": "0"}).run_timeout_seconds is None
    assert from_env({"AIGC_PRESET": "tiny", "AIGC_RUN_TIMEOUT_SECONDS": "30"}).run_timeout_seconds == 30


# ---------------------------------------------------------------- the running app


@pytest.fixture(scope="module")
def fair_app(tmp_path_factory, app_cache):
    root = tmp_path_factory.mktemp("fair")
    # Image requests run AIGC_MAX_BATCH_SIZE at a time (one batch); 2 keeps the queue easy to fill.
    env = {"AIGC_CACHE_DIR": str(app_cache), "AIGC_QUEUE_SIZE": "3", "AIGC_USER_QUEUE_LIMIT": "2",
           "AIGC_MAX_BATCH_SIZE": "2"}
    with running_app(root / "data", root / "server.log", env) as (url, _):
        yield url


class Raw:
    """The browser's way in: POST /gradio_api/queue/join, then read /gradio_api/queue/data."""

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.session = uuid.uuid4().hex[:11]
        with urllib.request.urlopen(f"{url}config", timeout=30) as response:
            config = json.loads(response.read())
        self.fn = {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")}

    def join(self, api_name: str, data: list) -> tuple[int, dict, dict]:
        body = json.dumps({"data": data, "fn_index": self.fn[api_name], "session_hash": self.session,
                           "event_data": None, "trigger_id": None})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        conn.request("POST", "/gradio_api/queue/join", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        payload = json.loads(response.read() or b"{}")
        conn.close()
        return response.status, payload, dict(response.getheaders())

    def stream(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        conn.request("GET", f"/gradio_api/queue/data?session_hash={self.session}")
        return conn


def _image(seed: int, **sizes) -> list:
    values = {**dict(width=64, height=64, num_inference_steps=1, num_images=1), **sizes}
    return ["a cup", "", values["width"], values["height"], values["num_inference_steps"], 1.0, seed, values["num_images"],
            ""]  # model: the configured one (the browser sends every input)


@pytest.mark.slow
def test_one_flooding_client_cannot_hold_others_back(fair_app):
    from gradio_client import Client

    flood = Raw(fair_app)
    statuses = [flood.join("generate_image", _image(seed, **BIG)) for seed in range(10)]
    admitted = [s for s, _, _ in statuses if s == 200]
    refused = [(p, h) for s, p, h in statuses if s == 429]
    assert len(admitted) == 2 and len(refused) == 8  # AIGC_USER_QUEUE_LIMIT=2
    message, headers = refused[0]
    assert "at most 2 per user" in message["detail"] and "about" in message["detail"]
    assert int(headers["retry-after"]) >= 5
    status, payload, _ = flood.join("generate_image", _image(99, **LARGEST))
    assert status == 429  # still over the user's cap; alone, it would be refused for its cost (below)

    other = Client(fair_app, analytics_enabled=False, verbose=False)
    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        text = pool.submit(other.predict, prompt="hello", max_new_tokens=4, seed=1, api_name="/generate_text")
        listed = pool.submit(other.predict, api_name="/list_outputs")
        _, _, details = text.result(timeout=60)
        listed.result(timeout=60)
    review = other.predict(record_id=details["record_id"], rating=4, api_name="/submit_review")
    waited = time.monotonic() - started
    assert review["rating"] == 4 and waited < 30, f"the other user waited {waited:.1f} s"
    with pytest.raises(Exception, match="costs 2,516,582,400"):
        other.predict(prompt="a cup", **LARGEST, api_name="/generate_image")


@pytest.mark.slow
def test_queue_full_says_how_long_to_wait(fair_app):
    users = [Raw(fair_app) for _ in range(4)]
    results = [user.join("generate_image", _image(10 + i, **BIG)) for user in users for i in range(2)]
    codes = [status for status, _, _ in results]
    assert codes.count(200) >= 4, codes  # 1-2 running (one batch) + AIGC_QUEUE_SIZE=3 waiting, at least
    full = [payload["detail"] for status, payload, _ in results if status == 429 and "queue is full" in payload["detail"]]
    assert full and "Please try again in about" in full[0], results
    # reviews are never refused because generation is busy
    status, _, _ = users[0].join("list_outputs", ["", "", "", 0, "", "", 5])
    assert status == 200


@pytest.mark.slow
def test_a_disconnected_clients_run_stops_within_five_seconds(fair_app):
    from gradio_client import Client

    client = Client(fair_app, analytics_enabled=False, verbose=False)
    raw = Raw(fair_app)
    seed = 4242
    long_video = ["slow waves", "", 64, 64, 121, 8, 100, 1.0, seed, ""]  # about 15 s on the tiny model
    deadline = time.monotonic() + 120
    while (status := raw.join("generate_video", long_video)[0]) == 429 and time.monotonic() < deadline:
        time.sleep(1)  # earlier tests' runs are still being served
    assert status == 200
    stream = raw.stream()
    response = stream.getresponse()
    assert response.status == 200
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until the model is loaded and the steps are going
        line = response.fp.readline().decode()
        assert line, "the event stream ended before the run started"
        if line.startswith("data: ") and json.loads(line[6:]).get("msg") == "progress":
            step = (json.loads(line[6:])["progress_data"] or [{}])[0]
            if step.get("length") == 100 and (step.get("index") or 0) >= 2:
                break
    stream.sock.close()  # the client goes away
    stream.close()
    gone = time.monotonic()
    record = None
    while time.monotonic() - gone < 30 and record is None:
        rows = client.predict(modality="video", api_name="/list_outputs")
        record = next((r for r in rows if r["seed"] == seed), None)
        time.sleep(0.2)
    stopped = time.monotonic() - gone
    print(f"disconnected client's run recorded as cancelled after {stopped:.1f} s")
    assert record is not None and record["status"] == "cancelled", record
    assert stopped < 5, f"the run went on for {stopped:.1f} s after its client left"
