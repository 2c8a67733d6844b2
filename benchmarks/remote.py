"""The remote path's overhead: the app's ``openai`` backend vs calling the server directly.

    .venv/bin/python benchmarks/remote.py [--reps 30] [--server protocol|llama|both]

Side by side and interleaved (direct, app, direct, app, ...), the same request each time:

(a) direct: the official ``openai`` client, as a minimal script would call the server
    (text: a streamed chat completion read to its end; image: b64_json decoded; speech: bytes);
(b) app: ``Studio.run`` with ``openai:<model>`` and ``--<modality>-base-url``: validation, the
    retry wrapper, streaming, the PNG/WAV written, provenance and the SQLite record.

Servers: ``protocol`` is tests/remote_server.py (answers in about a millisecond, so the overhead
is not hidden by generation time; it runs in a process of its own; speech is its ``tone``,
    a fixed beep, since Piper's own run-to-run variance is hundreds of ms); ``llama`` is llama.cpp's server (``python -m
llama_cpp.server``, one thread) with the offline GGUF model, greedy decoding, 16 tokens.
The overhead is the median of the paired differences (b - a). Target (issue 13): < 20 ms.
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

from _common import PYTHON, ROOT, free_port, header, median, report, stop, workdir

PROMPT = "Name three benefits of a bamboo water bottle."
TEXT = dict(max_tokens=16, temperature=0.0, seed=1)  # the protocol server echoes up to 16 words


def direct_calls(client: Any, model: str, modality: str) -> Callable[[], Any]:
    if modality == "text":
        def text() -> str:
            stream = client.chat.completions.create(
                model=model, messages=[{"role": "system", "content": "Answer concisely."},
                                       {"role": "user", "content": PROMPT}], stream=True, **TEXT)
            return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        return text
    if modality == "image":
        return lambda: base64.b64decode(client.images.generate(
            model=model, prompt="a cup", n=1, size="64x64", response_format="b64_json").data[0].b64_json)
    return lambda: client.audio.speech.create(model=model, voice="alloy", input="Hello there.",
                                              response_format="wav").content


def app_calls(studio: Any, modality: str) -> Callable[[], Any]:
    from aigc_demo.core.types import AudioRequest, ImageRequest, TextRequest

    request = {"text": TextRequest(prompt=PROMPT, system_prompt="Answer concisely.", max_new_tokens=16,
                                   temperature=0.0, seed=1, repetition_penalty=1.0),
               "image": ImageRequest(prompt="a cup", width=64, height=64, num_inference_steps=2, seed=1),
               "audio": AudioRequest(prompt="Hello there.", voice_preset="alloy", seed=1)}[modality]
    return lambda: studio.run(modality, request)


def measure(name: str, url: str, model: dict[str, str], work: Path, reps: int) -> None:
    from openai import OpenAI

    from aigc_demo.settings import preset_settings
    from aigc_demo.studio import Studio

    client = OpenAI(api_key="no-key", base_url=url, max_retries=0)
    for modality, served in model.items():
        settings = preset_settings("tiny", data_dir=work / f"data-{name}-{modality}")
        studio = Studio(settings.__class__(**{**settings.__dict__, "models": {**settings.models, modality: f"openai:{served}"},
                                              "base_urls": {modality: url}}))
        direct, app = direct_calls(client, served, modality), app_calls(studio, modality)
        direct(), app()  # warm: connections, the server's model, the SQLite file
        pairs = []
        for _ in range(reps):
            start = time.perf_counter()
            direct()
            middle = time.perf_counter()
            app()
            pairs.append((middle - start, time.perf_counter() - middle))
        raw, ours = median([a for a, _ in pairs]), median([b for _, b in pairs])
        overhead = median([b - a for a, b in pairs]) * 1000
        report(f"{name} {modality} direct openai client", raw * 1000, "ms")
        report(f"{name} {modality} app remote path", ours * 1000, "ms", ours / raw)
        report(f"{name} {modality} overhead per request", overhead, "ms", note="target < 20 ms; median of paired differences")


PROTOCOL_SERVER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import uvicorn
from remote_server import ProtocolServer
uvicorn.run(ProtocolServer(Path(sys.argv[2])).app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


def protocol_server(work: Path) -> tuple[subprocess.Popen, str]:
    """tests/remote_server.py in its own process (so it does not share this one's GIL)."""
    port = free_port()
    process = subprocess.Popen([PYTHON, "-c", PROTOCOL_SERVER, str(ROOT / "tests"), str(work / "models"), str(port)])
    return process, _wait(process, f"http://127.0.0.1:{port}/v1")


def _wait(process: subprocess.Popen, url: str) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2).close()
            return url
        except OSError:
            time.sleep(0.3)
    stop(process)
    raise RuntimeError(f"the server at {url} did not start")


def llama_server(work: Path) -> tuple[subprocess.Popen, str]:
    from aigc_demo.backends.shipped import shipped_models
    from aigc_demo.tiny import default_cache_dir

    path = shipped_models()["qwen2.5-coder-0.5b-instruct"].path(default_cache_dir().parent / "gguf")
    port = free_port()
    log = open(work / "llama.log", "w")
    process = subprocess.Popen([PYTHON, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", "qwen",
                                "--n_threads", "1", "--n_ctx", "2048", "--port", str(port)], stdout=log, stderr=log)
    return process, _wait(process, f"http://127.0.0.1:{port}/v1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--server", choices=("protocol", "llama", "both"), default="both")
    args = parser.parse_args()
    header("remote path overhead: app (openai backend) vs the openai client directly")
    with workdir("aigc-remote-bench-") as work:
        if args.server in ("protocol", "both"):
            process, url = protocol_server(work)
            try:
                measure("protocol", url, {"text": "echo", "image": "tiny-image", "audio": "tone"}, work, args.reps)
            finally:
                stop(process)
        if args.server in ("llama", "both"):
            process, url = llama_server(work)
            try:
                measure("llama.cpp", url, {"text": "qwen"}, work, args.reps)
            finally:
                stop(process)


if __name__ == "__main__":
    main()
