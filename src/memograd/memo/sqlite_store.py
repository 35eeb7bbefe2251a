"""The default persistent store: one SQLite file, shared by the processes of one machine.

The standard library's ``sqlite3``, nothing to install or start. The file is in WAL mode: readers
never wait for the writer, and every change is one transaction, so a process killed at any
moment (SIGKILL included) leaves the file as it was before or after that transaction; a full
disk fails the transaction and changes nothing (``PRAGMA integrity_check`` stays "ok"; tested).

Tables: ``entries`` (one row per call of a function: the record, its size, when it was stored
and last read, when it expires, its hits), ``functions`` (per function: entries and bytes, kept
by triggers in the same transactions, and the hit and miss counts), ``leases`` (a row per call
being computed: who computes it, until when, or how it failed). Hits are read with one indexed
``SELECT`` and written back in batches. The file carries ``PRAGMA application_id`` so that a
SQLite file of another program is refused rather than written into.

Connections are per thread and per process (a connection must not cross a ``fork``). Each use
checks that the path still names the file the connection opened: a store file deleted under a
running process is reported (StoreError) rather than written into unseen.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from memograd.memo.store import FunctionSummary, Outcome, Store, StoreError

APPLICATION_ID = 0x4D475244  # "MGRD"
SCHEMA_VERSION = 1
STALE_LEASE_SECONDS = 3600.0
"""Lease rows older than this are left by processes long gone: removed when a value is stored."""

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS entries (
    key BLOB PRIMARY KEY,
    function TEXT NOT NULL,
    version TEXT NOT NULL,
    record BLOB NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL,
    accessed REAL NOT NULL,
    expires REAL,
    hits INTEGER NOT NULL DEFAULT 0
)
""",
    """
CREATE INDEX IF NOT EXISTS entries_by_use ON entries (function, accessed)
""",
    """
CREATE TABLE IF NOT EXISTS functions (
    function TEXT PRIMARY KEY,
    entries INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    hits INTEGER NOT NULL DEFAULT 0,
    misses INTEGER NOT NULL DEFAULT 0
)
""",
    """
CREATE TABLE IF NOT EXISTS leases (
    key BLOB PRIMARY KEY,
    function TEXT NOT NULL,
    token TEXT NOT NULL,
    expires REAL NOT NULL,
    failure TEXT
)
""",
    """
CREATE TRIGGER IF NOT EXISTS entries_added AFTER INSERT ON entries BEGIN
    INSERT OR IGNORE INTO functions (function) VALUES (NEW.function);
    UPDATE functions SET entries = entries + 1, bytes = bytes + NEW.size
        WHERE function = NEW.function;
END
""",
    """
CREATE TRIGGER IF NOT EXISTS entries_removed AFTER DELETE ON entries BEGIN
    UPDATE functions SET entries = entries - 1, bytes = bytes - OLD.size
        WHERE function = OLD.function;
END
""",
    """
CREATE TRIGGER IF NOT EXISTS entries_replaced AFTER UPDATE OF size ON entries BEGIN
    UPDATE functions SET bytes = bytes + NEW.size - OLD.size WHERE function = NEW.function;
END
""",
)

_GET = "SELECT record, expires FROM entries WHERE key = ?"
_PUT = """
INSERT INTO entries (key, function, version, record, size, created, accessed, expires, hits)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)
ON CONFLICT (key) DO UPDATE SET version = excluded.version, record = excluded.record,
    size = excluded.size, created = excluded.created, accessed = excluded.accessed,
    expires = excluded.expires, hits = 0
"""
_COUNT_MISS = """
INSERT INTO functions (function, misses) VALUES (?, 1)
ON CONFLICT (function) DO UPDATE SET misses = misses + 1
"""


class SQLiteStore(Store):
    """Entries in one SQLite file: ``@mg.memoize(store=mg.memo.SQLiteStore("results.db"))``.

    ``lease``: seconds a computing process's claim on a key lasts; it is renewed while the
    process computes, so another process takes a key over only when its computer died (at most
    ``lease`` seconds after). ``busy_timeout``: seconds to wait for another process's write to
    finish before the store counts as locked. ``create=False`` refuses a path with no store
    (``memograd cache`` opens stores that way, and read-only unless it clears).
    """

    kind = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lease: float = 10.0,
        busy_timeout: float = 10.0,
        create: bool = True,
        read_only: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"SQLiteStore: path must be a file path, got {path!r}")
        self.path = Path(os.path.abspath(os.fspath(path)))
        self.lease = _positive("lease", lease)
        self.busy_timeout = _positive("busy_timeout", busy_timeout, zero=True)
        self.create = create
        self.read_only = read_only
        self._local = threading.local()
        self._gone = False
        self._last_stamp = 0.0
        self._stamp_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        options = {"lease": self.lease, "busy_timeout": self.busy_timeout, "create": self.create}
        return (_rebuild, (str(self.path), options, self.read_only))

    def describe(self) -> str:
        return str(self.path)

    # -- connections -------------------------------------------------------------------------

    def _connection(self, check: bool = True) -> sqlite3.Connection:
        """This thread's connection. ``check``: first make sure the path still names its file.

        Writes check (a ``stat``); reads do not, since a process reading a deleted file still
        reads correct values. (A fork gives the child a new ``threading.local``: _after_fork.)
        """
        local = self._local
        connection = getattr(local, "connection", None)
        if connection is not None:
            if not check:
                return connection
            try:
                status = os.stat(self.path)
            except OSError:
                status = None
            if status is not None and (status.st_dev, status.st_ino) == local.identity:
                return connection
            # Deleted or replaced under us. Reconnecting would make a new file share the old
            # one's -wal and -shm with the processes still holding the old one (SQLite then
            # fails with I/O errors): this process goes on without the store.
            self._gone = True
            self._drop(local)
        if self._gone:
            raise StoreError(
                f"the store file {self.path} was deleted or replaced while in use; this process "
                "goes on without it (a new process starts a new store there)"
            )
        return self._connect(local)

    def _drop(self, local: threading.local) -> None:
        connection, local.connection = local.connection, None
        if connection is not None:
            try:
                connection.close()
            except sqlite3.Error:
                pass

    def _connect(self, local: threading.local) -> sqlite3.Connection:
        exists = self.path.exists()
        if not exists and (not self.create or self.read_only):
            raise StoreError(f"no memograd store at {self.path}")
        if not self.path.parent.is_dir():
            raise StoreError(
                f"cannot create the store {self.path}: no directory {self.path.parent}"
            )
        try:
            if self.read_only:
                uri = f"{self.path.as_uri()}?mode=ro"
                connection = sqlite3.connect(
                    uri, uri=True, timeout=self.busy_timeout, isolation_level=None
                )
            else:
                connection = sqlite3.connect(
                    self.path, timeout=self.busy_timeout, isolation_level=None
                )
            status = os.stat(self.path)
            self._prepare(connection)
        except sqlite3.Error as error:
            raise self._error(error, "open") from None
        except StoreError:
            raise
        except OSError as error:
            raise StoreError(f"cannot open the store {self.path}: {error.strerror}") from None
        local.connection = connection
        local.identity = (status.st_dev, status.st_ino)
        return connection

    def _prepare(self, connection: sqlite3.Connection) -> None:
        """Check the file is a memograd store (or an empty file to make one); WAL; the tables.

        Several processes may meet a new file at once: the one that gets the write lock first
        makes the tables, the others find them made when they get it.
        """
        connection.execute("BEGIN")
        try:
            found = self._format(connection)
        finally:
            connection.execute("COMMIT")
        if found == (APPLICATION_ID, SCHEMA_VERSION):
            if not self.read_only:
                connection.execute("PRAGMA synchronous = NORMAL")
            return
        self._refuse(found)
        if self.read_only:
            raise StoreError(f"no memograd store at {self.path} (an empty database)")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("BEGIN IMMEDIATE")
        try:
            found = self._format(connection)
            if found != (APPLICATION_ID, SCHEMA_VERSION):
                self._refuse(found)
                for statement in _SCHEMA:
                    connection.execute(statement)
                connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    @staticmethod
    def _format(connection: sqlite3.Connection) -> tuple[int, int] | tuple[int, int, int]:
        """(application id, schema version), with the number of tables when it is not ours."""
        application = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if application == APPLICATION_ID and version == SCHEMA_VERSION:
            return application, version
        tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        return application, version, tables

    def _refuse(self, found: tuple[int, ...]) -> None:
        """A file that is not an empty database nor a memograd store of this format: refuse."""
        application, version, tables = found
        if application == APPLICATION_ID:
            raise StoreError(
                f"{self.path} is a memograd store of format {version}; this memograd reads "
                f"format {SCHEMA_VERSION}: use another file, or clear it with a matching memograd"
            )
        if application != 0 or tables:
            raise StoreError(
                f"{self.path} is a SQLite database of another program, not a memograd store"
            )

    def _error(self, error: sqlite3.Error, doing: str) -> StoreError:
        text = str(error)
        if "full" in text:
            return StoreError(
                f"the store {self.path} is full ({text}): the disk (or the database's size "
                f"limit) has no room; nothing was written; free space or clear the store"
            )
        if "locked" in text or "busy" in text:
            return StoreError(
                f"the store {self.path} is locked by another process ({text}) for longer than "
                f"busy_timeout={self.busy_timeout:g}s"
            )
        if "not a database" in text:
            return StoreError(f"{self.path} is not a SQLite database ({text})")
        if "disk I/O error" in text:
            try:
                free = f"{shutil.disk_usage(self.path.parent).free:,} bytes free on its disk"
            except OSError:
                free = "its disk cannot be asked how full it is"
            return StoreError(
                f"the store {self.path} could not {doing} ({text}; {free}): a full disk or a "
                "file size limit (ulimit -f) fails this way; the transaction was rolled back"
            )
        return StoreError(f"the store {self.path} failed to {doing}: {text}")

    def _stamp(self) -> float:
        """The wall clock, strictly increasing within this process (the LRU order)."""
        with self._stamp_lock:
            stamp = self._last_stamp = max(time.time(), self._last_stamp + 1e-6)
        return stamp

    def _write(self, doing: str, work: Any, wait: bool = True) -> Any:
        """Run ``work(connection)`` in one write transaction; StoreError on any failure."""
        connection = self._connection()
        try:
            if not wait:
                connection.execute("PRAGMA busy_timeout = 0")
            try:
                connection.execute("BEGIN IMMEDIATE")
            finally:
                if not wait:
                    connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            try:
                result = work(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise self._error(error, doing) from None
        return result

    # -- the hot path ------------------------------------------------------------------------

    def get(self, function: str, key: bytes, now: float) -> bytes | None:
        try:
            row = self._connection(check=False).execute(_GET, (key,)).fetchone()
        except sqlite3.Error as error:
            raise self._error(error, "read") from None
        if row is None or (row[1] is not None and row[1] <= now):
            return None
        return row[0]

    def _write_hits(self, pending: dict[tuple[str, bytes], int], wait: bool) -> bool:
        per_function: dict[str, int] = {}
        for (function, _), count in pending.items():
            per_function[function] = per_function.get(function, 0) + count

        def work(connection: sqlite3.Connection) -> None:
            self._apply_hits(connection, pending, per_function, self._stamp)

        try:
            self._write("count hits", work, wait=wait)
        except StoreError:
            if wait:
                raise
            return False
        return True

    @staticmethod
    def _apply_hits(
        connection: sqlite3.Connection,
        pending: dict[tuple[str, bytes], int],
        per_function: dict[str, int],
        stamp: Any,
    ) -> None:
        connection.executemany(
            "UPDATE entries SET hits = hits + ?, accessed = max(accessed, ?) WHERE key = ?",
            [(count, stamp(), key) for (_, key), count in pending.items()],
        )
        connection.executemany(
            "UPDATE functions SET hits = hits + ? WHERE function = ?",
            [(count, function) for function, count in per_function.items()],
        )

    # -- leases ------------------------------------------------------------------------------

    def acquire(
        self, function: str, key: bytes, head: bytes, token: str, seen: str | None, now: float
    ) -> Outcome:
        connection = self._connection()
        try:
            found = self._look(connection, key, head, seen, now)
        except sqlite3.Error as error:
            raise self._error(error, "read") from None
        if found is not None:
            return found

        def take(connection: sqlite3.Connection) -> Outcome:
            found = self._look(connection, key, head, seen, now)
            if found is not None:
                return found
            connection.execute(
                "INSERT OR REPLACE INTO leases (key, function, token, expires, failure) "
                "VALUES (?, ?, ?, ?, NULL)",
                (key, function, token, time.time() + self.lease),
            )
            connection.execute(_COUNT_MISS, (function,))
            return ("acquired", None)

        return self._write("take a lease", take)

    @staticmethod
    def _look(
        connection: sqlite3.Connection, key: bytes, head: bytes, seen: str | None, now: float
    ) -> Outcome | None:
        row = connection.execute(_GET, (key,)).fetchone()
        if row is not None and (row[1] is None or row[1] > now) and row[0].startswith(head):
            return ("value", row[0])
        lease = connection.execute(
            "SELECT token, expires, failure FROM leases WHERE key = ?", (key,)
        ).fetchone()
        if lease is not None and lease[1] > time.time():
            if lease[2] is None:
                return ("held", lease[0])
            if lease[0] == seen:
                return ("failed", lease[2])
        return None

    def renew(self, function: str, key: bytes, token: str) -> bool:
        def extend(connection: sqlite3.Connection) -> bool:
            cursor = connection.execute(
                "UPDATE leases SET expires = ? WHERE key = ? AND token = ? AND failure IS NULL",
                (time.time() + self.lease, key, token),
            )
            return cursor.rowcount == 1

        return self._write("renew a lease", extend)

    def put(
        self,
        function: str,
        key: bytes,
        version: str,
        record: bytes,
        token: str | None,
        now: float,
        ttl: float | None,
        maxsize: int | None,
    ) -> None:
        with self._pending_lock:
            pending, self._pending, self._pending_hits = self._pending, {}, 0
        per_function: dict[str, int] = {}
        for (name, _), count in pending.items():
            per_function[name] = per_function.get(name, 0) + count
        expires = None if ttl is None else now + ttl

        def store(connection: sqlite3.Connection) -> None:
            self._apply_hits(connection, pending, per_function, self._stamp)
            stamp = self._stamp()
            connection.execute(
                _PUT, (key, function, version, record, len(record), stamp, stamp, expires)
            )
            if token is not None:
                connection.execute("DELETE FROM leases WHERE key = ? AND token = ?", (key, token))
            connection.execute(
                "DELETE FROM leases WHERE expires < ?", (time.time() - STALE_LEASE_SECONDS,)
            )
            if ttl is not None:
                connection.execute(
                    "DELETE FROM entries WHERE function = ? AND expires <= ?", (function, now)
                )
            if maxsize is not None:
                (count,) = connection.execute(
                    "SELECT entries FROM functions WHERE function = ?", (function,)
                ).fetchone()
                if count > maxsize:
                    connection.execute(
                        "DELETE FROM entries WHERE key IN (SELECT key FROM entries "
                        "WHERE function = ? ORDER BY accessed LIMIT ?)",
                        (function, count - maxsize),
                    )

        try:
            self._write("store a value", store)
        except StoreError:
            with self._pending_lock:  # the hits were not written: keep them
                for slot, count in pending.items():
                    self._pending[slot] = self._pending.get(slot, 0) + count
                    self._pending_hits += count
            raise

    def fail(self, function: str, key: bytes, token: str, description: str) -> None:
        self._write(
            "record a failure",
            lambda connection: connection.execute(
                "UPDATE leases SET failure = ?, expires = ? WHERE key = ? AND token = ?",
                (description, time.time() + self.lease, key, token),
            ),
        )

    def release(self, function: str, key: bytes, token: str) -> None:
        self._write(
            "release a lease",
            lambda connection: connection.execute(
                "DELETE FROM leases WHERE key = ? AND token = ?", (key, token)
            ),
        )

    def discard(self, function: str, key: bytes, record: bytes) -> None:
        self._write(
            "remove a corrupt entry",
            lambda connection: connection.execute(
                "DELETE FROM entries WHERE key = ? AND record = ?", (key, record)
            ),
        )

    # -- statistics and housekeeping ---------------------------------------------------------

    def statistics(self, function: str, version: str, now: float) -> tuple[int, int, int]:
        self.flush()
        connection = self._connection()
        try:
            counts = connection.execute(
                "SELECT hits, misses FROM functions WHERE function = ?", (function,)
            ).fetchone()
            (current,) = connection.execute(
                "SELECT count(*) FROM entries WHERE function = ? AND version = ? "
                "AND (expires IS NULL OR expires > ?)",
                (function, version, now),
            ).fetchone()
        except sqlite3.Error as error:
            raise self._error(error, "read") from None
        hits, misses = counts if counts is not None else (0, 0)
        return hits, misses, current

    def clear(self, function: str | None = None) -> int:
        self._forget_hits(function)

        def remove(connection: sqlite3.Connection) -> int:
            if function is None:
                removed = connection.execute("DELETE FROM entries").rowcount
                connection.execute("DELETE FROM functions")
            else:
                removed = connection.execute(
                    "DELETE FROM entries WHERE function = ?", (function,)
                ).rowcount
                connection.execute("DELETE FROM functions WHERE function = ?", (function,))
            return removed

        return self._write("clear", remove)

    def functions(self) -> list[FunctionSummary]:
        connection = self._connection()
        try:
            rows = connection.execute(
                "SELECT f.function, f.entries, f.bytes, f.hits, f.misses, "
                "count(DISTINCT e.version), min(e.created), max(e.accessed) "
                "FROM functions f LEFT JOIN entries e ON e.function = f.function "
                "GROUP BY f.function ORDER BY f.function"
            ).fetchall()
        except sqlite3.Error as error:
            raise self._error(error, "read") from None
        return [FunctionSummary(*row) for row in rows]

    def summary(self) -> dict[str, Any]:
        connection = self._connection()
        try:
            entries, size = connection.execute(
                "SELECT count(*), coalesce(sum(size), 0) FROM entries"
            ).fetchone()
            (computing,) = connection.execute(
                "SELECT count(*) FROM leases WHERE expires > ? AND failure IS NULL", (time.time(),)
            ).fetchone()
            (functions,) = connection.execute("SELECT count(*) FROM functions").fetchone()
        except sqlite3.Error as error:
            raise self._error(error, "read") from None
        files = [self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")]
        on_disk = sum(p.stat().st_size for p in files if p.exists())
        return {
            "store": "sqlite",
            "location": str(self.path),
            "format": SCHEMA_VERSION,
            "functions": functions,
            "entries": entries,
            "bytes": size,
            "bytes_on_disk": on_disk,
            "computing_now": computing,
        }

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        if getattr(self._local, "connection", None) is not None:
            self._drop(self._local)

    def _after_fork(self) -> None:
        super()._after_fork()
        # The parent's connections must be neither used nor closed here (closing one could
        # checkpoint the parent's WAL from the child): kept unreachable for the child's life.
        self._inherited = self._local
        self._local = threading.local()
        self._stamp_lock = threading.Lock()


def _positive(name: str, value: Any, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"SQLiteStore: {name} must be a number of seconds, got {value!r}")
    if not (value >= 0 if zero else value > 0) or value != value or value == float("inf"):
        raise ValueError(
            f"SQLiteStore: {name} must be a finite number of seconds > 0, got {value!r}"
        )
    return float(value)


def _rebuild(path: str, options: dict[str, Any], read_only: bool) -> SQLiteStore:
    return SQLiteStore(path, read_only=read_only, **options)
