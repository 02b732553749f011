"""The store's database: its two engines, migrations, transactions, and named server state.

Writes go through one writer engine whose transactions start with BEGIN IMMEDIATE, so a second
process writing the same file waits on the busy timeout instead of failing mid-transaction.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
from alembic import command
from alembic.config import Config
from sqlalchemy import event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from pricefeed.errors import StoreUnavailable
from pricefeed.resources import resource
from pricefeed.serving.tiers import DEFAULT_TIERS
from pricefeed.store.schema import server_state, tier_settings

MIGRATIONS = resource("migrations")


class Database:
    """The engines and transactions every part of the Store shares."""

    def __init__(self, url: str, busy_timeout_ms: int = 5000, min_free_mb: int = 64):
        self.url = url
        self.busy_timeout_ms = busy_timeout_ms
        self.min_free_mb = min_free_mb
        self._reader: AsyncEngine | None = None
        self._writer: AsyncEngine | None = None
        self.write_error: tuple[float, str] | None = None  # (when, why) of the last failed write

    async def open(self) -> None:
        """Create the database if needed, apply migrations, seed tier settings."""
        if self.url.startswith("sqlite"):
            path = self.url.split(":///", 1)[1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self._migrate)
        self._reader = self._engine(immediate=False)
        self._writer = self._engine(immediate=True)
        async with self._write() as conn:
            if (await conn.execute(select(func.count()).select_from(tier_settings))).scalar() == 0:
                await conn.execute(
                    tier_settings.insert(), [msgspec.structs.asdict(t) for t in DEFAULT_TIERS]
                )

    def _migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url)
        command.upgrade(config, "head")

    def _engine(self, immediate: bool) -> AsyncEngine:
        engine = create_async_engine(self.url, pool_size=1 if immediate else 5)
        if engine.dialect.name == "sqlite":
            timeout = self.busy_timeout_ms

            @event.listens_for(engine.sync_engine, "connect")
            def on_connect(dbapi_connection, _record) -> None:
                dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA busy_timeout={timeout}")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()

            @event.listens_for(engine.sync_engine, "begin")
            def on_begin(conn) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def _directory(self) -> Path | None:
        if not self.url.startswith("sqlite"):
            return None
        path = self.url.split(":///", 1)[1]
        return Path(path).resolve().parent if path and path != ":memory:" else None

    @asynccontextmanager
    async def _write(self):
        # SQLite's WAL index is memory-mapped: running out of disk mid-write can end in SIGBUS
        # rather than an error, so writes stop while free space is under the watermark.
        directory = self._directory()
        if directory is not None and (reason := low_on_disk(directory, self.min_free_mb)):
            self.write_error = (time.time(), reason)
            raise StoreUnavailable(f"the database refused a write: {reason}")
        try:
            async with self._writer.begin() as conn:  # type: ignore[union-attr]
                yield conn
        except DBAPIError as e:
            self.write_error = (time.time(), _reason(e))
            raise StoreUnavailable(f"the database refused a write: {_reason(e)}") from None
        self.write_error = None

    @asynccontextmanager
    async def _read(self):
        try:
            async with self._reader.connect() as conn:  # type: ignore[union-attr]
                yield conn
        except DBAPIError as e:
            raise StoreUnavailable(f"the database refused a read: {_reason(e)}") from None

    async def close(self) -> None:
        for engine in (self._reader, self._writer):
            if engine is not None:
                await engine.dispose()

    async def ping(self) -> None:
        async with self._read() as conn:
            await conn.execute(text("SELECT 1"))

    async def state(self, name: str) -> str | None:
        """A named piece of server state (a secret, a session epoch), or None."""
        async with self._read() as conn:
            row = await conn.execute(
                select(server_state.c.value).where(server_state.c.name == name)
            )
            return row.scalar()

    async def set_state(self, name: str, value: str) -> None:
        async with self._write() as conn:
            stmt = insert(conn, server_state).values(name=name, value=value)
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=["name"], set_={"value": value})
            )


def insert(conn: AsyncConnection, table):
    """An INSERT with the dialect's ON CONFLICT clauses (upserts)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def low_on_disk(directory: Path, min_free_mb: int) -> str | None:
    """Why writes to `directory` should pause, or None."""
    free = shutil.disk_usage(directory).free
    if free < min_free_mb * 2**20:
        return f"disk nearly full: {free // 2**20} MB free, below the {min_free_mb} MB kept in reserve (database.min_free_mb)"
    return None


def _reason(e: DBAPIError) -> str:
    return str(e.orig) if e.orig is not None else type(e).__name__
