"""Blind A/B comparisons: running them (``compare``), the statistics (``stats``), the
leaderboard with verdicts (``leaderboard``) and the preference data for TRL (``preferences``).
Storage lives in ``aigc_demo.record.arena``."""
