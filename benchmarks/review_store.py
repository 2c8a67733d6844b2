"""The review store on SQLite and on PostgreSQL, side by side: per-operation latency (median,
one thread) and throughput with several writer threads. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/review_store.py --database-url postgresql://user:pw@host/db

Without --database-url only SQLite is measured. The PostgreSQL database should be an empty
scratch database: the benchmark creates the schema and leaves its rows there.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from aigc_demo.record import ReviewStore


def _median_ms(fn: Callable[[int], object], n: int) -> float:
    times = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _throughput(store: ReviewStore, threads: int, per_thread: int) -> float:
    """Records added and reviewed per second by ``threads`` writers at once."""
    barrier = threading.Barrier(threads + 1)

    def work(n: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            rid = store.add_record(modality="text", prompt=f"t{n}-{i}", output_text="x" * 500)
            store.submit_review(rid, 1 + i % 5, reviewer=f"r{n}")

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return threads * per_thread / (time.perf_counter() - start)


def measure(label: str, data_dir: Path, url: str | None, n: int, threads: int) -> dict[str, float]:
    with ReviewStore(data_dir, database_url=url) as store:
        ids = []
        figures = {
            "add_record ms": _median_ms(lambda i: ids.append(store.add_record(modality="text", prompt=f"p{i}")), n),
            "submit_review ms": _median_ms(lambda i: store.submit_review(ids[i], 1 + i % 5, reviewer="bench"), n),
            "list_outputs(50) ms": _median_ms(lambda i: store.list_outputs(limit=50), max(5, n // 5)),
            "summary ms": _median_ms(lambda i: store.summary(), max(5, n // 5)),
            f"{threads} writers, records/s": _throughput(store, threads, max(5, n // threads)),
        }
    print(f"\n{label}")
    for name, value in figures.items():
        print(f"  {name:<28} {value:8.2f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a scratch postgresql:// database (else SQLite only)")
    parser.add_argument("-n", type=int, default=200, help="operations per figure (200)")
    parser.add_argument("--threads", type=int, default=8, help="writer threads for the throughput figure (8)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aigc-bench-store-") as tmp:
        sqlite = measure("SQLite (WAL, one file)", Path(tmp) / "sqlite", None, args.n, args.threads)
        if not args.database_url:
            print("\n(no --database-url: PostgreSQL not measured)")
            return
        pg = measure("PostgreSQL", Path(tmp) / "pg", args.database_url, args.n, args.threads)
    print("\nPostgreSQL / SQLite")
    for name in sqlite:
        print(f"  {name:<28} {pg[name] / sqlite[name]:8.2f} x")


if __name__ == "__main__":
    main()
