"""Print the README's table of grounding-check results on the hand-made test set.

    python scripts/grounding_table.py    # then paste it under "Grounding checks" in README.md

tests/test_grounding.py fails when the README's table differs from what this prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aigc_demo.grounding.evaluate import evaluate, load_cases, results_table  # noqa: E402
from aigc_demo.industries import load_scenarios  # noqa: E402


def main() -> None:
    scenarios = {s.id: s for s in load_scenarios()}
    outcomes = [evaluate(case, scenarios) for case in load_cases()]
    print(results_table(outcomes))
    for outcome in outcomes:
        if not outcome.ok:
            print(f"{outcome.case['id']}: missed {outcome.missed}, unexpected "
                  f"{[(f['kind'], f['span']) for f in outcome.unexpected]}", file=sys.stderr)


if __name__ == "__main__":
    main()
