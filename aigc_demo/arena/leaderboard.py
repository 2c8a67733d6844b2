"""The leaderboard: who wins, how sure we can be, and what that means in plain words.

Per industry and overall, from every vote (one per reviewer per comparison):

- each variant's win rate = (wins + ½ ties) / (wins + losses + ties), with a 95 % Wilson
  interval; "both bad" votes are counted but left out of win rates (nobody won);
- Bradley-Terry scores (MM algorithm, Elo scale) with 95 % bootstrap intervals;
- for every pair of variants that met, a verdict in English and Chinese: "B is better on
  Medical: 70 % of 40 votes, 95 % CI 55-82 %", "no clear winner yet", or "not enough votes yet".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from .stats import bootstrap_bradley_terry, bradley_terry, elo_scale, wilson

MIN_VOTES = 10  # fewer votes on a pair than this: "not enough votes yet"
OVERALL = "overall"
OVERALL_NAME = {"en": "all industries", "zh": "所有行业"}


def variant_name(variant: Mapping[str, Any]) -> str:
    """The name a variant goes by on the leaderboard: its ``label``, else what it sets
    ("model=openai:a", "seed=1", "temperature=0.2", "prompt#1a2b3c" for a prompt template)."""
    label = str(variant.get("label") or "").strip()
    if label:
        return label
    parts = [f"model={variant['model']}"] if variant.get("model") else []
    if variant.get("seed") is not None:
        parts.append(f"seed={variant['seed']}")
    for key, value in sorted((variant.get("params") or {}).items()):
        parts.append(f"{key}={value}")
    for key in ("prompt", "system_prompt"):
        if variant.get(key):
            parts.append(f"{key}#{hashlib.sha1(str(variant[key]).encode()).hexdigest()[:6]}")
    return ", ".join(parts) or "default"


def build(votes: Sequence[Mapping[str, Any]], names: Mapping[str, Mapping[str, str]] | None = None,
          *, min_votes: int = MIN_VOTES, rounds: int = 200) -> dict[str, Any]:
    """The leaderboard of ``votes`` (``record.arena.voted_comparisons`` rows): ``overall`` and
    ``by_industry`` {scenario: board}. ``names`` gives industries their bilingual names."""
    names = names or {}
    by_industry: dict[str, list[Mapping[str, Any]]] = {}
    for item in votes:
        by_industry.setdefault(item["scenario"], []).append(item)
    return {
        OVERALL: board(votes, OVERALL_NAME, min_votes=min_votes, rounds=rounds),
        "by_industry": {s: board(items, names.get(s) or {"en": s, "zh": s}, min_votes=min_votes, rounds=rounds)
                        for s, items in sorted(by_industry.items())},
        "min_votes": min_votes,
    }


def board(votes: Sequence[Mapping[str, Any]], where: Mapping[str, str], *, min_votes: int = MIN_VOTES,
          rounds: int = 200) -> dict[str, Any]:
    """One group's figures: totals, variants (best first) and pairs with their verdicts."""
    players: dict[str, int] = {}
    stats: dict[str, dict[str, float]] = {}
    pairs: dict[tuple[str, str], dict[str, float]] = {}
    games: list[tuple[int, int, float]] = []
    both_bad = ties = 0
    for item in votes:
        a, b = variant_name(item["variant_a"]), variant_name(item["variant_b"])
        for name in (a, b):
            players.setdefault(name, len(players))
            stats.setdefault(name, {"wins": 0, "losses": 0, "ties": 0, "both_bad": 0})
        key = (a, b) if a <= b else (b, a)
        pair = pairs.setdefault(key, {"first_wins": 0, "second_wins": 0, "ties": 0, "both_bad": 0})
        result = item["winner"]
        if result == "both_bad":
            both_bad += 1
            pair["both_bad"] += 1
            stats[a]["both_bad"] += 1
            stats[b]["both_bad"] += 1
            continue
        if result == "tie":
            ties += 1
            pair["ties"] += 1
            stats[a]["ties"] += 1
            stats[b]["ties"] += 1
            games.append((players[a], players[b], 0.5))
            continue
        won, lost = (a, b) if result == "a" else (b, a)
        stats[won]["wins"] += 1
        stats[lost]["losses"] += 1
        pair["first_wins" if won == key[0] else "second_wins"] += 1
        games.append((players[won], players[lost], 1.0))
    scores = elo_scale(bradley_terry(games, len(players))) if players else []
    low, high = bootstrap_bradley_terry(games, len(players), rounds=rounds) if players else ([], [])
    variants = []
    for name, index in players.items():
        s = stats[name]
        rated = s["wins"] + s["losses"] + s["ties"]
        lo, hi = wilson(s["wins"] + 0.5 * s["ties"], rated)
        variants.append({
            "variant": name, "votes": int(rated + s["both_bad"]), "wins": int(s["wins"]),
            "losses": int(s["losses"]), "ties": int(s["ties"]), "both_bad": int(s["both_bad"]),
            "win_rate": round((s["wins"] + 0.5 * s["ties"]) / rated, 4) if rated else None,
            "ci_low": round(lo, 4), "ci_high": round(hi, 4),
            "bt_score": round(float(scores[index]), 1), "bt_low": round(float(low[index]), 1),
            "bt_high": round(float(high[index]), 1),
        })
    variants.sort(key=lambda v: (-v["bt_score"], v["variant"]))
    return {
        "votes": len(votes), "ties": ties, "both_bad": both_bad, "variants": variants,
        "pairs": [_pair(first, second, figures, where, min_votes) for (first, second), figures in sorted(pairs.items())],
    }


def _pair(first: str, second: str, f: Mapping[str, float], where: Mapping[str, str], min_votes: int) -> dict[str, Any]:
    rated = f["first_wins"] + f["second_wins"] + f["ties"]
    share = f["first_wins"] + 0.5 * f["ties"]
    lo, hi = wilson(share, rated)
    figures = {
        "first": first, "second": second, "votes": int(rated + f["both_bad"]), "first_wins": int(f["first_wins"]),
        "second_wins": int(f["second_wins"]), "ties": int(f["ties"]), "both_bad": int(f["both_bad"]),
        "first_win_rate": round(share / rated, 4) if rated else None, "ci_low": round(lo, 4), "ci_high": round(hi, 4),
    }
    figures["verdict"] = verdict(first, second, share, rated, int(f["both_bad"]), where, min_votes)
    return figures


def verdict(first: str, second: str, share: float, rated: float, both_bad: int, where: Mapping[str, str],
            min_votes: int = MIN_VOTES) -> dict[str, str]:
    """Plain words, English and Chinese, for one pair: which is better and how sure we are."""
    en_where, zh_where = where.get("en", ""), where.get("zh", "")
    if rated < min_votes:
        bad = (f" ({both_bad} said both bad)", f"（另有 {both_bad} 票认为都不好）") if both_bad else ("", "")
        return {
            "en": f"Not enough votes yet on {en_where}: {first} vs {second} has {int(rated)} of the {min_votes} "
                  f"needed{bad[0]}.",
            "zh": f"{zh_where}投票还不够：{first} 对 {second} 目前 {int(rated)} 票，至少需要 {min_votes} 票{bad[1]}。",
        }
    lo, hi = wilson(share, rated)
    if lo > 0.5 or hi < 0.5:
        better, worse, rate = (first, second, share / rated) if lo > 0.5 else (second, first, 1 - share / rated)
        low, high = (lo, hi) if lo > 0.5 else (1 - hi, 1 - lo)
        return {
            "en": f"{better} is better than {worse} on {en_where}: {rate * 100:.0f} % of {int(rated)} votes, "
                  f"95 % CI {low * 100:.0f}-{high * 100:.0f} %.",
            "zh": f"在{zh_where}上 {better} 优于 {worse}：{int(rated)} 票中胜出 {rate * 100:.0f}%，"
                  f"95% 置信区间 {low * 100:.0f}-{high * 100:.0f}%。",
        }
    rate = share / rated
    return {
        "en": f"No clear winner on {en_where} yet: {first} wins {rate * 100:.0f} % of {int(rated)} votes against {second}, "
              f"95 % CI {lo * 100:.0f}-{hi * 100:.0f} % (includes 50 %).",
        "zh": f"{zh_where}暂无明确胜者：{first} 对 {second} 在 {int(rated)} 票中胜出 {rate * 100:.0f}%，"
              f"95% 置信区间 {lo * 100:.0f}-{hi * 100:.0f}%（包含 50%）。",
    }
