"""Where the review store's rows live: SQLite (the default) or PostgreSQL, behind one interface.

The store and every other module write SQLite-flavoured, portable SQL (``?`` placeholders,
``BEGIN IMMEDIATE`` for a write transaction, ``PRAGMA user_version``) against a connection that
behaves like ``sqlite3.Connection`` (``execute``, ``executemany``, ``in_transaction``,
``rollback``, ``close``; rows readable by name and by index, ``dict(row)`` works). For SQLite
that IS a ``sqlite3.Connection``. For PostgreSQL, :class:`PgConnection` translates, in this
one place:

- ``?`` -> ``%s`` (and a literal ``%`` -> ``%%``); ``LIKE`` -> ``ILIKE`` (SQLite's LIKE
  ignores ASCII case);
- DDL: ``INTEGER PRIMARY KEY [AUTOINCREMENT]`` -> an identity column; ``REAL`` -> ``DOUBLE
  PRECISION`` (SQLite's REAL is 8 bytes); ``TEXT`` -> ``TEXT COLLATE "C"`` (byte order, as
  SQLite sorts and compares); ``BLOB`` -> ``BYTEA``; every table gains a ``rowid`` identity
  column, so ``rowid`` (insertion order) means the same on both;
- ``INSERT OR IGNORE`` -> ``INSERT ... ON CONFLICT DO NOTHING``;
- ``BEGIN IMMEDIATE`` -> ``BEGIN`` plus one advisory lock: writers are serialised across
  every process, as SQLite serialises them, so read-then-write code stays correct; a plain
  ``BEGIN`` is a REPEATABLE READ snapshot, as a SQLite read transaction is;
- ``PRAGMA user_version`` (read and set) -> the one-row table ``aigc_schema_version``;
  ``PRAGMA integrity_check`` -> every table read through (PostgreSQL checks its own pages);
- driver errors -> the ``sqlite3`` exception of the same DB-API name (``IntegrityError``,
  ``OperationalError``, ...), so ``except sqlite3.IntegrityError`` works on both;
- ``numeric`` results (``AVG``) come back as ``float``, as SQLite returns them.

What portable SQL cannot be translated: boolean arithmetic (``SUM(x > 1)``: write ``SUM(CASE
WHEN x > 1 THEN 1 ELSE 0 END)``), SQLite-only functions (``json_extract``, ``datetime('now')``),
``INSERT OR REPLACE`` (write ``ON CONFLICT (...) DO UPDATE``), ``cursor.lastrowid`` (write
``RETURNING id``, which both support). psycopg is imported only when a PostgreSQL URL is used.
"""

from __future__ import annotations

import re
import select
import sqlite3
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol, Sequence
from urllib.parse import urlsplit, urlunsplit

BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 10
POSTGRES_SCHEMES = ("postgresql", "postgres")
VERSION_TABLE = "aigc_schema_version"
WRITE_LOCK_KEY = 0x61696763  # "aigc": the advisory lock every write transaction takes


class Database(Protocol):
    """Opens connections to one database."""

    name: str  # "sqlite" | "postgresql"
    location: str  # for messages: a file path, or the URL without its password
    path: Path | None  # the SQLite file (None for a server)

    def connect(self) -> Any: ...

    def usable(self, conn: Any) -> bool:
        """Whether a pooled connection can still be used (checked before each reuse)."""
        ...


def open_database(data_dir: Path, url: str | None = None) -> Database:
    """SQLite in ``data_dir`` when ``url`` is empty; PostgreSQL for a ``postgresql://`` URL.
    Anything else is a ValueError that says what is accepted."""
    if not url:
        from .schema import DB_NAME

        return SqliteDatabase(Path(data_dir) / DB_NAME)
    scheme = url.split(":", 1)[0].lower()
    if scheme in POSTGRES_SCHEMES:
        return PostgresDatabase(url)
    raise ValueError(f"AIGC_DATABASE_URL must start with postgresql:// (or be empty for SQLite in the data "
                     f"directory); got a {scheme or 'blank'}: URL")


def hide_password(url: str) -> str:
    """The URL with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


# ---------------------------------------------------------------- SQLite


@dataclass
class SqliteDatabase:
    path: Path
    name: str = "sqlite"

    @property
    def location(self) -> str:
        return str(self.path)

    def usable(self, conn: sqlite3.Connection) -> bool:
        return True  # a file does not hang up

    def connect(self) -> sqlite3.Connection:
        # isolation_level=None: autocommit; transactions are explicit (BEGIN IMMEDIATE).
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None, check_same_thread=False)  # fmt: skip
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable against process crashes
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn


# ---------------------------------------------------------------- PostgreSQL


class Row(tuple):
    """A result row readable like ``sqlite3.Row``: by index, by column name, ``keys()``."""

    _names: dict[str, int]
    _keys: tuple[str, ...]

    def __new__(cls, keys: tuple[str, ...], names: dict[str, int], values: Iterable[Any]) -> "Row":
        row = super().__new__(cls, values)
        row._keys, row._names = keys, names
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names[key])
            except KeyError:
                raise IndexError(f"No item with that key: {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._keys)


def _row_factory(cursor: Any) -> Any:
    keys = tuple(column.name for column in cursor.description or ())
    names: dict[str, int] = {}
    for index, key in enumerate(keys):
        names.setdefault(key, index)  # the first of duplicate names, as sqlite3.Row does
    return lambda values: Row(keys, names, values)


class ListCursor:
    """The result of a statement answered here rather than by the server (a PRAGMA)."""

    def __init__(self, rows: list[Row]):
        self._rows = rows

    def fetchone(self) -> Row | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Row]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


def _one_row(key: str, value: Any) -> ListCursor:
    return ListCursor([Row((key,), {key: 0}, (value,))])


def _as_sqlite_error(error: Exception) -> sqlite3.Error:
    """The sqlite3 exception with the same DB-API name as psycopg's ``error``."""
    for cls in type(error).__mro__:
        mapped = getattr(sqlite3, cls.__name__, None)
        if isinstance(mapped, type) and issubclass(mapped, sqlite3.Error):
            return mapped(_one_line(error))
    return sqlite3.DatabaseError(_one_line(error))


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


class PgConnection:
    """A psycopg connection that takes SQLite-flavoured SQL (see the module docstring)."""

    def __init__(self, raw: Any):
        self.raw = raw

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        special = self._special(sql)
        if special is not None:
            return special
        try:
            return self.raw.execute(translate(sql), tuple(args))
        except Exception as error:
            if _is_driver_error(error):
                raise _as_sqlite_error(error) from error
            raise

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            with self.raw.cursor() as cursor:
                cursor.executemany(translate(sql), [tuple(row) for row in rows])
        except Exception as error:
            if _is_driver_error(error):
                raise _as_sqlite_error(error) from error
            raise

    def _special(self, sql: str) -> ListCursor | None:
        """Transaction control and the PRAGMAs the app uses, answered in PostgreSQL's terms."""
        words = sql.strip().rstrip(";").upper().split()
        if not words or words[0] not in ("BEGIN", "PRAGMA"):
            return None
        if words in (["BEGIN", "IMMEDIATE"], ["BEGIN", "EXCLUSIVE"]):
            self.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            self.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
            return ListCursor([])
        if words in (["BEGIN"], ["BEGIN", "DEFERRED"], ["BEGIN", "TRANSACTION"]):
            self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            return ListCursor([])
        if words[0] == "BEGIN":
            return None  # BEGIN ISOLATION LEVEL ...: PostgreSQL's own
        pragma = "".join(words[1:]).lower()
        if pragma == "user_version":
            row = self.execute(f"SELECT version FROM {VERSION_TABLE}").fetchone()
            return _one_row("user_version", row[0] if row else 0)
        if match := re.fullmatch(r"user_version=(\d+)", pragma):
            self.execute(f"UPDATE {VERSION_TABLE} SET version = ?", (int(match.group(1)),))
            return ListCursor([])
        if pragma == "integrity_check":
            return _one_row("integrity_check", self._integrity())
        raise sqlite3.NotSupportedError(f"{sql.strip()[:60]!r} is SQLite-only; PostgreSQL has no such PRAGMA")

    def _integrity(self) -> str:
        """Read every table of this schema through: a damaged page fails the read."""
        tables = self.execute("SELECT table_name FROM information_schema.tables "
                              "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'").fetchall()
        try:
            for (table,) in tables:
                self.raw.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()
        except Exception as error:
            if _is_driver_error(error):
                return f"table {table}: {_one_line(error)}"
            raise
        return "ok"

    def rollback(self) -> None:
        try:
            self.raw.execute("ROLLBACK")
        except Exception as error:
            if _is_driver_error(error):
                raise _as_sqlite_error(error) from error
            raise

    def close(self) -> None:
        self.raw.close()


def _is_driver_error(error: BaseException) -> bool:
    import psycopg

    return isinstance(error, psycopg.Error)


class PostgresDatabase:
    name = "postgresql"
    path = None

    def __init__(self, url: str):
        self.url = url
        self.location = hide_password(url)
        self._ready = False
        self._ready_lock = threading.Lock()

    def usable(self, conn: PgConnection) -> bool:
        """False for a connection the server has hung up on (a restart, an idle timeout, an
        operator's pg_terminate_backend): an idle connection has nothing to read unless the
        server closed it, and asking the socket costs no round trip."""
        raw = conn.raw
        if raw.closed or raw.broken:
            return False
        try:
            readable, _, _ = select.select([raw.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def connect(self) -> PgConnection:
        try:
            import psycopg
        except ImportError:
            raise RuntimeError("a postgresql:// database needs the psycopg package: pip install 'psycopg[binary]'") from None
        from psycopg.types.numeric import FloatLoader

        try:
            raw = psycopg.connect(self.url, autocommit=True, row_factory=_row_factory,
                                  connect_timeout=CONNECT_TIMEOUT_S, application_name="aigc-studio")
        except psycopg.Error as error:
            raise sqlite3.OperationalError(f"cannot connect: {_one_line(error)}") from error
        raw.adapters.register_loader("numeric", FloatLoader)  # AVG() etc. as float, as SQLite
        conn = PgConnection(raw)
        try:
            self._prepare(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _prepare(self, conn: PgConnection) -> None:
        """Once per process: the schema-version table exists (two processes may race here)."""
        with self._ready_lock:
            if self._ready:
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)")
                conn.execute(f"INSERT INTO {VERSION_TABLE} (version) SELECT 0 "
                             f"WHERE NOT EXISTS (SELECT 1 FROM {VERSION_TABLE})")
                conn.execute("COMMIT")
            except BaseException:
                conn.rollback()
                raise
            self._ready = True


# ---------------------------------------------------------------- SQL translation

_TOKENS = re.compile(r"""('(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/)""", re.S)
_DDL = re.compile(r"^\s*(CREATE\s+TABLE|ALTER\s+TABLE)\b", re.I)
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\b", re.I)
_OR_IGNORE = re.compile(r"^(\s*INSERT)\s+OR\s+IGNORE\b", re.I)


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """SQLite-flavoured SQL -> PostgreSQL (see the module docstring)."""
    ddl = bool(_DDL.match(sql))
    create = bool(_CREATE_TABLE.match(sql))
    ignore = bool(_OR_IGNORE.match(sql))
    parts = _TOKENS.split(sql)  # odd indexes: literals, quoted names, comments (left as they are)
    for index in range(0, len(parts), 2):
        code = parts[index].replace("%", "%%").replace("?", "%s")
        code = re.sub(r"\bLIKE\b", "ILIKE", code, flags=re.I)
        if ddl:
            code = re.sub(r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?\b",
                          "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", code, flags=re.I)
            code = re.sub(r"\bREAL\b", "DOUBLE PRECISION", code, flags=re.I)
            code = re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', code, flags=re.I)
            code = re.sub(r"\bBLOB\b", "BYTEA", code, flags=re.I)
        if ignore and index == 0:
            code = _OR_IGNORE.sub(r"\1", code)
        parts[index] = code
    for index in range(1, len(parts), 2):
        parts[index] = parts[index].replace("%", "%%")  # psycopg reads % everywhere
    out = "".join(parts).rstrip().rstrip(";")
    if create:
        out = _add_rowid(out)
    if ignore:
        out += " ON CONFLICT DO NOTHING"
    return out


def _add_rowid(sql: str) -> str:
    """SQLite's implicit ``rowid`` made explicit: a last column, numbered in insertion order."""
    without = re.search(r"\)\s*WITHOUT\s+ROWID\s*$", sql, re.I)
    if without:
        return sql[: without.start() + 1]
    close = sql.rfind(")")
    if close < 0 or re.search(r"\bAS\s+SELECT\b", sql, re.I):
        return sql
    return f"{sql[:close].rstrip()},\n        rowid BIGINT GENERATED ALWAYS AS IDENTITY{sql[close:]}"
