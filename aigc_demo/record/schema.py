"""The review database's schema: ``MIGRATIONS`` and ``migrate``.

The schema version is ``PRAGMA user_version`` (on PostgreSQL, ``record.database`` keeps it in
a one-row table); ``MIGRATIONS[i]`` moves a database from version i to i + 1, inside one
transaction. Never edit a released step: append a new one, in SQL that both SQLite and
PostgreSQL run (``record.database`` lists what it translates and what it cannot).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Callable

DB_NAME = "reviews.sqlite3"

_V1 = (
    # v1: the first release. One anonymous review per output.
    """CREATE TABLE records (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        scenario TEXT NOT NULL,
        task TEXT NOT NULL DEFAULT '',
        modality TEXT NOT NULL,
        prompt TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL DEFAULT '{}',
        seed INTEGER,
        model_ref TEXT NOT NULL DEFAULT '',
        preset TEXT NOT NULL DEFAULT '',
        device TEXT NOT NULL DEFAULT '',
        load_seconds REAL NOT NULL DEFAULT 0,
        generate_seconds REAL NOT NULL DEFAULT 0,
        app_version TEXT NOT NULL DEFAULT '',
        output_text TEXT,
        file_paths TEXT NOT NULL DEFAULT '[]',
        session_id TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'ok'
    )""",
    "CREATE INDEX records_created ON records(created_at)",
    """CREATE TABLE reviews (
        record_id TEXT PRIMARY KEY REFERENCES records(id),
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        comment TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL
    )""",
)
_V2 = (
    # v2: several named reviewers per output, reason tags, generator notes, more indexes.
    """CREATE TABLE reviews_v2 (
        record_id TEXT NOT NULL REFERENCES records(id),
        reviewer TEXT NOT NULL DEFAULT '',
        rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
        tags TEXT NOT NULL DEFAULT '[]',
        comment TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (record_id, reviewer)
    )""",
    """INSERT INTO reviews_v2 (record_id, reviewer, rating, tags, comment, created_at, updated_at)
       SELECT record_id, '', rating, '[]', comment, updated_at, updated_at FROM reviews""",
    "DROP TABLE reviews",
    "ALTER TABLE reviews_v2 RENAME TO reviews",
    "CREATE INDEX reviews_updated ON reviews(record_id, updated_at)",
    "ALTER TABLE records ADD COLUMN notes TEXT NOT NULL DEFAULT '[]'",
    "CREATE INDEX records_scenario ON records(scenario, created_at)",
    "CREATE INDEX records_session ON records(session_id, created_at)",
)
_V3 = (
    # v3: the form values a scenario run started from, so "re-run exactly" can refill the tab.
    "ALTER TABLE records ADD COLUMN inputs TEXT NOT NULL DEFAULT '{}'",
)
_V4 = (
    # v4: damaged rows found when the store opens are kept here as they were (record.quarantine).
    """CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        reason TEXT NOT NULL,
        raw TEXT NOT NULL,
        quarantined_at TEXT NOT NULL
    )""",
)
_V5 = (
    # v5: blind A/B comparisons (record.arena): two recorded outputs of the same form made by
    # two variants, shown in random order ("ab": A shown first), and one vote per reviewer.
    """CREATE TABLE comparisons (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        scenario TEXT NOT NULL,
        task TEXT NOT NULL DEFAULT '',
        inputs TEXT NOT NULL DEFAULT '{}',
        variant_a TEXT NOT NULL DEFAULT '{}',
        variant_b TEXT NOT NULL DEFAULT '{}',
        record_a TEXT NOT NULL REFERENCES records(id),
        record_b TEXT NOT NULL REFERENCES records(id),
        shown TEXT NOT NULL CHECK (shown IN ('ab', 'ba')),
        session_id TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX comparisons_scenario ON comparisons(scenario, created_at)",
    """CREATE TABLE comparison_votes (
        comparison_id TEXT NOT NULL REFERENCES comparisons(id),
        reviewer TEXT NOT NULL,
        choice TEXT NOT NULL CHECK (choice IN ('A', 'B', 'tie', 'both_bad')),
        tags TEXT NOT NULL DEFAULT '[]',
        comment TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (comparison_id, reviewer)
    )""",
    "CREATE INDEX comparison_votes_updated ON comparison_votes(updated_at)",
    # v5 also: the grounding checks' flags of a text output (aigc_demo.grounding), as JSON.
    "ALTER TABLE records ADD COLUMN checks TEXT NOT NULL DEFAULT '[]'",
)
_V6 = (
    # v6: one id for every output of one run (a scenario run has several), for permalinks and run downloads;
    # older outputs become runs of their own.
    "ALTER TABLE records ADD COLUMN run_id TEXT NOT NULL DEFAULT ''",
    "UPDATE records SET run_id = id WHERE run_id = ''",
    "CREATE INDEX records_run ON records(run_id, created_at)",
)
Migration = Sequence[str] | Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = [_V1, _V2, _V3, _V4, _V5, _V6]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, target: int | None = None) -> int:
    """Bring the database to schema ``target`` (default: the latest); returns the version found before.

    Each step runs in its own ``BEGIN IMMEDIATE`` transaction together with the
    ``user_version`` bump, so a crash mid-migration leaves the previous version intact,
    and two processes opening the same old file migrate it once.
    """
    latest = len(MIGRATIONS)
    target = latest if target is None else target
    start = conn.execute("PRAGMA user_version").fetchone()[0]
    if start > latest:
        raise RuntimeError(
            f"review database has schema v{start}, newer than this app (v{latest}); "
            "upgrade the app or point AIGC_DATA_DIR elsewhere"
        )
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= target:
                conn.execute("COMMIT")
                return start
            step = MIGRATIONS[version]
            if callable(step):
                step(conn)
            else:
                for statement in step:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
