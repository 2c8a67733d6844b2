"""Time of the grounding checks per text output (issue 14: under 50 ms each), no model.

    .venv/bin/python benchmarks/grounding.py [--reps 20]

Runs every hand-made case of ``tests/data/grounding_cases.yaml`` (its run inputs prepared once,
as a scenario run does) ``--reps`` times, then a long output per industry (all of that
industry's cases joined, a few thousand characters: longer than any task's token limit).
Prints the median, 95th percentile and maximum per output, with the ratio to the 50 ms budget.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from _common import header, report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aigc_demo import grounding  # noqa: E402
from aigc_demo.grounding.evaluate import INDUSTRIES, inputs_of, load_cases  # noqa: E402
from aigc_demo.industries import load_scenarios  # noqa: E402

BUDGET_MS = 50.0


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    header("grounding checks per text output")
    report("load average (1 min)", f"{os.getloadavg()[0]:.1f}", note="timings grow with it on a shared machine")
    scenarios = {s.id: s for s in load_scenarios()}
    cases = [(inputs_of(scenarios[c["industry"]], c), c["text"]) for c in load_cases()]
    start = time.perf_counter()
    grounding.check(*cases[0])  # the first call reads the vocabularies and compiles them
    report("first call (reads terms.yaml)", (time.perf_counter() - start) * 1000, "ms")
    times = sorted(timed(grounding.check, inputs, text) for _ in range(args.reps) for inputs, text in cases)
    p95 = times[int(0.95 * (len(times) - 1))]
    report(f"per output, {len(cases)} cases x {args.reps}: median", statistics.median(times), "ms",
           statistics.median(times) / BUDGET_MS, "ratio to the 50 ms budget")
    report("per output: 95th percentile", p95, "ms", p95 / BUDGET_MS)
    report("per output: max", times[-1], "ms", times[-1] / BUDGET_MS)
    for industry in INDUSTRIES:
        mine = [(inputs, text) for inputs, text in cases if inputs.scenario == industry]
        long_text = "\n\n".join(text for _, text in mine)
        runs = [timed(grounding.check, mine[0][0], long_text) for _ in range(max(5, args.reps // 2))]
        middle = statistics.median(runs)
        report(f"long {industry} output ({len(long_text)} chars): median", middle, "ms", middle / BUDGET_MS,
               f"max {max(runs):.1f} ms")


if __name__ == "__main__":
    main()
