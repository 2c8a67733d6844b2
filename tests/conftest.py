"""Shared fixtures: offline environment and tiny models built once per session."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Tiny models on a shared 2-core machine run 10-20x faster on one thread (less contention).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import pytest

if TYPE_CHECKING:
    from aigc_demo.studio import Studio


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``gpu`` are skipped where CUDA is not available."""
    gpu_items = [item for item in items if item.get_closest_marker("gpu")]
    if gpu_items and not _cuda_available():
        for item in gpu_items:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))
    if config.pluginmanager.hasplugin("rerunfailures"):
        # A browser test drives a real Chromium against a real app on 2 cores, where a page can
        # miss a timing window now and then: one retry, reported as "R" in the summary.
        for item in items:
            if item.get_closest_marker("browser") and not item.get_closest_marker("flaky"):
                item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def tiny_model(tiny_cache):
    """tiny_model("image") -> folder of the tiny image model (built once per session)."""
    from aigc_demo.tiny import tiny_model_path

    return lambda modality: tiny_model_path(modality, tiny_cache)


# ---------------------------------------------------------------- the studio on tiny models


def new_studio(data_dir: Path, tiny_cache: Path, **overrides: Any) -> Studio:
    """A Studio on the ``tiny`` preset; ``overrides`` replace Settings fields, and a
    ``models`` override replaces only the modalities it names."""
    from aigc_demo.settings import preset_settings
    from aigc_demo.studio import Studio

    settings = preset_settings("tiny", data_dir=data_dir, cache_dir=tiny_cache.parent / "studio-cache")
    if "models" in overrides:
        overrides["models"] = {**settings.models, **overrides["models"]}
    return Studio(dataclasses.replace(settings, **overrides))


@pytest.fixture
def make_studio(tmp_path, tiny_cache) -> Iterator[Callable[..., Studio]]:
    """make_studio(**overrides) -> a tiny-preset Studio with its data in ``tmp_path/data``;
    its models are unloaded after the test."""
    made: list[Studio] = []

    def make(**overrides: Any) -> Studio:
        made.append(new_studio(overrides.pop("data_dir", tmp_path / "data"), tiny_cache, **overrides))
        return made[-1]

    yield make
    for studio in made:
        studio.manager.close()


@pytest.fixture
def studio(make_studio) -> Studio:
    """A tiny-preset Studio for one test."""
    return make_studio()


# ---------------------------------------------------------------- the app, launched for real

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(data_dir: Path, log: Path, env: dict[str, str] | None = None,
                args: Sequence[str] = ("--preset", "tiny")) -> Iterator[tuple[str, subprocess.Popen]]:
    """`python app.py --preset tiny` (or ``args``) on 127.0.0.1 at a free port until it answers;
    yields (url, process) and stops it afterwards. ``env`` adds environment variables."""
    port = free_port()
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(log, "a") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), *args, "--port", str(port), "--data-dir", str(data_dir)],
            cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except urllib.error.HTTPError:
                break  # answering (e.g. the login page)
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"app did not start:\n{Path(log).read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="session")
def app_cache(tiny_cache) -> Path:
    """The cache the launched apps build their tiny models in (shared by all of them)."""
    return tiny_cache.parent / "app-cache"


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, app_cache):
    """`python app.py --preset tiny` on 127.0.0.1 at a free port; yields its URL."""
    data_dir = tmp_path_factory.mktemp("app-data")
    # The ceilings scaled up: the browser's progress test asks for a long run on purpose.
    env = {"AIGC_CACHE_DIR": str(app_cache), "AIGC_MAX_COST_SCALE": "40"}
    with running_app(data_dir, data_dir / "server.log", env) as (url, _):
        yield url


@pytest.fixture(scope="session")
def client(app_server):
    from gradio_client import Client

    return Client(app_server, analytics_enabled=False, verbose=False)


# ---------------------------------------------------------------- a real browser (Debian's Chromium)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost",
]


def _unavailable(reason: str) -> None:
    """CI must never silently skip browser tests."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, url: str, locale: str):
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(url)
    page.locator("#tab-retail-button").wait_for()  # the app has rendered its tabs
    return context, page


@pytest.fixture
def page(browser, app_server) -> Iterator:
    """A fresh English page (its own Gradio session) per test."""
    context, page = open_page(browser, app_server, "en-US")
    yield page
    context.close()




def output_path(value) -> Path:
    """The local file behind a gradio_client file output (a path, or a dict holding one)."""
    if isinstance(value, dict):
        value = value.get("video") or value.get("image") or value.get("path") or value.get("name")
        if isinstance(value, dict):
            value = value.get("path")
    return Path(value)


# ---------------------------------------------------------------- the review store's two backends


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A PostgreSQL server for this session (tests/postgres_server.py); skipped, saying why,
    where none can be started."""
    from postgres_server import PostgresServer, why_unavailable

    if reason := why_unavailable():
        pytest.skip(reason)
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str | None:
    """None (SQLite in the data dir), then the URL of a fresh PostgreSQL database."""
    return None if request.param == "sqlite" else request.getfixturevalue("postgres").new_database()
