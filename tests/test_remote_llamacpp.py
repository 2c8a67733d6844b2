"""The app against a real engine: llama.cpp's OpenAI-compatible server (``python -m
llama_cpp.server``) serving the offline GGUF model, the app started with
``--preset offline --text-model openai:qwen-coder --text-base-url http://127.0.0.1:PORT/v1``.

The scenario (/retail_copy) and the playground stream their text from the server (its log shows
the requests); Stop closes the stream and the server drops the generation (its log says the
client disconnected); the record names the server; a busy text server does not hold up the
local image model; the System status shows the server's health."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from conftest import free_port, running_app
from test_fairness import Raw

from aigc_demo.core.params import TEXT_PARAMS
from aigc_demo.core.types import CancelToken, TextRequest

pytestmark = pytest.mark.slow
MODEL_ALIAS = "qwen-coder"
SHIPPED = "qwen2.5-coder-0.5b-instruct"
SERVER_DEPS = ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")


def _gguf_path() -> Path:
    from aigc_demo.backends.shipped import shipped_models
    from aigc_demo.tiny import default_cache_dir

    missing = [m for m in SERVER_DEPS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"llama.cpp's server needs {', '.join(missing)} (pip install -r requirements-test.txt)")
    model = shipped_models()[SHIPPED]
    if not model.installed():
        pytest.skip(f"the offline GGUF model is not installed ({model.install_hint})")
    return model.path(default_cache_dir().parent / "gguf")


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """llama.cpp's server on a free port (one thread, a small context); yields (base URL, log)."""
    path = _gguf_path()
    port, log = free_port(), tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", MODEL_ALIAS,
             "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", "2048", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"llama.cpp's server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield url, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def remote_app(llama_server, tmp_path_factory, app_cache):
    url, _ = llama_server
    data_dir = tmp_path_factory.mktemp("remote-app")
    args = ["--preset", "offline", "--text-model", f"openai:{MODEL_ALIAS}", "--text-base-url", url]
    with running_app(data_dir, data_dir / "app.log", {"AIGC_CACHE_DIR": str(app_cache)}, args) as (app_url, _):
        yield app_url


@pytest.fixture(scope="module")
def client(remote_app):
    from gradio_client import Client

    return Client(remote_app, analytics_enabled=False, verbose=False)


def _records(client, modality: str, scenario: str = "") -> list[dict]:
    return client.predict(scenario=scenario, modality=modality, api_name="/list_outputs")


def _wait_done(job, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while not job.done() and time.monotonic() < deadline:
        time.sleep(0.2)


def test_retail_copy_streams_from_the_server_and_the_record_names_it(client, llama_server):
    url, log = llama_server
    requests_before = log.read_text().count("POST /v1/chat/completions")
    job = client.submit(api_name="/retail_copy")
    _wait_done(job)
    copies = [output[0] for output in job.outputs() if output[0]]
    assert job.status().success, job.exception()
    assert len(set(copies)) > 3, "the copy grew over several updates (streamed)"
    assert len(copies[-1]) > 100
    assert log.read_text().count("POST /v1/chat/completions") > requests_before  # the server's own log
    record = _records(client, "text", "retail")[0]
    assert record["model_ref"] == f"openai:{MODEL_ALIAS}"
    assert record["device"] == f"remote {url}"
    assert f"server {url}, model {MODEL_ALIAS}" in record["notes"]
    assert record["status"] == "ok"


def _start_text(app_url: str, prompt: str, max_new_tokens: int, seed: int) -> tuple[Raw, Any, Any]:
    """Start /generate_text the browser's way; returns (raw client, stream connection, response)
    once the first text has arrived."""
    raw = Raw(app_url)
    text = TextRequest(prompt=prompt, max_new_tokens=max_new_tokens, seed=seed)
    status, payload, _ = raw.join("generate_text", [*(getattr(text, name) for name in TEXT_PARAMS), ""])  # "": the configured model
    assert status == 200, payload
    stream = raw.stream()
    response = stream.getresponse()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = response.fp.readline().decode()
        assert line, "the event stream ended before any text came"
        if line.startswith("data: ") and json.loads(line[6:]).get("msg") == "process_generating":
            return raw, stream, response
    raise AssertionError("no text within 180 s")


def _disconnects(log: Path) -> int:
    return log.read_text().count("Disconnected from client")


def _wait_for_disconnect(log: Path, before: int) -> None:
    deadline = time.monotonic() + 30
    while _disconnects(log) == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _disconnects(log) > before, "the server's log says the client went away: it dropped the generation"


def test_stop_closes_the_stream_and_the_server_drops_the_generation(llama_server, make_studio):
    """The Stop button's path (its run's cancel token) through the studio, against the engine."""
    url, log = llama_server
    studio = make_studio(models={"text": f"openai:{MODEL_ALIAS}"}, base_urls={"text": url})
    token, before, texts = CancelToken(), _disconnects(log), []
    for update in studio.stream("text", TextRequest(prompt="Write a very long story about a lighthouse.",
                                                    max_new_tokens=400, seed=11), cancel=token):
        texts.append(update)
        if len(texts) == 3:
            token.cancel()  # what Stop does
    result = texts[-1]
    assert result.cancelled and result.text == texts[2]
    assert "3 streamed pieces" in result.notes
    _wait_for_disconnect(log, before)


@pytest.mark.browser
def test_the_stop_button_ends_the_servers_generation(browser, remote_app, llama_server, client):
    from playwright.sync_api import expect

    from conftest import open_page

    _, log = llama_server
    before = _disconnects(log)
    context, page = open_page(browser, remote_app, "en-US")
    try:
        page.get_by_role("tab", name="Playground", exact=True).click()
        page.get_by_role("tab", name="Text", exact=True).click()
        panel = page.locator("[role=tabpanel]:has(#text-output)").last
        # Stop is found now, while the page is idle: a role query re-run against a page that redraws
        # with every streamed word can miss Playwright's 30 s on a busy 2-core runner
        stop = panel.locator("button.stop-button").element_handle()
        # a long answer (~1000 tokens, over a minute here), so the model is still writing when Stop is clicked
        panel.get_by_label("Prompt", exact=True).fill(
            "Write a detailed 800-word guide to caring for a bamboo water bottle, with numbered steps.")
        panel.get_by_text("Settings", exact=True).click()
        box = panel.get_by_role("spinbutton", name="number input for Max new tokens", exact=True)
        box.fill("1000")  # the offline preset's ceiling is 1024
        box.press("Enter")
        panel.get_by_role("button", name="Generate").click()
        output = page.locator("#text-output textarea")
        expect(output).not_to_have_value("", timeout=180_000)  # the first words have streamed in
        # dispatched, not a mouse click: Chromium's input queue can hold a synthetic click while text streams
        stop.dispatch_event("click")
        details = panel.get_by_test_id("json")
        expect(details).to_contain_text(re.compile(r'"cancelled"\s*:\s*true'), timeout=60_000)
    finally:
        context.close()
    _wait_for_disconnect(log, before)
    record = _records(client, "text")[0]
    assert record["status"] == "cancelled" and record["device"].startswith("remote http://127.0.0.1:")


def test_a_busy_text_server_does_not_hold_up_the_image_tab(client, remote_app):
    _, stream, _ = _start_text(remote_app, "Write a very long essay about lighthouses.", 300, 5)
    try:
        image = client.predict(prompt="a lighthouse", width=64, height=64, num_inference_steps=1, seed=6,
                               api_name="/generate_image")
        assert image[2]["record_id"]
        text_records = [r for r in _records(client, "text") if r["seed"] == 5]
        assert not text_records, "the image was made while the text was still streaming (no text record yet)"
    finally:
        stream.sock.close()
        stream.close()


def test_system_status_shows_the_servers_health(client, llama_server):
    url, _ = llama_server
    report = client.predict(api_name="/system_status")["remote"]["text"]
    assert report["ok"] and report["server"] == url and MODEL_ALIAS in report["models"]
    assert report["latency_ms"] >= 0


def test_the_model_choice_lists_the_servers_one_alias(llama_server, make_studio):
    """/v1/models of a real engine fills the choices: llama.cpp's server lists its one alias."""
    from aigc_demo.core.types import ValidationError
    from aigc_demo.studio import RunContext

    url, _ = llama_server
    studio = make_studio(models={"text": f"openai:{MODEL_ALIAS}"}, base_urls={"text": url})
    found = studio.model_choices("text")
    assert found.refs == (f"openai:{MODEL_ALIAS}",) and found.note == ""
    with pytest.raises(ValidationError, match=f"^model: 'openai:other' is not a text model this app offers; "
                                              f"choose one of: openai:{MODEL_ALIAS} · "):
        studio.run("text", TextRequest(prompt="hi"), context=RunContext(model="openai:other"))
    result = studio.run("text", TextRequest(prompt="Say OK.", max_new_tokens=4, seed=1),
                        context=RunContext(model=MODEL_ALIAS))  # the server's own name chooses it too
    assert result.model_ref == f"openai:{MODEL_ALIAS}" and result.text
