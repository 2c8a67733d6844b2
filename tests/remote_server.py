"""A small OpenAI-API protocol server for tests: NOT an inference engine.

It speaks the documented endpoints (``/v1/models``, ``/v1/chat/completions`` streamed,
``/v1/images/generations`` with b64_json, ``/v1/audio/speech``) and serves the project's own
small models behind them: the tiny random-weight image model and the Piper voice (the tiny
Bark model where Piper is not installed). Text is an echo of the prompt, word by word (``reverse``:
the words in reverse order, a second text model to choose); ``tone`` is a fixed beep (no model: for the
overhead benchmark). ``list_status`` set to an HTTP status makes ``/v1/models`` fail. Models
named ``fail-<status>``, ``flaky-<status>``, ``slow``, ``malformed`` and ``bad-b64`` make the
failures the app must explain (tests/test_remote_errors.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

MODELS = ["echo", "reverse", "tiny-image", "speech", "tone", "slow", "malformed", "bad-b64", "fail-401", "fail-403", "fail-429",
          "fail-503", "flaky-503", "flaky-429", "fail-400"]


def _failure(model: str, calls: Counter) -> Response | None:
    """The HTTP error a failure model answers with (``flaky-`` ones only on the first call)."""
    kind, _, code = model.partition("-")
    if kind not in ("fail", "flaky") or not code.isdigit():
        return None
    calls[model] += 1
    if kind == "flaky" and calls[model] > 1:
        return None
    headers = {"Retry-After": "0.2"} if code == "429" else {}
    body = {"error": {"message": f"test failure {code}", "type": "test", "code": code}}
    return JSONResponse(body, status_code=int(code), headers=headers)


class ProtocolServer:
    """The app, its call counts, and the tiny models (built on first use, in ``cache_dir``)."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.calls: Counter = Counter()
        self.requests: list[dict[str, Any]] = []  # every JSON body received, for assertions
        self.list_status: int | None = None  # /v1/models answers with this error while set
        self.listings = 0  # how often /v1/models was asked
        self._lock = threading.Lock()
        self._models: dict[str, Any] = {}
        self.app = self._build()

    def _backend(self, modality: str) -> tuple[Any, Any]:
        """(backend, loaded model) of the project's own small model for ``modality``."""
        with self._lock:
            if modality not in self._models:
                import importlib.util

                from aigc_demo.backends import create

                ref = "tiny:image" if modality == "image" else (
                    "piper:en_US-joe-medium" if importlib.util.find_spec("piper") else "tiny:audio")
                backend = create(modality, ref, cache_dir=self.cache_dir)
                self._models[modality] = (backend, backend.load("cpu", _float32()))
            return self._models[modality]

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        async def models() -> Any:
            self.listings += 1
            if self.list_status:
                return JSONResponse({"error": {"message": "listing disabled", "code": self.list_status}},
                                    status_code=self.list_status)
            return {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "tests"} for m in MODELS]}

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            model = body.get("model", "")
            if (failure := _failure(model, self.calls)) is not None:
                return failure
            if model == "slow":
                await asyncio.sleep(30)
            if model == "malformed":
                return StreamingResponse(iter(["data: {this is not json\n\n"]), media_type="text/event-stream")
            words = body["messages"][-1]["content"].split()[: body.get("max_tokens") or 16]
            words = words[::-1] if model == "reverse" else words
            return StreamingResponse(_chunks(model, words), media_type="text/event-stream")

        @app.post("/v1/images/generations")
        async def images(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            model = body.get("model", "")
            if (failure := _failure(model, self.calls)) is not None:
                return failure
            if model == "bad-b64":
                return JSONResponse({"created": int(time.time()), "data": [{"b64_json": "!!not base64!!"}]})
            width, height = (int(v) for v in body.get("size", "64x64").split("x"))
            files = await asyncio.to_thread(self._image, body["prompt"], width, height, int(body.get("n") or 1),
                                            int(body.get("seed") or 0), int(body.get("num_inference_steps") or 2))
            return JSONResponse({"created": int(time.time()),
                                 "data": [{"b64_json": base64.b64encode(f.read_bytes()).decode()} for f in files]})

        @app.post("/v1/audio/speech")
        async def speech(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            if (failure := _failure(body.get("model", ""), self.calls)) is not None:
                return failure
            if body.get("model") == "tone":  # no model at all: a fixed beep (benchmarks measure the app's overhead)
                return Response(_tone(), media_type="audio/wav")
            wav = await asyncio.to_thread(self._speech, body["input"])
            return Response(wav, media_type="audio/wav")

        return app

    def _image(self, prompt: str, width: int, height: int, n: int, seed: int, steps: int) -> list[Path]:
        from aigc_demo.core.types import ImageRequest

        backend, model = self._backend("image")
        request = ImageRequest(prompt=prompt, width=width, height=height, num_images=n, seed=seed,
                               num_inference_steps=steps, guidance_scale=1.0)
        return backend.generate(model, request, out_dir=self.cache_dir / "served").files

    def _speech(self, text: str) -> bytes:
        from aigc_demo.core.types import AudioRequest

        backend, model = self._backend("audio")
        result = backend.generate(model, AudioRequest(prompt=text, voice_preset="", seed=1), out_dir=self.cache_dir / "served")
        return result.files[0].read_bytes()


def _chunks(model: str, words: list[str]):
    """OpenAI's streamed chat format: a role chunk, one chunk per word, a finish chunk, [DONE]."""
    base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    yield f"data: {json.dumps(base | {'choices': [{'index': 0, 'delta': {'role': 'assistant'}}]})}\n\n"
    for index, word in enumerate(words):
        piece = word if index == 0 else f" {word}"
        yield f"data: {json.dumps(base | {'choices': [{'index': 0, 'delta': {'content': piece}}]})}\n\n"
    yield f"data: {json.dumps(base | {'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})}\n\n"
    yield "data: [DONE]\n\n"


def _tone(seconds: float = 1.0, rate: int = 16000) -> bytes:
    """A 440 Hz beep as WAV bytes."""
    import io

    import numpy as np
    import soundfile as sf

    buffer = io.BytesIO()
    times = np.arange(int(seconds * rate)) / rate
    sf.write(buffer, 0.2 * np.sin(2 * np.pi * 440 * times), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _float32() -> Any:
    import torch

    return torch.float32


class Serving:
    """``ProtocolServer`` on 127.0.0.1:``port`` in a thread of this process."""

    def __init__(self, server: ProtocolServer, port: int) -> None:
        self.server = server
        self.url = f"http://127.0.0.1:{port}/v1"
        self._uvicorn = uvicorn.Server(uvicorn.Config(server.app, host="127.0.0.1", port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._uvicorn.run, name="protocol-server", daemon=True)

    def __enter__(self) -> "Serving":
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._uvicorn.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the protocol test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._uvicorn.should_exit = True
        self._thread.join(timeout=10)
