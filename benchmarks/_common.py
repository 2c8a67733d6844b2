"""Shared pieces of the benchmark scripts: offline environment, launching the app, printing.

Every script prints lines ``name: value (ratio x)``. All traffic goes to 127.0.0.1 only.
Child processes run with OMP_NUM_THREADS=1 (and so does this process): the tiny models are
Python-bound, one thread is faster on a shared 2-core machine, and the raw call and the app
then use the same thread count.
"""

from __future__ import annotations

import os
import sys

OFFLINE_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
    "PYTHONUNBUFFERED": "1",
}
for _key, _value in OFFLINE_ENV.items():  # before torch / gradio are imported anywhere
    os.environ.setdefault(_key, _value)

import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
PYTHON = sys.executable


# ---------------------------------------------------------------- printing


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt(value: float) -> str:
    """About three significant digits, never scientific notation."""
    size = abs(value)
    digits = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3 if size >= 0.1 else 4
    return f"{value:.{digits}f}"


def report(name: str, value: float | str, unit: str = "", ratio: float | None = None, note: str = "") -> None:
    """Print one result line: ``name: value unit (ratio x)  # note``."""
    shown = fmt(value) if isinstance(value, float) else str(value)
    line = f"{name}: {shown}{(' ' + unit) if unit else ''}"
    if ratio is not None:
        line += f" ({ratio:.2f} x)"
    if note:
        line += f"  # {note}"
    print(line, flush=True)


def header(title: str) -> None:
    import platform

    print(f"# {title}")
    print(f"# python {platform.python_version()}, {os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}", flush=True)


# ---------------------------------------------------------------- processes and HTTP


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **OFFLINE_ENV, **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def wait_for_page(url: str, process: subprocess.Popen, timeout: float = 120.0, poll: float = 0.02) -> float:
    """Seconds until ``url`` answers 200 (polled every ``poll`` s); raises if the process dies."""
    start = time.perf_counter()
    while not http_ok(url, timeout=1.0):
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before serving {url}")
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"{url} not served within {timeout} s")
        time.sleep(poll)
    return time.perf_counter() - start


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def workdir(prefix: str = "aigc-bench-") -> Iterator[Path]:
    """A temporary folder, removed afterwards (data dir, tiny-model cache, scripts)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class AppServer:
    """``python app.py --preset tiny`` on 127.0.0.1 (optionally through an instrumenting prelude)."""

    work: Path
    cache_dir: Path
    prelude: str = ""  # Python run in the server process before app.main() (instrumentation)
    root: Path = ROOT  # the checkout whose app.py runs (another one: before/after in one run)
    extra_args: list[str] = field(default_factory=list)
    port: int = 0
    process: subprocess.Popen | None = None
    start_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def data_dir(self) -> Path:
        return self.work / "data"

    def __enter__(self) -> "AppServer":
        self.port = self.port or free_port()
        args = ["--preset", "tiny", "--port", str(self.port), "--data-dir", str(self.data_dir), *self.extra_args]
        if self.prelude:
            script = self.work / "instrumented_app.py"
            script.write_text(
                "import runpy, sys\n"
                f"sys.path.insert(0, {str(self.root)!r})\n"
                f"{self.prelude}\n"
                f"sys.argv = [{str(self.root / 'app.py')!r}, *{args!r}]\n"
                f"runpy.run_path({str(self.root / 'app.py')!r}, run_name='__main__')\n"
            )
            command = [PYTHON, str(script)]
        else:
            command = [PYTHON, str(self.root / "app.py"), *args]
        self.log = open(self.work / f"server-{self.port}.log", "w")
        self.process = subprocess.Popen(
            command, cwd=self.root, env=child_env(AIGC_CACHE_DIR=str(self.cache_dir)),
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        try:
            self.start_seconds = wait_for_page(self.url, self.process)
        except Exception:
            stop(self.process)
            self.log.close()
            print((self.work / f"server-{self.port}.log").read_text()[-3000:], file=sys.stderr)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop(self.process)
        self.log.close()

    def client(self):  # -> gradio_client.Client
        from gradio_client import Client

        return Client(self.url, analytics_enabled=False, verbose=False)


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used: unlike wall time, hardly moved by other
    jobs on a shared machine."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


# The requests every benchmark sends (the tiny preset's defaults, a fixed seed).
PROMPTS = {
    "text": "Write a one-sentence product description for a bamboo water bottle.",
    "image": "studio product photo of a bamboo water bottle on a marble table, soft light",
    "audio": "Welcome to our spring sale.",
    "video": "a slow pan across a bamboo water bottle on a sunny kitchen counter",
}
SEED = 1
SYSTEM = "You are a helpful assistant for business users. Answer concisely."
TEXT = dict(max_new_tokens=24, temperature=0.0, top_p=0.9)  # greedy: same tokens every time
IMAGE = dict(width=64, height=64, num_inference_steps=2, guidance_scale=1.0)
VOICE = "v2/en_speaker_6"
VIDEO = dict(width=64, height=64, num_frames=5, fps=8, num_inference_steps=2, guidance_scale=1.0)


def tiny_request(modality: str, **changes):  # -> a core.types request
    from aigc_demo.core.types import AudioRequest, ImageRequest, TextRequest, VideoRequest

    if modality == "text":
        return TextRequest(PROMPTS["text"], SYSTEM, seed=SEED, **{**TEXT, **changes})
    if modality == "image":
        return ImageRequest(PROMPTS["image"], "", seed=SEED, **{**IMAGE, **changes})
    if modality == "audio":
        return AudioRequest(PROMPTS["audio"], VOICE, seed=SEED, **changes)
    return VideoRequest(PROMPTS["video"], "", seed=SEED, **{**VIDEO, **changes})


def tiny_studio(work: Path, cache_dir: Path, **overrides):  # -> aigc_demo.studio.Studio
    """An in-process Studio on the tiny preset (data under ``work``)."""
    from aigc_demo.settings import preset_settings
    from aigc_demo.studio import Studio

    return Studio(preset_settings("tiny", data_dir=work / "data-inproc", cache_dir=cache_dir, **overrides))


# ---------------------------------------------------------------- the Gradio floor and raw SSE

NOOP_APP = """
import sys
import time
import gradio as gr


def echo(prompt: str, seed: int = 0):
    return prompt, seed


def stream(prompt: str, chunks: int = 24, interval: float = 0.0):
    text = ""
    for i in range(int(chunks)):
        time.sleep(interval)
        text += f" {i}"
        yield text


with gr.Blocks() as demo:
    prompt, seed, chunks, interval = gr.Textbox(), gr.Number(value=0), gr.Number(value=24), gr.Number(value=0.0)
    out = gr.Textbox()
    run = gr.Button()
    run.click(echo, [prompt, seed], [out, seed], api_name="echo")
    run.click(stream, [prompt, chunks, interval], [out], api_name="stream")
demo.queue()
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
"""


@contextmanager
def noop_server(work: Path) -> Iterator[str]:
    """A bare Gradio app with a no-op ``/echo`` and a streaming ``/stream``: the framework's floor."""
    script = work / "noop_app.py"
    script.write_text(NOOP_APP)
    port = free_port()
    with open(work / "noop.log", "w") as log:
        process = subprocess.Popen([PYTHON, str(script), str(port)], cwd=work, env=child_env(),
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_page(f"http://127.0.0.1:{port}/", process)
            yield f"http://127.0.0.1:{port}/"
        finally:
            stop(process)


def api_data(modality: str, **values: Any) -> list[Any]:
    """The positional ``data`` of /generate_<modality> through Gradio's REST API: every declared
    parameter in the API's order (``values`` where given, the request's defaults elsewhere),
    then ``model`` ("" = the configured one). Gradio refuses a shorter list."""
    from aigc_demo.core.params import PARAMS

    params = PARAMS[modality]
    request = params.request_type(**values)
    return [getattr(request, name) for name in params] + [values.get("model", "")]


def sse_call(http, api_name: str, data: list, download: bool = True) -> list[tuple[float, str, object]]:
    """One call through Gradio's REST API (POST /gradio_api/call/<name>, then read the SSE stream).

    ``http`` is an ``httpx.Client`` with the server's base_url. Returns (time.time(), event,
    data) per event received (generating / complete / error); output files of the final
    event are downloaded when ``download`` (as a user of the API would).
    """
    import json

    name = api_name.strip("/")
    event_id = http.post(f"/gradio_api/call/{name}", json={"data": data}).raise_for_status().json()["event_id"]
    events: list[tuple[float, str, object]] = []
    event = ""
    with http.stream("GET", f"/gradio_api/call/{name}/{event_id}") as response:
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("generating", "complete", "error"):
                events.append((time.time(), event, json.loads(line[5:]) if line[5:].strip() else None))
                if event in ("complete", "error"):
                    break
    if events and events[-1][1] == "error":
        raise RuntimeError(f"{api_name} failed: {events[-1][2]}")
    if download and events:
        for url in _file_urls(events[-1][2]):
            http.get(url).raise_for_status()
    return events


def _file_urls(value: object) -> list[str]:
    if isinstance(value, dict):
        url = value.get("url")
        found = [url] if isinstance(url, str) and value.get("meta", {}).get("_type") == "gradio.FileData" else []
        return found + [u for v in value.values() if isinstance(v, (dict, list)) for u in _file_urls(v)]
    if isinstance(value, list):
        return [u for v in value for u in _file_urls(v)]
    return []


def http_client(url: str):  # -> httpx.Client
    import httpx

    # An idle connection is dropped before uvicorn's 5 s keep-alive ends it: otherwise a request
    # sent just as the server closes it fails with "connection reset" (seen once in 500 calls).
    return httpx.Client(base_url=url.rstrip("/"), timeout=120, trust_env=False,
                        limits=httpx.Limits(keepalive_expiry=4.0))
