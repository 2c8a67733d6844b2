"""Blind A/B comparisons in the review store: the comparison, its votes, and the reviewer queues.

A comparison holds two recorded outputs of the same form, made by two variants (variant A
made ``record_a``, variant B ``record_b``), and the order they were shown in: ``shown`` is
"ab" when variant A was shown as "A", "ba" when the sides were swapped. A vote is what the
reviewer clicked ("A", "B", "tie", "both_bad", as shown); :func:`winner` turns it into the
variant that won. One vote per reviewer per comparison; voting again edits it.

Plain SQL with ``?`` placeholders through the store's ``query`` and write transaction, so the
same code serves every database the store supports.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aigc_demo.core.text import printable
from aigc_demo.core.types import ValidationError

from .models import MAX_COMMENT_CHARS, MAX_REVIEWER_CHARS, normalize_tags, utc_now

CHOICES = ("A", "B", "tie", "both_bad")
# How a choice may be written (API, buttons, keyboard) -> the stored choice.
CHOICE_ALIASES = {"a": "A", "b": "B", "tie": "tie", "t": "tie", "both bad": "both_bad", "both_bad": "both_bad",
                  "bothbad": "both_bad", "x": "both_bad", "平局": "tie", "都不好": "both_bad"}


@dataclass
class Comparison:
    """Two outputs of one form by two variants; ``shown`` says which variant was labelled "A"."""

    scenario: str
    record_a: str
    record_b: str
    variant_a: dict[str, Any]
    variant_b: dict[str, Any]
    task: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    shown: str = field(default_factory=lambda: random.choice(("ab", "ba")))
    session_id: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: str = field(default_factory=utc_now)

    def record_shown(self, label: str) -> str:
        """The record shown as ``label`` ("A" or "B")."""
        first, second = (self.record_a, self.record_b) if self.shown == "ab" else (self.record_b, self.record_a)
        return first if label == "A" else second

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Vote:
    comparison_id: str
    reviewer: str
    choice: str
    tags: list[str]
    comment: str
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalize_choice(choice: Any) -> str:
    """"A", "b", "Tie", "both bad"... -> one of CHOICES; anything else is a ValidationError."""
    if isinstance(choice, str) and (found := CHOICE_ALIASES.get(" ".join(choice.strip().lower().split()))):
        return found
    raise ValidationError("choice", f"must be one of A, B, tie, both bad (got {choice!r})")


def winner(shown: str, choice: str) -> str:
    """The variant that won ("a" or "b"), or the choice itself for "tie" / "both_bad"."""
    if choice not in ("A", "B"):
        return choice
    first_is_a = shown == "ab"
    return "a" if (choice == "A") == first_is_a else "b"


def _clean_reviewer(reviewer: Any) -> str:
    if not isinstance(reviewer, str):
        raise ValidationError("reviewer", f"must be text (got {type(reviewer).__name__})")
    reviewer = " ".join(printable(reviewer).split())
    if not reviewer:
        raise ValidationError("reviewer", "is required (the login name, or the browser's guest id)")
    if len(reviewer) > MAX_REVIEWER_CHARS:
        raise ValidationError("reviewer", f"is at most {MAX_REVIEWER_CHARS} characters")
    return reviewer


# ---------------------------------------------------------------- comparisons


def add_comparison(store: Any, comparison: Comparison) -> str:
    """Store a comparison whose two records are already recorded; returns its id."""
    if comparison.shown not in ("ab", "ba"):
        raise ValidationError("shown", f"must be 'ab' or 'ba' (got {comparison.shown!r})")
    dump = lambda value: json.dumps(value, ensure_ascii=False, default=str)  # noqa: E731
    with store._write() as conn:
        for record_id in (comparison.record_a, comparison.record_b):
            if conn.execute("SELECT 1 FROM records WHERE id = ?", (record_id,)).fetchone() is None:
                raise ValidationError("record_id", f"no output with id {record_id!r}")
        conn.execute(
            """INSERT INTO comparisons (id, created_at, scenario, task, inputs, variant_a, variant_b,
                                        record_a, record_b, shown, session_id)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (comparison.id, comparison.created_at, comparison.scenario, comparison.task, dump(comparison.inputs),
             dump(comparison.variant_a), dump(comparison.variant_b), comparison.record_a, comparison.record_b,
             comparison.shown, comparison.session_id),
        )
    return comparison.id


def _comparison(row: Any) -> Comparison:
    return Comparison(
        id=row["id"], created_at=row["created_at"], scenario=row["scenario"], task=row["task"],
        inputs=json.loads(row["inputs"]), variant_a=json.loads(row["variant_a"]),
        variant_b=json.loads(row["variant_b"]), record_a=row["record_a"], record_b=row["record_b"],
        shown=row["shown"], session_id=row["session_id"],
    )


def get_comparison(store: Any, comparison_id: str) -> Comparison | None:
    if not isinstance(comparison_id, str) or not comparison_id.strip():
        return None
    rows = store.query("SELECT * FROM comparisons WHERE id = ?", (comparison_id.strip(),))
    return _comparison(rows[0]) if rows else None


# ---------------------------------------------------------------- votes


def vote(store: Any, comparison_id: str, choice: Any, reviewer: str, tags: Sequence[str] | str = (),
         comment: str = "") -> Vote:
    """Create or replace ``reviewer``'s vote on a comparison (one per reviewer)."""
    choice = normalize_choice(choice)
    reviewer = _clean_reviewer(reviewer)
    tag_list = normalize_tags(tags)
    if comment is not None and not isinstance(comment, str):
        raise ValidationError("comment", f"must be text (got {type(comment).__name__})")
    comment = printable(comment or "")
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValidationError("comment", f"is {len(comment)} characters; the limit is {MAX_COMMENT_CHARS}")
    now = utc_now()
    with store._write() as conn:
        if conn.execute("SELECT 1 FROM comparisons WHERE id = ?", (comparison_id,)).fetchone() is None:
            raise ValidationError("comparison_id", f"no comparison with id {comparison_id!r}")
        conn.execute(
            """INSERT INTO comparison_votes (comparison_id, reviewer, choice, tags, comment, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (comparison_id, reviewer) DO UPDATE SET
                 choice = excluded.choice, tags = excluded.tags,
                 comment = excluded.comment, updated_at = excluded.updated_at""",
            (comparison_id, reviewer, choice, json.dumps(tag_list, ensure_ascii=False), comment, now, now),
        )
        row = conn.execute("SELECT * FROM comparison_votes WHERE comparison_id = ? AND reviewer = ?",
                           (comparison_id, reviewer)).fetchone()
    return _vote(row)


def _vote(row: Any) -> Vote:
    return Vote(comparison_id=row["comparison_id"], reviewer=row["reviewer"], choice=row["choice"],
                tags=json.loads(row["tags"]), comment=row["comment"], created_at=row["created_at"],
                updated_at=row["updated_at"])


def voted_comparisons(store: Any, scenario: str | None = None) -> list[dict[str, Any]]:
    """Every vote joined with its comparison, oldest first: the comparison's fields, the vote's
    (``reviewer``, ``choice``, ``tags``, ``comment``, ``voted_at``) and ``winner`` ("a", "b",
    "tie", "both_bad")."""
    where, args = ("WHERE c.scenario = ?", [scenario]) if scenario else ("", [])
    rows = store.query(
        f"""SELECT c.*, v.reviewer AS v_reviewer, v.choice AS v_choice, v.tags AS v_tags,
                   v.comment AS v_comment, v.updated_at AS v_updated_at
            FROM comparison_votes v JOIN comparisons c ON c.id = v.comparison_id
            {where} ORDER BY v.created_at, v.comparison_id, v.reviewer""",
        args,
    )
    out = []
    for row in rows:
        item = _comparison(row).to_dict()
        item.update(reviewer=row["v_reviewer"], choice=row["v_choice"], tags=json.loads(row["v_tags"]),
                    comment=row["v_comment"], voted_at=row["v_updated_at"],
                    winner=winner(row["shown"], row["v_choice"]))
        out.append(item)
    return out


# ---------------------------------------------------------------- reviewer queues


def next_comparison(store: Any, reviewer: str, scenario: str | None = None) -> Comparison | None:
    """The oldest comparison ``reviewer`` has not voted on (in ``scenario``, when given)."""
    reviewer = _clean_reviewer(reviewer)
    filter_sql, args = ("AND c.scenario = ?", [scenario]) if scenario else ("", [])
    rows = store.query(
        f"""SELECT c.* FROM comparisons c
            WHERE NOT EXISTS (SELECT 1 FROM comparison_votes v WHERE v.comparison_id = c.id AND v.reviewer = ?)
            {filter_sql} ORDER BY c.created_at, c.id LIMIT 1""",
        [reviewer, *args],
    )
    return _comparison(rows[0]) if rows else None


def next_unrated_output(store: Any, reviewer: str, scenario: str | None = None) -> str | None:
    """The id of the oldest ``ok`` output ``reviewer`` has not rated (in ``scenario``, when given)."""
    reviewer = _clean_reviewer(reviewer)
    filter_sql, args = ("AND r.scenario = ?", [scenario]) if scenario else ("", [])
    rows = store.query(
        f"""SELECT r.id FROM records r
            WHERE r.status = 'ok'
              AND NOT EXISTS (SELECT 1 FROM reviews v WHERE v.record_id = r.id AND v.reviewer = ?)
              {filter_sql} ORDER BY r.created_at, r.id LIMIT 1""",
        [reviewer, *args],
    )
    return rows[0]["id"] if rows else None


def shared_ratings(store: Any, scenario: str | None = None) -> dict[str, dict[str, int]]:
    """record id -> {reviewer: rating} for the outputs that two or more reviewers rated."""
    filter_sql, args = ("AND r.scenario = ?", [scenario]) if scenario else ("", [])
    rows = store.query(
        f"""SELECT v.record_id, v.reviewer, v.rating FROM reviews v JOIN records r ON r.id = v.record_id
            WHERE v.reviewer <> '' {filter_sql}
              AND (SELECT COUNT(*) FROM reviews w WHERE w.record_id = v.record_id AND w.reviewer <> '') >= 2
            ORDER BY v.record_id, v.reviewer""",
        args,
    )
    units: dict[str, dict[str, int]] = {}
    for row in rows:
        units.setdefault(row["record_id"], {})[row["reviewer"]] = int(row["rating"])
    return units


def shared_votes(store: Any, scenario: str | None = None) -> dict[str, dict[str, str]]:
    """comparison id -> {reviewer: winner} for comparisons that two or more reviewers voted on."""
    units: dict[str, dict[str, str]] = {}
    for item in voted_comparisons(store, scenario):
        units.setdefault(item["id"], {})[item["reviewer"]] = item["winner"]
    return {key: value for key, value in units.items() if len(value) >= 2}


def as_mapping(value: Any, name: str) -> dict[str, Any]:
    """A JSON object given as a dict or as JSON text (API clients send either); {} for nothing."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValidationError(name, f"must be a JSON object (got {value[:60]!r})") from None
    if not isinstance(value, Mapping):
        raise ValidationError(name, f"must be a JSON object (got {type(value).__name__})")
    return dict(value)
