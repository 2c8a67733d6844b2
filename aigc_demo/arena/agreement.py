"""Agreement between reviewers who judged the same items: Krippendorff's alpha, with how many
items were shared (alpha on a handful of items says little)."""

from __future__ import annotations

from typing import Any

from aigc_demo.record.arena import shared_ratings, shared_votes

from .stats import krippendorff_alpha


def agreement(store: Any, scenario: str | None = None) -> dict[str, Any]:
    """Ordinal alpha over 1-5 ratings, nominal alpha over comparison votes (the winning variant)."""
    ratings, votes = shared_ratings(store, scenario), shared_votes(store, scenario)
    return {
        "ratings": _figures(ratings, "ordinal"),
        "votes": _figures(votes, "nominal"),
    }


def _figures(units: dict[str, dict[str, Any]], level: str) -> dict[str, Any]:
    alpha = krippendorff_alpha(units, level)
    reviewers = {name for values in units.values() for name in values}
    return {"alpha": None if alpha is None else round(alpha, 3), "shared_items": len(units),
            "reviewers": len(reviewers), "level": level}


def describe(figures: dict[str, Any], what: dict[str, str], language: str) -> str:
    """One line: "Ratings: Krippendorff's alpha 0.62 over 14 shared items (3 reviewers)"."""
    if figures["alpha"] is None:
        if language == "zh":
            return f"{what['zh']}：共同评审的项目 {figures['shared_items']} 个，尚无法计算一致性（需要至少两位评审且结果有差异）。"
        return (f"{what['en']}: {figures['shared_items']} shared items; agreement cannot be computed yet "
                "(needs two reviewers on the same items, and some variation).")
    if language == "zh":
        return (f"{what['zh']}：Krippendorff α = {figures['alpha']:.2f}，基于 {figures['shared_items']} 个共同评审项目"
                f"（{figures['reviewers']} 位评审）。")
    return (f"{what['en']}: Krippendorff's alpha {figures['alpha']:.2f} over {figures['shared_items']} shared items "
            f"({figures['reviewers']} reviewers).")
