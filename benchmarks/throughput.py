"""Throughput: 8 concurrent clients vs the same requests one at a time, text or image.

    .venv/bin/python benchmarks/throughput.py [--modality text|image] [--requests 96] [--clients 8]
                                              [--max-batch-size 8] [--client rest|gradio_client] [--rounds 5]

The two phases (the requests one at a time, then the same number from the clients at once)
alternate for ``--rounds`` rounds, side by side on the same machine load; the figures are the
medians of the rounds (one phase's rate moved by +-20 % from run to run on a shared machine).

Each client is an httpx client calling Gradio's REST API (POST, then the SSE stream, then the
output file), warmed with one request. ``--client gradio_client`` makes each one a
``gradio_client.Client`` instead; that measures mostly the clients: each spends ~160 ms of CPU
per request (its 50 ms message polling and threads), so 8 of them in this one process are held
by its own GIL (measured: 1.3 cores in the clients, 0.35 in the server), not by the server.
Text: every request is the same greedy 24-token generation on the tiny text model; the text
endpoints share one concurrency group with limit 1 (one generation on the device at a time),
so concurrency cannot beat the model's speed; what it can show is that the queue hands the
device the next request at once. Image: 64x64, 2 steps, a different seed per request;
``/generate_image`` lets up to ``--max-batch-size`` requests in at once and the studio's
Batcher runs compatible ones as one pipeline call (``--max-batch-size 1``: one at a time, as
before issue 15); under steady load a free device waits (at most 0.25 s) for the clients of
the last batch to come back, so the 8 clients stay one batch of 8. The server's view comes from
the review store: every output is recorded with ``created_at`` (when it finished) and
``generate_seconds``, so start = created_at - generate_seconds, and the idle gap between two
runs is start(next) - end(previous) (negative: the runs overlapped, i.e. they were one batch).
Busy fraction = time generating / (last end - first start), overlapping runs counted once.
Server CPU per request: the server process's CPU time over the phase / its requests; on 2 cores
one Python process is held to about one core by its GIL, so this is what bounds throughput.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from _common import (AppServer, IMAGE, PROMPTS, SYSTEM, api_data, cpu_seconds, header, http_client, median, report,
                     sse_call, tiny_studio, workdir)

PARAMS = {
    "text": dict(system_prompt=SYSTEM, max_new_tokens=24, temperature=0.0, top_p=0.9),
    "image": dict(negative_prompt="", **IMAGE, num_images=1),
}


def server_runs(data_dir: Path, since: float, until: float, modality: str = "text") -> list[tuple[float, float]]:
    """(start, end) of every run of ``modality`` the app recorded between ``since`` and ``until``."""
    with sqlite3.connect(f"file:{data_dir / 'reviews.sqlite3'}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT created_at, generate_seconds FROM records WHERE modality = ?", (modality,)).fetchall()
    runs = []
    for created_at, seconds in rows:
        end = datetime.fromisoformat(created_at).timestamp()
        if since <= end <= until:
            runs.append((end - seconds, end))
    return sorted(runs)


def batch_sizes(data_dir: Path, since: float, until: float) -> list[int]:
    """The size of the batch each image run of the window was part of (1: it ran alone)."""
    import json
    import re

    with sqlite3.connect(f"file:{data_dir / 'reviews.sqlite3'}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT created_at, notes FROM records WHERE modality = 'image'").fetchall()
    sizes = []
    for created_at, notes in rows:
        if since <= datetime.fromisoformat(created_at).timestamp() <= until:
            found = re.search(r"one batch with (\d+) other", " ".join(json.loads(notes or "[]")))
            sizes.append(int(found.group(1)) + 1 if found else 1)
    return sizes


def server_view(name: str, phases: list[list[tuple[float, float]]]) -> None:
    """Idle gaps and busy fraction of the runs of each phase (one list per round), pooled."""
    gaps, fractions = [], []
    for runs in phases:
        gaps += [(b[0] - a[1]) * 1000 for a, b in zip(runs, runs[1:])]
        busy, covered = 0.0, runs[0][0]
        for start, end in runs:  # overlapping runs (one batch) count once
            busy += max(0.0, end - max(start, covered))
            covered = max(covered, end)
        fractions.append(busy / (runs[-1][1] - runs[0][0]))
    report(f"{name}: runs recorded", sum(len(runs) for runs in phases))
    report(f"{name}: median idle gap between runs (server)", median(gaps), "ms")
    report(f"{name}: longest idle gap between runs (server)", max(gaps), "ms")
    report(f"{name}: device busy fraction (server)", median(fractions), note="1.0 = no idle time between runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=96, help="per phase; 12 per client: mostly steady state")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--modality", choices=sorted(PARAMS), default="text")
    parser.add_argument("--max-batch-size", type=int, default=8, help="the app's AIGC_MAX_BATCH_SIZE (1: no batching)")
    parser.add_argument("--client", choices=["rest", "gradio_client"], default="rest")
    parser.add_argument("--rounds", type=int, default=5, help="one-at-a-time and concurrent phases, alternated")
    args = parser.parse_args()
    modality = args.modality
    header(f"throughput: {args.clients} concurrent clients vs one at a time, /generate_{modality} (tiny), "
           f"max batch size {args.max_batch_size}, {args.client}")

    with workdir("aigc-throughput-") as work:
        cache = work / "cache"
        tiny_studio(work, cache).backend(modality).location()  # build the tiny model before the server starts
        with AppServer(work, cache, extra_args=["--max-batch-size", str(args.max_batch_size)]) as server:
            rest = args.client == "rest"
            clients = [http_client(server.url) if rest else server.client() for _ in range(args.clients)]
            seeds = iter(range(1, 10**6))

            def call(client) -> None:
                if rest:
                    data = api_data(modality, prompt=PROMPTS[modality], seed=next(seeds), **PARAMS[modality])
                    sse_call(client, f"/generate_{modality}", data)
                else:
                    client.predict(prompt=PROMPTS[modality], seed=next(seeds), api_name=f"/generate_{modality}",
                                   **PARAMS[modality])

            for client in clients:  # one request each: model loaded, sessions created
                call(client)

            pid = server.process.pid
            per_client = args.requests // args.clients

            def phase(concurrent: bool) -> dict[str, Any]:
                """One phase: ``requests`` calls one at a time, or split over the clients at once."""
                jobs = [lambda c=c: [call(c) for _ in range(per_client)] for c in clients] if concurrent \
                    else [lambda: [call(clients[0]) for _ in range(per_client * args.clients)]]
                threads = [threading.Thread(target=job) for job in jobs]
                start, cpu, mine = time.time(), cpu_seconds(pid), time.process_time()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                end, n = time.time(), per_client * args.clients
                return {"rate": n / (end - start), "cpu": (cpu_seconds(pid) - cpu) / n,
                        "mine": (time.process_time() - mine) / n, "runs": server_runs(server.data_dir, start, end, modality),
                        "batches": batch_sizes(server.data_dir, start, end) if modality == "image" else []}

            rounds = [(phase(False), phase(True)) for _ in range(args.rounds)]  # side by side: same machine load

    sequential = [one for one, _ in rounds]
    concurrent = [many for _, many in rounds]
    for i, (one, many) in enumerate(rounds, 1):
        print(f"#   round {i}: one at a time {one['rate']:.1f} requests/s, {args.clients} concurrent "
              f"{many['rate']:.1f} requests/s ({many['rate'] / one['rate']:.2f} x)", flush=True)
    one_rate, many_rate = median([r["rate"] for r in sequential]), median([r["rate"] for r in concurrent])
    report("one at a time", one_rate, "requests/s", note=f"median of {args.rounds} rounds")
    report(f"{args.clients} concurrent clients", many_rate, "requests/s", many_rate / one_rate, note="ratio of the medians")
    report(f"{args.clients} concurrent / one at a time, median of the rounds' ratios",
           median([many["rate"] / one["rate"] for one, many in rounds]), "x")
    report("one at a time: server CPU per request", median([r["cpu"] for r in sequential]) * 1000, "ms")
    report(f"{args.clients} concurrent: server CPU per request", median([r["cpu"] for r in concurrent]) * 1000, "ms")
    report("one at a time: clients' CPU per request", median([r["mine"] for r in sequential]) * 1000, "ms",
           note="this process")
    report(f"{args.clients} concurrent: clients' CPU per request", median([r["mine"] for r in concurrent]) * 1000, "ms")
    server_view("one at a time", [r["runs"] for r in sequential])
    server_view(f"{args.clients} concurrent", [r["runs"] for r in concurrent])
    batches = [size for r in concurrent for size in r["batches"]]
    if batches:
        report(f"{args.clients} concurrent: median batch size a request ran in", median(batches),
               note=f"largest {max(batches)}; 1 = alone")


if __name__ == "__main__":
    main()
