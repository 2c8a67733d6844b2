"""Preference data out: every decisive vote as one line TRL's DPO and reward trainers read.

Each line of ``preferences.jsonl`` has ``prompt``, ``chosen`` (the output of the side that won)
and ``rejected`` (the other), plus metadata: industry, task, the variants, reviewer, tags,
comment, the comparison and record ids. Votes for "tie" and "both bad" say nothing about which
side is better: they are left out of the file and counted in the returned summary. Two
reviewers voting on one comparison give two lines. ``preferences.parquet`` is written too when
pyarrow is installed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from aigc_demo.record.arena import voted_comparisons

from .leaderboard import variant_name

JSONL_NAME, PARQUET_NAME = "preferences.jsonl", "preferences.parquet"


def preference_rows(store: Any, scenario: str | None = None) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The preference pairs and a count of what was left out (ties, both bad, missing text)."""
    rows: list[dict[str, Any]] = []
    skipped = {"tie": 0, "both_bad": 0, "no_text": 0}
    for vote in voted_comparisons(store, scenario):
        if vote["winner"] in ("tie", "both_bad"):
            skipped[vote["winner"]] += 1
            continue
        won, lost = ("a", "b") if vote["winner"] == "a" else ("b", "a")
        chosen, rejected = store.get_record(vote[f"record_{won}"]), store.get_record(vote[f"record_{lost}"])
        if chosen is None or rejected is None or chosen.output_text is None or rejected.output_text is None:
            skipped["no_text"] += 1
            continue
        rows.append({
            "prompt": chosen.prompt,
            "chosen": chosen.output_text,
            "rejected": rejected.output_text,
            "system_prompt": str(chosen.params.get("system_prompt") or ""),
            "same_prompt": chosen.prompt == rejected.prompt,
            "industry": vote["scenario"],
            "task": vote["task"],
            "chosen_variant": variant_name(vote[f"variant_{won}"]),
            "rejected_variant": variant_name(vote[f"variant_{lost}"]),
            "chosen_model": chosen.model_ref,
            "rejected_model": rejected.model_ref,
            "reviewer": vote["reviewer"],
            "tags": list(vote["tags"]),
            "comment": vote["comment"],
            "comparison_id": vote["id"],
            "chosen_record_id": chosen.id,
            "rejected_record_id": rejected.id,
            "voted_at": vote["voted_at"],
        })
    return rows, skipped


def write_preferences(store: Any, out_dir: Path | str, scenario: str | None = None) -> tuple[list[Path], dict[str, int]]:
    """Write ``preferences.jsonl`` (and ``.parquet`` with pyarrow); returns the paths and counts."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows, skipped = preference_rows(store, scenario)
    jsonl = out / JSONL_NAME
    with jsonl.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    paths = [jsonl]
    if rows and importlib.util.find_spec("pyarrow") is not None:
        import pandas as pd

        pd.DataFrame(rows).to_parquet(out / PARQUET_NAME, index=False)
        paths.append(out / PARQUET_NAME)
    return paths, {"pairs": len(rows), **skipped}
