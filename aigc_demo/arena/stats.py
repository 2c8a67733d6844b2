"""The statistics behind the leaderboard: Wilson intervals, Bradley-Terry scores with bootstrap
intervals, and Krippendorff's alpha for agreement between reviewers. numpy only."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

import numpy as np

Z95 = 1.959963984540054  # the normal quantile of a two-sided 95 % interval
ELO_BASE, ELO_SCALE = 1000.0, 400.0  # Bradley-Terry strengths shown on the familiar Elo scale


def wilson(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (``successes`` may hold halves: ties); (0, 1) when n = 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bradley_terry(games: Sequence[tuple[int, int, float]] | np.ndarray, players: int, *, prior: float = 1.0,
                  iterations: int = 2000, tolerance: float = 1e-10) -> np.ndarray:
    """Bradley-Terry strengths by Hunter's MM algorithm (normalised to geometric mean 1).

    ``games`` are (i, j, score of i): 1 = i won, 0 = j won, 0.5 = a tie. ``prior`` adds that
    many virtual tied games to every pair that met, so a side that won every game still gets a
    finite strength."""
    table = np.asarray(games, dtype=float).reshape(-1, 3)
    first, second, score = table[:, 0].astype(int), table[:, 1].astype(int), table[:, 2]
    wins = np.bincount(first, score, players) + np.bincount(second, 1.0 - score, players)
    meetings = np.bincount(first * players + second, None, players * players).reshape(players, players).astype(float)
    meetings = meetings + meetings.T
    met = meetings > 0
    meetings += prior * met
    wins += 0.5 * prior * met.sum(axis=1)
    strength = np.ones(players)
    active = meetings.sum(axis=1) > 0
    if not active.any():
        return strength
    for _ in range(iterations):
        denominator = (meetings / (strength[:, None] + strength[None, :])).sum(axis=1)
        updated = np.where(active, wins / np.where(denominator > 0, denominator, 1.0), 1.0)
        updated /= math.exp(np.log(updated[active]).mean())
        done = np.max(np.abs(updated - strength)) < tolerance
        strength = updated
        if done:
            break
    return strength


def elo_scale(strength: np.ndarray) -> np.ndarray:
    return ELO_BASE + ELO_SCALE * np.log10(strength)


def bootstrap_bradley_terry(games: Sequence[tuple[int, int, float]], players: int, *, rounds: int = 200,
                            seed: int = 0, prior: float = 1.0, iterations: int = 500,
                            tolerance: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """2.5 and 97.5 percentiles (Elo scale) of Bradley-Terry scores over ``rounds`` resamples of
    the games (with replacement; a fixed ``seed`` keeps the figures reproducible). All rounds
    run together: the MM update on a (rounds, players, players) array."""
    if not len(games):
        return np.full(players, ELO_BASE), np.full(players, ELO_BASE)
    table = np.asarray(games, dtype=float).reshape(-1, 3)
    # Resampling n games with replacement = drawing how often each distinct outcome occurs.
    outcomes, counts = np.unique(table, axis=0, return_counts=True)
    drawn = np.random.default_rng(seed).multinomial(len(table), counts / len(table), size=rounds).astype(float)
    first, second, score = outcomes[:, 0].astype(int), outcomes[:, 1].astype(int), outcomes[:, 2]
    wins = np.zeros((rounds, players))
    meetings = np.zeros((rounds, players, players))
    for k in range(len(outcomes)):  # one pass per distinct outcome (at most 3 per pair)
        i, j, w = first[k], second[k], drawn[:, k]
        wins[:, i] += w * score[k]
        wins[:, j] += w * (1.0 - score[k])
        meetings[:, i, j] += w
        meetings[:, j, i] += w
    met = meetings > 0
    meetings += prior * met
    wins += 0.5 * prior * met.sum(axis=2)
    active = meetings.sum(axis=2) > 0
    strength = np.broadcast_to(bradley_terry(table, players, prior=prior), (rounds, players)).copy()
    for _ in range(iterations):
        denominator = (meetings / (strength[:, :, None] + strength[:, None, :])).sum(axis=2)
        updated = np.where(active, wins / np.where(denominator > 0, denominator, 1.0), 1.0)
        logs = np.where(active, np.log(np.where(updated > 0, updated, 1.0)), 0.0)
        updated /= np.exp(logs.sum(axis=1) / np.maximum(active.sum(axis=1), 1))[:, None]
        done = np.max(np.abs(updated - strength)) < tolerance
        strength = updated
        if done:
            break
    scores = elo_scale(strength)
    return np.percentile(scores, 2.5, axis=0), np.percentile(scores, 97.5, axis=0)


def krippendorff_alpha(units: Mapping[Hashable, Mapping[Hashable, Hashable]], level: str = "ordinal") -> float | None:
    """Krippendorff's alpha for ``units`` = {item: {rater: value}} (items with fewer than two
    values are left out). ``level`` "ordinal" (ratings 1-5) or "nominal" (votes). None when it
    is undefined: fewer than two pairable values, or every value the same."""
    pairable = [list(values.values()) for values in units.values() if len(values) >= 2]
    categories = sorted({v for values in pairable for v in values}, key=_order)
    if not pairable or len(categories) < 1:
        return None
    index = {c: k for k, c in enumerate(categories)}
    size = len(categories)
    coincidence = np.zeros((size, size))
    for values in pairable:
        m = len(values)
        for a in range(m):
            for b in range(m):
                if a != b:
                    coincidence[index[values[a]], index[values[b]]] += 1.0 / (m - 1)
    totals = coincidence.sum(axis=1)
    n = totals.sum()
    delta = np.zeros((size, size))
    for c in range(size):
        for k in range(size):
            if level == "nominal":
                delta[c, k] = float(c != k)
            else:  # ordinal: the values between c and k, counted by how often they were used
                lo, hi = min(c, k), max(c, k)
                delta[c, k] = (totals[lo:hi + 1].sum() - (totals[c] + totals[k]) / 2.0) ** 2
    expected = (np.outer(totals, totals) * delta).sum()
    if n <= 1 or expected == 0:
        return None
    observed = (coincidence * delta).sum()
    return float(1.0 - (n - 1.0) * observed / expected)


def _order(value: Hashable) -> tuple[int, float | str]:
    return (0, float(value)) if isinstance(value, (int, float)) else (1, str(value))
