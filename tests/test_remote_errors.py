"""Remote backends against the protocol test server (tests/remote_server.py): what users get,
what is recorded, and the exact message of every failure (the README's failure table)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from conftest import free_port
from remote_server import ProtocolServer, Serving

from aigc_demo.core.types import AudioRequest, CancelToken, ImageRequest, TextRequest


@pytest.fixture(scope="module")
def protocol(tiny_cache):
    with Serving(ProtocolServer(tiny_cache), free_port()) as serving:
        yield serving


@pytest.fixture
def remote_studio(make_studio, protocol):
    """remote_studio(text_model, **overrides): a tiny Studio whose text (etc.) is remote."""

    def make(modality: str = "text", model: str = "echo", url: str | None = None, **overrides):
        return make_studio(models={modality: f"openai:{model}"}, base_urls={modality: url or protocol.url},
                           **overrides)

    return make


def user_message(error: BaseException) -> str:
    """What the user sees for ``error`` (the app's one error path)."""
    from aigc_demo.ui.errors import as_user_error

    return as_user_error(error).message


def fail(studio, modality: str = "text"):
    request = {"text": TextRequest(prompt="hello there"), "image": ImageRequest(prompt="a cup", width=64, height=64),
               "audio": AudioRequest(prompt="hello")}[modality]
    with pytest.raises(Exception) as caught:
        studio.run(modality, request)
    return user_message(caught.value)


# ---------------------------------------------------------------- working paths


def test_text_streams_from_the_server_and_the_record_names_it(remote_studio, protocol):
    studio = remote_studio()
    prompt = "one two three four five"
    updates = list(studio.stream("text", TextRequest(prompt=prompt, seed=7, temperature=0.5, top_p=0.8)))
    texts = [u for u in updates if isinstance(u, str)]
    assert texts == ["one", "one two", "one two three", "one two three four", prompt]
    result = updates[-1]
    sent = protocol.server.requests[-1]
    assert (sent["model"], sent["seed"], sent["temperature"], sent["top_p"], sent["stream"]) == ("echo", 7, 0.5, 0.8, True)
    record = studio.store.get_record(result.record_id)
    assert record.model_ref == "openai:echo"
    assert record.device == f"remote {protocol.url}"
    assert f"server {protocol.url}, model echo" in record.notes
    assert not studio.manager.status()["loaded"], "the model manager must not hold remote models"


def test_image_and_speech_come_back_as_files_with_provenance(remote_studio, protocol):
    from PIL import Image
    import soundfile as sf

    image = remote_studio("image", "tiny-image").run("image", ImageRequest(prompt="a cup", width=64, height=64, seed=3))
    with Image.open(image.files[0]) as picture:
        assert picture.size == (64, 64)
    sent = protocol.server.requests[-1]
    assert (sent["response_format"], sent["size"], sent["seed"]) == ("b64_json", "64x64", 3)
    speech = remote_studio("audio", "speech").run("audio", AudioRequest(prompt="Hello from the server."))
    audio, rate = sf.read(speech.files[0])
    assert rate >= 8000 and len(audio) / rate > 0.3
    assert protocol.server.requests[-1]["voice"] == "alloy"  # a Bark preset is not sent to the server
    from aigc_demo.record import provenance

    assert provenance.read(speech.files[0])["device"] == f"remote {protocol.url}"


def test_stop_closes_the_stream(remote_studio):
    studio, token = remote_studio(), CancelToken()
    words = " ".join(f"w{i}" for i in range(40))
    seen = []
    for update in studio.stream("text", TextRequest(prompt=words, max_new_tokens=40), cancel=token):
        seen.append(update)
        if len(seen) == 3:
            token.cancel()
    result = seen[-1]
    assert result.cancelled and result.text == "w0 w1 w2"
    assert studio.store.get_record(result.record_id).status == "cancelled"


def test_429_and_503_are_retried_once_the_server_recovers(remote_studio, protocol):
    for model in ("flaky-429", "flaky-503"):
        result = remote_studio(model=model).run("text", TextRequest(prompt="back again"))
        assert result.text == "back again"
        assert protocol.server.calls[model] == 2


def test_the_key_is_sent_but_never_recorded(remote_studio, protocol, monkeypatch):
    key = "sk-test-" + "k" * 32
    monkeypatch.setenv("AIGC_TEXT_API_KEY", key)
    studio = remote_studio()
    result = studio.run("text", TextRequest(prompt="secret check"))
    stored = json.dumps(studio.store.get_record(result.record_id).__dict__, default=str)
    assert key not in stored and key not in json.dumps(studio.status(), default=str)


def test_health_reports_latency_and_models_or_the_failure(remote_studio, protocol):
    report = remote_studio().status()["remote"]["text"]
    assert report["ok"] and report["server"] == protocol.url and "echo" in report["models"]
    assert report["latency_ms"] >= 0
    dead = f"http://127.0.0.1:{free_port()}/v1"
    down = remote_studio(url=dead).status()["remote"]["text"]
    assert not down["ok"] and "connection was refused" in down["error"]


# ---------------------------------------------------------------- every failure, its exact message


def test_connection_refused(remote_studio):
    url = f"http://127.0.0.1:{free_port()}/v1"
    assert fail(remote_studio(url=url)) == (
        f"Cannot reach the text server at {url}: the connection was refused. Check that the server is running "
        "and that --text-base-url is right. · "
        f"无法连接 text 模型服务器 {url}：连接被拒绝。请确认服务器正在运行，且 --text-base-url 设置正确。")


def test_timeout(remote_studio, protocol):
    assert fail(remote_studio(model="slow", remote_timeout_seconds=0.5)) == (
        f"The text server at {protocol.url} did not answer within 0.5 s (timeout). It may be busy or stuck; try "
        "again later, or raise AIGC_REMOTE_TIMEOUT_SECONDS. · "
        f"text 模型服务器 {protocol.url} 在 0.5 秒内没有响应（超时）。它可能正忙或已卡住；请稍后重试，"
        "或调大 AIGC_REMOTE_TIMEOUT_SECONDS。")


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key(remote_studio, protocol, status):
    assert fail(remote_studio(model=f"fail-{status}")) == (
        f"The text server at {protocol.url} refused the API key (HTTP {status}). Set AIGC_TEXT_API_KEY (or "
        "OPENAI_API_KEY) to a key this server accepts. · "
        f"text 模型服务器 {protocol.url} 拒绝了 API 密钥（HTTP {status}）。请把 AIGC_TEXT_API_KEY（或 OPENAI_API_KEY）"
        "设为该服务器接受的密钥。")


def test_rate_limited_after_retries_honouring_retry_after(remote_studio, protocol):
    before = protocol.server.calls["fail-429"]
    assert fail(remote_studio(model="fail-429")) == (
        f"The text server at {protocol.url} is limiting requests (HTTP 429) and still refused after 3 attempt(s). "
        "Please try again in about 1 s. · "
        f"text 模型服务器 {protocol.url} 正在限流（HTTP 429），重试 3 次后仍被拒绝。请约 1 秒后再试。")
    assert protocol.server.calls["fail-429"] - before == 3


def test_server_error_after_retries(remote_studio, protocol):
    before = protocol.server.calls["fail-503"]
    assert fail(remote_studio(model="fail-503")) == (
        f"The text server at {protocol.url} failed with HTTP 503 (3 tries). This is a problem on the server's side; "
        "try again later or tell its operator. · "
        f"text 模型服务器 {protocol.url} 出错（HTTP 503，已尝试 3 次）。这是服务器端的问题；请稍后重试或联系其管理员。")
    assert protocol.server.calls["fail-503"] - before == 3


def test_malformed_stream(remote_studio, protocol):
    message = fail(remote_studio(model="malformed"))
    assert message.startswith(f"The text server at {protocol.url} sent a reply that is not a valid answer (")
    assert message.endswith(
        "). Check that the base URL points at an OpenAI-compatible API (it usually ends in /v1). · "
        f"text 模型服务器 {protocol.url} 返回的内容无效（" + message.split("（", 1)[1].split("）", 1)[0] +
        "）。请确认基础 URL 指向兼容 OpenAI 的接口（通常以 /v1 结尾）。")


def test_malformed_image(remote_studio, protocol):
    message = fail(remote_studio("image", "bad-b64"), "image")
    assert message.startswith(f"The image server at {protocol.url} sent a reply that is not a valid answer "
                              "(image 1 is not a picture: ")


def test_unknown_model_lists_the_servers_models(remote_studio, protocol):
    message = fail(remote_studio(model="no-such-model", url=protocol.url.removesuffix("/v1") + "/v2"))
    assert message.startswith(f"The text server at {protocol.url.removesuffix('/v1')}/v2 has no model or endpoint "
                              "for 'no-such-model' (HTTP 404).")


def test_a_dead_server_does_not_hold_the_other_modalities(remote_studio, protocol):
    """A hung text server: the image model (local, tiny) still runs meanwhile."""
    studio = remote_studio(model="slow", remote_timeout_seconds=20)
    token, errors = CancelToken(), []
    hung = threading.Thread(target=lambda: errors.append(pytest.raises(Exception, studio.run, "text",
                                                                      TextRequest(prompt="x"), cancel=token)))
    hung.start()
    time.sleep(0.5)
    image = studio.run("image", ImageRequest(prompt="a cup", width=64, height=64, num_inference_steps=1))
    assert image.files and hung.is_alive(), "the image was made while the text server hung"
    hung.join(timeout=30)


# ---------------------------------------------------------------- hf-inference (InferenceClient)


@pytest.fixture
def hub_online(monkeypatch):
    """huggingface_hub refuses every request (local ones too) while HF_HUB_OFFLINE is set."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


def test_hf_inference_says_that_offline_mode_blocks_it(make_studio, protocol):
    studio = make_studio(models={"text": "hf-inference:echo"}, base_urls={"text": protocol.url})
    assert fail(studio) == (
        f"The text backend cannot call {protocol.url}: HF_HUB_OFFLINE is set, and huggingface_hub then refuses every "
        "request. Unset HF_HUB_OFFLINE to use hf-inference, or reach an OpenAI-compatible server with the openai "
        f"backend. · text 后端无法访问 {protocol.url}：已设置 HF_HUB_OFFLINE，huggingface_hub 会拒绝所有请求。"
        "请取消 HF_HUB_OFFLINE 以使用 hf-inference，或改用 openai 后端访问兼容 OpenAI 的服务器。")


def test_hf_inference_text_streams_through_inference_client(make_studio, protocol, hub_online):
    """InferenceClient(base_url=...) against the same OpenAI-compatible protocol server."""
    studio = make_studio(models={"text": "hf-inference:echo"}, base_urls={"text": protocol.url})
    result = studio.run("text", TextRequest(prompt="alpha beta gamma", seed=5))
    assert result.text == "alpha beta gamma"
    sent = protocol.server.requests[-1]
    assert (sent["model"], sent["seed"], sent["stream"]) == ("echo", 5, True)
    assert studio.store.get_record(result.record_id).device == f"remote {protocol.url}"


def test_hf_inference_failures_get_the_same_messages(make_studio, protocol, hub_online):
    studio = make_studio(models={"text": "hf-inference:fail-401"}, base_urls={"text": protocol.url})
    assert fail(studio) == (
        f"The text server at {protocol.url} refused the API key (HTTP 401). Set AIGC_TEXT_API_KEY (or "
        "HF_TOKEN) to a key this server accepts. · "
        f"text 模型服务器 {protocol.url} 拒绝了 API 密钥（HTTP 401）。请把 AIGC_TEXT_API_KEY（或 HF_TOKEN）"
        "设为该服务器接受的密钥。")
    url = f"http://127.0.0.1:{free_port()}/v1"
    refused = make_studio(models={"text": "hf-inference:echo"}, base_urls={"text": url})
    assert fail(refused).startswith(f"Cannot reach the text server at {url}: the connection was refused.")
