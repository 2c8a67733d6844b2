"""Streaming: from the model's streamer emitting a chunk to an HTTP client receiving it.

    .venv/bin/python benchmarks/streaming.py [--reps 8] [--tokens 64]

The app (tiny preset) runs in its own process with one instrument: the text backend's streamer
(``aigc_demo.backends.catch_up.CatchUpStreamer``) is patched to write ``time.time()`` for every
piece of text the model writes, *before* it is handed over. The client writes ``time.time()``
when each chunk arrives. The app reads the streamer at most every 50 ms (everything written
meanwhile in one chunk), so a fast model's pieces arrive in fewer, larger chunks. Same machine,
same clock: the difference is what the app + Gradio + the client add. Two clients, alternating:

- gradio_client: ``client.submit(...)`` and iterating the job (the issue's client). Its message
  loop sleeps 50 ms when idle (gradio_client/utils.py ``stream_sse_v1plus``), which it adds;
- REST/SSE: POST /gradio_api/call/generate_text and reading the SSE stream with httpx.

Target (issue 6): first chunk at the client < 100 ms after the streamer's first chunk; the
client keeps up with the model (the last chunk arrives soon after the model's last piece; the
time from first to last chunk, client vs streamer). Greedy decoding: every run is identical.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import AppServer, PROMPTS, SYSTEM, api_data, header, http_client, median, report, sse_call, tiny_studio, workdir

# Runs in the server before app.main(): time-stamps every chunk the streamer releases.
PRELUDE = """
import itertools, json, time
from aigc_demo.backends.catch_up import CatchUpStreamer

_LOG = open({log!r}, "a", buffering=1)
_ids = itertools.count()
_release = CatchUpStreamer.on_finalized_text


def _timed(self, text, stream_end=False):
    if text:
        if not hasattr(self, "_bench_id"):
            self._bench_id = next(_ids)
        _LOG.write(json.dumps([self._bench_id, time.time(), len(text)]) + "\\n")
    _release(self, text, stream_end)


CatchUpStreamer.on_finalized_text = _timed
"""


def last_stream(log: Path) -> list[float]:
    """Chunk times of the most recent stream in the server's log."""
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    newest = max(row[0] for row in rows)
    return [row[1] for row in rows if row[0] == newest]


def intervals(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=64, help="max_new_tokens per stream")
    args = parser.parse_args()
    header("streaming: model streamer -> HTTP client, tiny text model")

    params = dict(system_prompt=SYSTEM, max_new_tokens=args.tokens, temperature=0.0, top_p=0.9, seed=1)
    with workdir("aigc-streaming-") as work:
        cache = work / "cache"
        tiny_studio(work, cache).backend("text").location()  # build the tiny model before the server starts
        log = work / "streamer.jsonl"
        with AppServer(work, cache, prelude=PRELUDE.format(log=str(log))) as server:
            client, http = server.client(), http_client(server.url)
            data = api_data("text", prompt=PROMPTS["text"], **params)

            def via_client() -> list[float]:
                job = client.submit(prompt=PROMPTS["text"], api_name="/generate_text", **params)
                return [time.time() for _ in job]

            def via_sse() -> list[float]:
                return [t for t, event, _ in sse_call(http, "/generate_text", data) if event == "generating"]

            for _ in range(2):  # the first request loads the model
                via_client(), via_sse()
            results: dict[str, dict[str, list[float]]] = {
                name: {"first": [], "span_client": [], "span_model": [], "gap_client": [], "gap_model": [],
                       "chunks_client": [], "chunks_model": [], "max_client": [], "max_model": [], "last": []}
                for name in ("gradio_client", "REST/SSE")
            }
            for _ in range(args.reps):
                for name, call in (("gradio_client", via_client), ("REST/SSE", via_sse)):
                    received = call()
                    time.sleep(0.05)  # let the server's log line land
                    emitted = last_stream(log)
                    r = results[name]
                    r["first"].append((received[0] - emitted[0]) * 1000)
                    r["last"].append((received[-1] - emitted[-1]) * 1000)
                    r["span_client"].append((received[-1] - received[0]) * 1000)
                    r["span_model"].append((emitted[-1] - emitted[0]) * 1000)
                    r["gap_client"].append(median(intervals(received)) * 1000 if len(received) > 1 else float("nan"))
                    r["gap_model"].append(median(intervals(emitted)) * 1000 if len(emitted) > 1 else float("nan"))
                    r["max_client"].append(max(intervals(received), default=0.0) * 1000)
                    r["max_model"].append(max(intervals(emitted), default=0.0) * 1000)
                    r["chunks_client"].append(len(received))
                    r["chunks_model"].append(len(emitted))
            http.close()

    for name, r in results.items():
        report(f"{name}: first chunk after the streamer's first chunk", median(r["first"]), "ms", note="target < 100 ms")
        report(f"{name}: chunks received / emitted", f"{median(r['chunks_client']):.0f} / {median(r['chunks_model']):.0f}",
               note="at most one update per 50 ms (all text written meanwhile), plus the final one with the seed and run info")
        report(f"{name}: last chunk after the streamer's last piece", median(r["last"]), "ms",
               note="how far the client is behind the model when the text ends")
        gap_c, gap_m = median(r["gap_client"]), median(r["gap_model"])
        report(f"{name}: median interval between chunks, streamer", gap_m, "ms")
        report(f"{name}: median interval between chunks, client", gap_c, "ms", gap_c / gap_m if gap_m else None)
        report(f"{name}: longest interval between chunks, streamer / client",
               f"{median(r['max_model']):.1f} / {median(r['max_client']):.1f} ms")
        span_c, span_m = median(r["span_client"]), median(r["span_model"])
        report(f"{name}: first to last chunk, streamer", span_m, "ms")
        report(f"{name}: first to last chunk, client", span_c, "ms", span_c / span_m if span_m else None,
               note="cadence: <= ~1 x means the client keeps up with the model")


if __name__ == "__main__":
    main()
