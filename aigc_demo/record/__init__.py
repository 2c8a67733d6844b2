"""The record: every output stored with its reviews, exported, and provenance in the files.

Depends only on ``aigc_demo.core``; no model library, no gradio. Importing it has no side
effects (the database opens when a ``ReviewStore`` is made).
"""

from .models import (
    MAX_RATING,
    MIN_RATING,
    PLAYGROUND,
    POSITIVE_RATING,
    STATUSES,
    THUMBS_DOWN,
    THUMBS_UP,
    ConsistencyReport,
    OutputRecord,
    Review,
    normalize_rating,
    normalize_tags,
    utc_now,
)
from .schema import DB_NAME, MIGRATIONS, SCHEMA_VERSION, migrate
from .store import ReviewStore

__all__ = [
    "DB_NAME",
    "MAX_RATING",
    "MIGRATIONS",
    "MIN_RATING",
    "PLAYGROUND",
    "POSITIVE_RATING",
    "SCHEMA_VERSION",
    "STATUSES",
    "THUMBS_DOWN",
    "THUMBS_UP",
    "ConsistencyReport",
    "OutputRecord",
    "Review",
    "ReviewStore",
    "migrate",
    "normalize_rating",
    "normalize_tags",
    "utc_now",
]
