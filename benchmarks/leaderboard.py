"""How long the leaderboard takes to compute as votes grow (Bradley-Terry + 200 bootstrap rounds).

    .venv/bin/python benchmarks/leaderboard.py [--variants 4] [--industries 3]

Prints ``votes: seconds (ratio to the smallest x)`` for synthetic votes; no app, no models.
"""

from __future__ import annotations

import argparse
import random
import time

import _common  # noqa: F401  (puts the repository on sys.path, offline environment)
from aigc_demo.arena import leaderboard


def votes(n: int, variants: int, industries: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    names = [{"seed": i} for i in range(variants)]
    out = []
    for _ in range(n):
        a, b = rng.sample(names, 2)
        out.append({"scenario": f"industry{rng.randrange(industries)}", "variant_a": a, "variant_b": b,
                    "winner": rng.choice(["a", "a", "b", "tie", "both_bad"])})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--industries", type=int, default=3)
    args = parser.parse_args()
    first = None
    for n in (100, 1_000, 10_000):
        data = votes(n, args.variants, args.industries)
        start = time.perf_counter()
        leaderboard.build(data)
        seconds = time.perf_counter() - start
        first = first or seconds
        print(f"{n} votes: {seconds:.3f} s ({seconds / first:.1f} x)")


if __name__ == "__main__":
    main()
