"""Model switching: text -> image -> audio -> video -> text under a two-model memory budget.

    .venv/bin/python benchmarks/switching.py [--reps 3]

Each run is a fresh process (so its peak RSS is its own) that imports the model libraries
first (same cost in every run, not counted), then calls ``Studio.run`` for each step of the
sequence and once more for the last model (its second use). Two budgets, alternating:

- two models: ``memory_budget_gb`` set to the largest pair of neighbours in the sequence, so
  the ModelManager must evict the least recently used model at each switch and reload text at
  the end (the tiny models differ a lot in size - Bark's real-size vocabularies make the audio
  one ~15 MB, the others < 1 MB - so a byte budget is chosen from the measured sizes);
- unlimited: every model loaded once and kept (the reference).

Printed: total time, time spent loading, number of loads, most models held at once, peak RSS,
and the load time of a second use of a loaded model (expected: 0).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from _common import PYTHON, ROOT, child_env, header, median, report, tiny_studio, workdir

SEQUENCE = ("text", "image", "audio", "video", "text")


def child(work: str, cache: str, budget_bytes: int) -> None:
    """One run of the sequence; prints a JSON summary as its last line."""
    from pathlib import Path

    import psutil

    from _common import tiny_request

    import diffusers  # noqa: F401  - library imports are paid before the clock starts
    import torch  # noqa: F401
    import transformers  # noqa: F401
    from diffusers import StableDiffusionPipeline, WanPipeline  # noqa: F401
    from transformers import BarkModel, Qwen2ForCausalLM  # noqa: F401

    budget_gb = budget_bytes / 2**30 if budget_bytes else None
    studio = tiny_studio(Path(work), Path(cache), memory_budget_gb=budget_gb)
    steps = []
    start = time.perf_counter()
    for modality in (*SEQUENCE, SEQUENCE[-1]):  # the last one twice: its second use
        t = time.perf_counter()
        result = studio.run(modality, tiny_request(modality))
        steps.append({
            "modality": modality,
            "seconds": time.perf_counter() - t,
            "load_seconds": result.load_seconds,
            "loaded": [m["key"] for m in studio.manager.status()["loaded"]],
            "rss_mb": psutil.Process().memory_info().rss / 2**20,
        })
    total = sum(s["seconds"] for s in steps[: len(SEQUENCE)])
    sizes = {m: studio.load(m).size_bytes for m in set(SEQUENCE)} if not budget_bytes else {}
    import gc

    t = time.perf_counter()
    gc.collect()  # what the manager ran after every eviction before issue 15 (now: only when memory is short)
    gc_seconds = time.perf_counter() - t
    print(json.dumps({
        "total": total,
        "wall": time.perf_counter() - start,
        "steps": steps,
        "loads": sum(studio.manager.load_count.values()),
        "collections": studio.manager.collections,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "sizes": sizes,
        "gc_seconds": gc_seconds,
    }))


def run_child(work, cache, budget_bytes: int) -> dict:
    process = subprocess.run(
        [PYTHON, __file__, "--child", str(work), str(cache), str(budget_bytes)],
        cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=300,
    )
    if process.returncode != 0:
        sys.exit(f"switching run failed:\n{process.stderr[-3000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("WORK", "CACHE", "BUDGET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], args.child[1], int(args.child[2]))
    header("model switching: " + " -> ".join(SEQUENCE) + " (tiny models)")

    with workdir("aigc-switching-") as work:
        cache = work / "cache"
        studio = tiny_studio(work, cache)
        for modality in set(SEQUENCE):  # build the tiny models once, before any timed run
            studio.backend(modality).location()
        first = run_child(work, cache, 0)
        sizes = first["sizes"]
        pairs = [sizes[a] + sizes[b] for a, b in zip(SEQUENCE, SEQUENCE[1:])]
        budget = max(pairs) + 4096  # room for exactly the largest neighbouring pair
        report("model sizes", ", ".join(f"{m} {sizes[m] / 2**20:.2f} MiB" for m in SEQUENCE[:4]))
        report("budget (two models)", budget / 2**20, "MiB")
        runs: dict[str, list[dict]] = {"two models": [], "unlimited": [first]}
        for rep in range(args.reps):
            runs["two models"].append(run_child(work, cache, budget))
            if rep:  # the first unlimited run is `first`
                runs["unlimited"].append(run_child(work, cache, 0))

    for name, results in runs.items():
        total = median([r["total"] for r in results])
        loading = median([sum(s["load_seconds"] for s in r["steps"]) for r in results])
        ref = median([r["total"] for r in runs["unlimited"]])
        report(f"{name}: sequence time", total, "s", total / ref)
        report(f"{name}: of which loading", loading, "s")
        report(f"{name}: loads", median([r["loads"] for r in results]))
        report(f"{name}: most models loaded at once", max(len(s["loaded"]) for r in results for s in r["steps"]))
        peak = median([r["peak_rss_mb"] for r in results])
        ref_peak = median([r["peak_rss_mb"] for r in runs["unlimited"]])
        report(f"{name}: peak RSS", peak, "MiB", peak / ref_peak)
        steps = ", ".join(
            f"{s['modality']} {s['load_seconds']:.2f}" for s in results[len(results) // 2]["steps"]
        )
        report(f"{name}: load seconds per step", steps, note="last entry: second use of the model just used")
        steps = ", ".join(
            f"{s['modality']} {s['seconds']:.2f}" for s in results[len(results) // 2]["steps"]
        )
        report(f"{name}: call seconds per step", steps, note="load + evict + generate + record")
        report(f"{name}: full gc.collect() runs by the manager", median([r.get("collections", 0) for r in results]),
               note="only when free memory is short")
        second = [r["steps"][-1] for r in results]
        report(f"{name}: second use adds load time", median([s["load_seconds"] for s in second]), "s",
               note=f"its call took {median([s['seconds'] for s in second]) * 1000:.0f} ms")
    report("one gc.collect() with the model libraries loaded", median([r["gc_seconds"] for r in runs["two models"]]), "s",
           note="what each eviction cost before; the manager now runs it only when memory is short")
    unlimited_text = [r["steps"][-2] for r in runs["unlimited"]]  # text again at the end: already loaded
    report("unlimited: text at the end (second use) adds load time", median([s["load_seconds"] for s in unlimited_text]), "s")


if __name__ == "__main__":
    main()
