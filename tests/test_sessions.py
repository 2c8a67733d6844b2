"""Per-session memory and database connections do not leak (issue 16, item 1).

The load test sends 500 new sessions (loopback only, each one request to /list_outputs the way
the browser does it: queue/join, then the event stream) to the app and to a bare Gradio app,
and compares how much each process grows: the app may grow at most 30 MB more than the bare
app, and its open file descriptors must come back to where they started.
"""

from __future__ import annotations

import gc
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import psutil
import pytest

from aigc_demo.record import ReviewStore
from aigc_demo.record.store import POOL_SIZE
from conftest import free_port, running_app

SESSIONS = 500
BARE_APP = '''
import sys
import gradio as gr

def list_outputs(scenario: str = "") -> list:
    """A listing endpoint, like the app's."""
    return []

with gr.Blocks() as demo:
    box, out = gr.Textbox(), gr.Textbox()
    gr.Button("go").click(lambda t: t, box, out)
    gr.api(list_outputs, api_name="list_outputs")
demo.queue(default_concurrency_limit=4)
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
'''


# ---------------------------------------------------------------- database connections


def test_threads_that_come_and_go_leave_no_connection_open(tmp_path):
    process = psutil.Process()
    with ReviewStore(tmp_path / "data") as store:
        store.add_record(modality="text", prompt="warm up")
        gc.collect()
        start = process.num_fds()

        def work(n: int) -> None:
            record = store.add_record(modality="text", prompt=f"thread {n}")
            store.submit_review(record, 4, reviewer=f"r{n}")
            assert store.list_outputs(limit=5) and store.summary()["count"] >= 1

        for wave in range(5):  # 80 threads in all, each living for one piece of work
            threads = [threading.Thread(target=work, args=(wave * 16 + i,)) for i in range(16)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert store.open_connections() <= POOL_SIZE
        gc.collect()
        # each pooled connection holds the database, its WAL and shared-memory file
        assert process.num_fds() - start <= 3 * POOL_SIZE
        assert store.summary()["count"] == 81
    gc.collect()
    assert process.num_fds() <= start  # closing the store closes every connection it opened


# ---------------------------------------------------------------- Gradio's per-session state


def test_lean_session_state_gives_gradio_the_same_config(studio):
    from gradio.state_holder import SessionState

    from aigc_demo.ui.app import build_app
    from aigc_demo.ui.sessions import LeanSessionState

    demo = build_app(studio)
    lean, full = LeanSessionState(demo), SessionState(demo)
    textbox = next(b for b in demo.blocks.values() if type(b).__name__ == "Textbox")
    for state in (lean, full):
        state._update_value_in_config(textbox._id, "changed")
    assert lean._config_values is None and list(lean._changed_config) == [textbox._id]  # nothing else built yet
    assert lean.config_values == full.config_values  # built when read, with the change
    assert list(lean.components) == list(full.components)


def _session(host: str, port: int, fn_index: int) -> None:
    """One new browser session: join the queue for /list_outputs, read its events to the end."""
    session = uuid.uuid4().hex[:11]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("POST", "/gradio_api/queue/join",
                 json.dumps({"data": [], "fn_index": fn_index, "session_hash": session}),
                 {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 200
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", f"/gradio_api/queue/data?session_hash={session}")
    response = conn.getresponse()
    while (line := response.fp.readline()) and b"close_stream" not in line:
        pass
    conn.close()


def _growth(url: str, pid: int, sessions: int) -> tuple[float, int, int]:
    """(RSS growth in MB, fds before, fds after) of ``pid`` over ``sessions`` new sessions."""
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    with urllib.request.urlopen(f"{url}config", timeout=30) as response:
        config = json.loads(response.read())
    fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "list_outputs")
    process = psutil.Process(pid)
    for _ in range(20):  # warm up: imports, caches, the database pool
        _session("127.0.0.1", port, fn_index)
    time.sleep(1)
    rss, fds = process.memory_info().rss, process.num_fds()
    for _ in range(sessions):
        _session("127.0.0.1", port, fn_index)
    deadline = time.monotonic() + 30
    while process.num_fds() > fds and time.monotonic() < deadline:
        time.sleep(0.5)  # connections are being closed
    return (process.memory_info().rss - rss) / 2**20, fds, process.num_fds()


@pytest.mark.slow
def test_five_hundred_new_sessions_grow_the_app_like_a_bare_gradio_app(tmp_path, app_cache):
    script = tmp_path / "bare_app.py"
    script.write_text(BARE_APP, encoding="utf-8")
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    bare = subprocess.Popen([sys.executable, str(script), str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline and bare.poll() is None, "the bare app did not start"
                time.sleep(0.3)
        bare_growth, _, _ = _growth(f"http://127.0.0.1:{port}/", bare.pid, SESSIONS)
    finally:
        bare.terminate()
        bare.wait(timeout=15)
    with running_app(tmp_path / "data", tmp_path / "server.log", {"AIGC_CACHE_DIR": str(app_cache)}) as (url, process):
        app_growth, fds_before, fds_after = _growth(url, process.pid, SESSIONS)
    print(f"{SESSIONS} new sessions: app +{app_growth:.1f} MB, bare Gradio app +{bare_growth:.1f} MB; "
          f"app fds {fds_before} -> {fds_after}")
    assert app_growth - bare_growth <= 30, f"app +{app_growth:.1f} MB vs bare +{bare_growth:.1f} MB"
    assert fds_after <= fds_before  # back to the start value (or below it): nothing left open
