"""The values of the record: outputs, reviews, ratings, tags and times.

Ratings are one integer, 1..5 stars; the thumbs buttons map onto it: thumbs up =
``THUMBS_UP`` (5), thumbs down = ``THUMBS_DOWN`` (1). A rating of 4 or 5 counts as
"thumbs up" in the summary.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aigc_demo import __version__
from aigc_demo.core.text import printable
from aigc_demo.core.types import ValidationError

THUMBS_UP = 5
THUMBS_DOWN = 1
MIN_RATING, MAX_RATING = 1, 5
POSITIVE_RATING = 4  # ratings >= this count as "thumbs up" in summaries
STATUSES = ("ok", "cancelled", "error", "missing_file", "quarantined")
PLAYGROUND = "playground"
MAX_TAGS, MAX_TAG_CHARS, MAX_COMMENT_CHARS, MAX_REVIEWER_CHARS = 20, 40, 4000, 80


def utc_now() -> str:
    """Current UTC time as ISO 8601 with microseconds (sorts as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def iso_time(value: str | date | datetime, *, end_of_day: bool = False) -> str:
    """Normalise a time to the stored format; a bare date means its midnight
    (or the next midnight when ``end_of_day``), naive datetimes are UTC. A time that cannot
    be one (``2026-13-01``, the day after 9999-12-31) is a ValueError."""
    try:
        return _iso_time(value, end_of_day)
    except OverflowError:
        raise ValueError(f"{value} is outside the dates this app can store") from None


def _iso_time(value: str | date | datetime, end_of_day: bool) -> str:
    if isinstance(value, str):
        text = value.strip()
        value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    if not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time()) + timedelta(days=int(end_of_day))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


@dataclass
class OutputRecord:
    """One generation: everything needed to show, judge and reproduce it."""

    modality: str
    prompt: str = ""
    scenario: str = PLAYGROUND
    task: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    model_ref: str = ""
    preset: str = ""
    device: str = ""
    load_seconds: float = 0.0
    generate_seconds: float = 0.0
    app_version: str = __version__
    output_text: str | None = None
    file_paths: list[str] = field(default_factory=list)
    session_id: str = ""
    status: str = "ok"
    notes: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)  # scenario form values, for re-runs
    checks: list[dict[str, Any]] = field(default_factory=list)  # grounding flags of a text output
    run_id: str = ""  # the outputs of one run share it (a scenario run has several); "" = this record's own id
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if not self.run_id:  # a run of one output (the playground) is its own run
            self.run_id = self.id

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def provenance(self) -> dict[str, Any]:
        """What goes inside the output files (no session id, paths or output text)."""
        keys = ("id", "run_id", "created_at", "scenario", "task", "modality", "prompt", "params", "seed",
                "model_ref", "preset", "device", "app_version")  # fmt: skip
        record = {key: getattr(self, key) for key in keys}
        record["app"] = "AIGC Industry Studio"
        record["ai_generated"] = True
        return record


RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(OutputRecord))


@dataclass
class Review:
    """One reviewer's judgement of one output."""

    record_id: str
    rating: int
    reviewer: str = ""
    tags: list[str] = field(default_factory=list)
    comment: str = ""
    created_at: str = ""
    updated_at: str = ""

    @property
    def thumbs_up(self) -> bool:
        return self.rating >= POSITIVE_RATING

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ConsistencyReport:
    """What ``ReviewStore.check_files`` found: records whose files vanished (now
    ``missing_file``), files under outputs/ that no record mentions, and leftover temporary files."""

    missing: list[str] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)
    temp_files: list[Path] = field(default_factory=list)


def normalize_rating(rating: Any) -> int:
    """1..5 stars; "up"/"down" (thumbs) map to THUMBS_UP/THUMBS_DOWN."""
    if isinstance(rating, str):
        key = rating.strip().lower()
        thumbs = {"up": THUMBS_UP, "thumbs_up": THUMBS_UP, "👍": THUMBS_UP,
                  "down": THUMBS_DOWN, "thumbs_down": THUMBS_DOWN, "👎": THUMBS_DOWN}  # fmt: skip
        if key in thumbs:
            return thumbs[key]
    if isinstance(rating, bool) or rating is None:
        raise ValidationError("rating", f"must be {MIN_RATING}..{MAX_RATING} stars or 'up'/'down'")
    try:
        number = float(rating)
    except (TypeError, ValueError):
        raise ValidationError("rating", f"must be {MIN_RATING}..{MAX_RATING} stars or 'up'/'down'") from None
    if number != int(number) or not MIN_RATING <= number <= MAX_RATING:
        raise ValidationError("rating", f"must be a whole number from {MIN_RATING} to {MAX_RATING} (got {rating})")
    return int(number)


def normalize_tags(tags: Any) -> list[str]:
    """Stripped, de-duplicated (order kept), short tags; a string is split on commas."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = tags.split(",")
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise ValidationError("tags", "must be text")
        tag = " ".join(printable(tag).split())
        if len(tag) > MAX_TAG_CHARS:
            raise ValidationError("tags", f"each tag is at most {MAX_TAG_CHARS} characters ('{tag[:20]}...')")
        if tag and tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise ValidationError("tags", f"at most {MAX_TAGS} tags (got {len(out)})")
    return out
