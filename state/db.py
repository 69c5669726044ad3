"""The state database: embedded SQLite files by default, PostgreSQL/PostGIS when DATABASE_URL is set.

Both speak one SQL text ("?" placeholders, ON CONFLICT … DO UPDATE, RETURNING), so a store is
written once; the schema is built by versioned migrations (state/migrations/<set>/NNNN_*.sql,
applied in order, recorded in schema_migrations) at start-up or by `flask --app app db upgrade`.
A PostgreSQL error that means "cannot reach the database" becomes DatabaseUnavailableError
(HTTP 503); the pool reconnects by itself once the server is back.
"""
from __future__ import annotations

import os
import re
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from geo.errors import ConfigError, DatabaseUnavailableError, StorageFullError

CHINA_TZ = timezone(timedelta(hours=8))
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def unavailable() -> DatabaseUnavailableError:
    return DatabaseUnavailableError("数据库暂时无法连接，请稍后再试；恢复后服务自动继续", "the database cannot be reached; retry shortly")


def now() -> str:
    """Local time in China, as reviewers read it in the audit log."""
    return datetime.now(CHINA_TZ).isoformat(timespec="seconds")


def private_file(path: Path) -> None:
    """Create path readable by this account only (0600; password hashes, audit), its folder 0700 if it is new.
    SQLite gives its -wal and -shm files the database file's permissions."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _migration_files(name: str) -> list[tuple[str, str]]:
    return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted((MIGRATIONS / name).glob("[0-9][0-9][0-9][0-9]_*.sql"))]


class _Database:
    def execute(self, sql: str, args: tuple = ()) -> list[tuple]:
        """One statement in its own transaction."""
        with self.transaction() as tx:
            return tx.execute(sql, args)

    def migrations(self) -> list[str]:
        return [v for (v,) in self.execute("SELECT version FROM schema_migrations ORDER BY version")]


def _disk_full(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)


class SqliteDatabase(_Database):
    """One locked connection shared by threads; every write is its own transaction."""

    dialect = "sqlite"

    def __init__(self, path, migrations: str = "sqlite"):
        self.path = str(path)
        if self.path != ":memory:":
            private_file(Path(self.path))
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.RLock()
        self.migration_set = migrations
        self.migrate()

    @contextmanager
    def transaction(self):
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield _SqliteTx(self._conn)
                except BaseException:
                    if self._conn.in_transaction:  # SQLite may have rolled back itself (a full disk)
                        self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if _disk_full(exc):
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise StorageFullError() from None
                raise

    def migrate(self) -> list[str]:
        """Apply the migrations this file has not had yet; returns their names."""
        with self.transaction() as tx:
            tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {v for (v,) in tx.execute("SELECT version FROM schema_migrations")}
            applied = []
            for version, sql in _migration_files(self.migration_set):
                if version not in done:
                    for statement in _statements(sql):
                        tx.execute(statement)
                    tx.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, now()))
                    applied.append(version)
        return applied

    def describe(self) -> str:
        return f"SQLite {Path(self.path).name}"

    def close(self):
        with self._lock:
            self._conn.close()


class _SqliteTx:
    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql: str, args: tuple = ()) -> list[tuple]:
        return self.conn.execute(sql, args).fetchall()

    def executemany(self, sql: str, rows) -> None:
        self.conn.executemany(sql, rows)


class PostgresDatabase(_Database):
    """A psycopg 3 connection pool on one schema of a PostgreSQL/PostGIS database (search_path schema, public)."""

    dialect = "postgres"
    migration_set = "postgres"

    def __init__(self, url: str, schema: str = "zoning", pool_size: int = 8, timeout_s: float = 5.0):
        import psycopg
        from psycopg_pool import ConnectionPool, PoolTimeout

        if not SCHEMA_RE.match(schema or ""):
            raise ConfigError("config", "DATABASE_SCHEMA", "模式名须为小写字母、数字、下划线 / schema: lower-case letters, digits, _")
        self.schema = schema
        self._psycopg = psycopg
        self._full = psycopg.errors.DiskFull  # an OperationalError too: said as what it is, before "cannot reach"
        self._errors = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)  # "cannot reach it" → 503
        self.url = url
        self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, timeout=timeout_s, open=False, name=f"zoning:{schema}",
                                   kwargs={"options": f"-c search_path={schema},public", "connect_timeout": 5},
                                   check=ConnectionPool.check_connection, reconnect_timeout=0)
        try:
            self.pool.open(wait=True, timeout=timeout_s)
        except self._errors as exc:
            self.pool.close()
            raise ConfigError("config", "DATABASE_URL", f"无法连接数据库 / cannot connect to the database: {exc}") from None
        OPEN.append(self)
        self.migrate()

    @contextmanager
    def transaction(self):
        try:
            with self.pool.connection() as conn:
                with conn.transaction():
                    yield _PostgresTx(conn)
        except self._full:
            raise StorageFullError() from None
        except self._errors:
            raise unavailable() from None

    @contextmanager
    def snapshot(self):
        """A read-only transaction that sees one committed state throughout (REPEATABLE READ)."""
        try:
            with self.pool.connection() as conn:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")  # first statement of the implicit BEGIN
                try:
                    yield _PostgresTx(conn)
                finally:
                    conn.rollback()
        except self._errors:
            raise unavailable() from None

    def migrate(self) -> list[str]:
        """Apply pending migrations; an advisory lock lets one worker at a time do it."""
        from psycopg import sql

        with self.transaction() as tx:
            tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"zoning-migrate:{self.schema}",))
            tx.cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {v for (v,) in tx.execute("SELECT version FROM schema_migrations")}
            applied = []
            for version, text in _migration_files(self.migration_set):
                if version not in done:
                    tx.cursor.execute(text)
                    tx.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, now()))
                    applied.append(version)
        return applied

    def describe(self) -> str:
        info = self._psycopg.conninfo.conninfo_to_dict(self.url)
        return f"PostgreSQL {info.get('dbname', '')} (schema {self.schema})"

    def close(self):
        self.pool.close()
        if self in OPEN:
            OPEN.remove(self)


class _PostgresTx:
    def __init__(self, conn):
        self.conn = conn
        self.cursor = conn.cursor()

    def execute(self, sql: str, args: tuple = ()) -> list[tuple]:
        self.cursor.execute(sql.replace("?", "%s"), args)
        return self.cursor.fetchall() if self.cursor.description else []

    def executemany(self, sql: str, rows) -> None:
        self.cursor.executemany(sql.replace("?", "%s"), rows)


OPEN: list[PostgresDatabase] = []  # open pools, so a test run can close the ones it made


def _statements(sql: str) -> list[str]:
    """A migration file's statements, split where SQLite itself sees one complete (comments and literals respected)."""
    out, part = [], ""
    for line in sql.splitlines(keepends=True):
        part += line
        if sqlite3.complete_statement(part):
            out.append(part.strip())
            part = ""
    return out + ([part.strip()] if part.strip() and not all(ln.strip().startswith("--") for ln in part.strip().splitlines()) else [])


def connect(cfg: dict, instance: Path):
    """The application database of this configuration: PostgreSQL when DATABASE_URL is set, else INSTANCE_DIR/app.sqlite."""
    if cfg.get("DATABASE_URL"):
        return PostgresDatabase(cfg["DATABASE_URL"], cfg["DATABASE_SCHEMA"], cfg["DATABASE_POOL_SIZE"])
    return SqliteDatabase(Path(instance) / "app.sqlite")
