"""Throughput: 8 concurrent clients on /generate_text vs the same requests one at a time.

    .venv/bin/python benchmarks/throughput.py [--requests 24] [--clients 8]

Each client is its own ``gradio_client.Client`` (its own session), warmed with one request.
Every request is the same greedy 24-token generation on the tiny text model. The app runs the
four generate endpoints in one concurrency group with limit 1 (one generation on the device at
a time), so concurrency cannot beat the model's speed; what it can show is that the queue hands
the device the next request at once. The server's view comes from the review store: every
output is recorded with ``created_at`` (when it finished) and ``generate_seconds``, so
start = created_at - generate_seconds, and the idle gap between two runs is
start(next) - end(previous). Busy fraction = time generating / (last end - first start).
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path

from _common import AppServer, PROMPTS, SYSTEM, header, median, report, tiny_studio, workdir

PARAMS = dict(system_prompt=SYSTEM, max_new_tokens=24, temperature=0.0, top_p=0.9, seed=1)


def server_runs(data_dir: Path, since: float, until: float) -> list[tuple[float, float]]:
    """(start, end) of every text run the app recorded between ``since`` and ``until``."""
    with sqlite3.connect(f"file:{data_dir / 'reviews.sqlite3'}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT created_at, generate_seconds FROM records WHERE modality = 'text'").fetchall()
    runs = []
    for created_at, seconds in rows:
        end = datetime.fromisoformat(created_at).timestamp()
        if since <= end <= until:
            runs.append((end - seconds, end))
    return sorted(runs)


def server_view(name: str, runs: list[tuple[float, float]]) -> None:
    gaps = [(b[0] - a[1]) * 1000 for a, b in zip(runs, runs[1:])]
    busy = sum(end - start for start, end in runs)
    span = runs[-1][1] - runs[0][0]
    report(f"{name}: runs recorded", len(runs))
    report(f"{name}: median idle gap between runs (server)", median(gaps), "ms")
    report(f"{name}: longest idle gap between runs (server)", max(gaps), "ms")
    report(f"{name}: device busy fraction (server)", busy / span, note="1.0 = no idle time between runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=24)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    header(f"throughput: {args.clients} concurrent clients vs one at a time, /generate_text (tiny)")

    with workdir("aigc-throughput-") as work:
        cache = work / "cache"
        tiny_studio(work, cache).backend("text").location()  # build the tiny model before the server starts
        with AppServer(work, cache) as server:
            clients = [server.client() for _ in range(args.clients)]

            def call(client) -> None:
                client.predict(prompt=PROMPTS["text"], api_name="/generate_text", **PARAMS)

            for client in clients:  # one request each: model loaded, sessions created
                call(client)

            start = time.time()
            for _ in range(args.requests):
                call(clients[0])
            end = time.time()
            sequential = args.requests / (end - start)
            sequential_runs = server_runs(server.data_dir, start, end)

            per_client = args.requests // args.clients
            threads = [
                threading.Thread(target=lambda c=c: [call(c) for _ in range(per_client)]) for c in clients
            ]
            start = time.time()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            end = time.time()
            concurrent = per_client * args.clients / (end - start)
            concurrent_runs = server_runs(server.data_dir, start, end)

    report("one at a time", sequential, "requests/s")
    report(f"{args.clients} concurrent clients", concurrent, "requests/s", concurrent / sequential)
    server_view("one at a time", sequential_runs)
    server_view(f"{args.clients} concurrent", concurrent_runs)


if __name__ == "__main__":
    main()
