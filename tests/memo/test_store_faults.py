"""Faults: a deleted file, a locked database, an unreachable or stopped server, a full disk, a
corrupted or tampered entry. Each either raises a StoreError naming the store, or computes
without it after one warning; none returns a wrong value or leaves a store inconsistent."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import memograd as mg
from memograd.memo import StoreError, StoreWarning, memoize
from memograd.memo import persistent as persistent_module


def counting(fn):
    runs = []

    def spy(*args):
        runs.append(args)
        return fn(*args)

    spy.__qualname__ = fn.__qualname__
    spy.__module__ = fn.__module__
    spy.__wrapped__ = fn  # the same identity and code as fn: the same entries
    spy.runs = runs
    return spy


def triple(k):
    return 3 * k


def filled(k):
    return np.full(40_000, float(k))


def store_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, StoreWarning)]


@pytest.fixture
def retry_at_once(monkeypatch):
    """No pause before a store that failed is tried again (the default is a few seconds)."""
    monkeypatch.setattr(persistent_module, "RETRY_SECONDS", 0.0)


def integrity(path) -> list:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA integrity_check").fetchall()


# -- a deleted store file -----------------------------------------------------------------


def test_a_deleted_store_file_is_warned_about_once_and_computed_without(tmp_path, retry_at_once):
    path = tmp_path / "results.db"
    f = memoize(store=mg.memo.SQLiteStore(path))(counting(triple))
    assert f(1) == 3
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"results.db{suffix}").unlink(missing_ok=True)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert [f(2), f(2), f(3)] == [6, 6, 9]
    messages = store_warnings(record)
    assert len(messages) == 1 and "was deleted or replaced while in use" in messages[0]
    assert str(path) in messages[0]
    assert f.__wrapped__.runs == [(1,), (2,), (2,), (3,)]  # computed, never a wrong value
    assert not path.exists()  # not silently recreated under other processes


def test_a_deleted_store_file_raises_when_asked_to(tmp_path):
    path = tmp_path / "results.db"
    f = memoize(store=mg.memo.SQLiteStore(path), on_store_error="raise")(triple)
    f(1)
    path.unlink()
    with pytest.raises(StoreError, match="deleted or replaced"):
        f(2)


# -- a locked database ----------------------------------------------------------------------


def test_a_locked_database_computes_without_the_store_then_recovers(tmp_path, retry_at_once):
    path = tmp_path / "results.db"
    f = memoize(store=mg.memo.SQLiteStore(path, busy_timeout=0.1))(counting(triple))
    f(0)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holding the write lock
    try:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            assert f(1) == 3 and f(2) == 6
            assert f(0) == 0  # reads still work in WAL mode
        messages = store_warnings(record)
        assert len(messages) == 1 and "locked by another process" in messages[0]
        strict = memoize(store=f.__memo__.store, on_store_error="raise")(triple)
        with pytest.raises(StoreError, match=r"locked .* busy_timeout=0.1s"):
            strict(5)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert f(3) == 9 and f(3) == 9
    assert f.__wrapped__.runs == [(0,), (1,), (2,), (3,)]  # 3 was stored once the lock went


# -- Redis unreachable or gone --------------------------------------------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_redis_is_warned_about_once_and_computed_without():
    pytest.importorskip("redis")
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    f = memoize(store=mg.memo.RedisStore(url, connect_timeout=0.5))(counting(triple))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert [f(1), f(1), f(2)] == [3, 3, 6]
    messages = store_warnings(record)
    assert len(messages) == 1 and f"cannot reach the Redis store {url}" in messages[0]
    strict = memoize(store=mg.memo.RedisStore(url, connect_timeout=0.5), on_store_error="raise")
    with pytest.raises(StoreError, match="cannot reach"):
        strict(triple)(1)


def test_a_redis_server_stopped_mid_run(redis_server, retry_at_once):
    server = sys.modules["memograd_tests_redis_server"].RedisServer(shutil.which("redis-server"))
    try:
        f = memoize(store=mg.memo.RedisStore(server.url(), connect_timeout=0.5))(counting(triple))
        assert f(1) == 3 and f(1) == 3
        server.stop()
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            assert f(1) == 3 and f(2) == 6
        assert len(store_warnings(record)) == 1
        assert f.__wrapped__.runs == [(1,), (1,), (2,)]
    finally:
        server.stop()


# -- a full disk ----------------------------------------------------------------------------


def test_a_full_database_is_a_clear_error_and_changes_nothing(tmp_path):
    path = tmp_path / "results.db"
    store = mg.memo.SQLiteStore(path)
    f = memoize(store=store, on_store_error="raise")(filled)
    f(1)
    connection = store._connection()
    (pages,) = connection.execute("PRAGMA page_count").fetchone()
    connection.execute(f"PRAGMA max_page_count = {pages + 5}")  # SQLite's own SQLITE_FULL
    with pytest.raises(StoreError, match=r"is full \(database or disk is full\).*nothing was"):
        f(2)
    assert integrity(path) == [("ok",)]
    assert np.array_equal(f(1), filled(1))  # what was stored before is intact
    lenient = memoize(store=store)(counting(filled))
    with pytest.warns(StoreWarning, match="is full"):
        assert np.array_equal(lenient(3), filled(3))
    connection.execute("PRAGMA max_page_count = 1073741823")


def test_a_file_size_limit_fails_the_write_and_keeps_the_store(tmp_path):
    """A process under ``ulimit -f``: the write fails at the OS, as on a full disk."""
    path = tmp_path / "results.db"
    code = textwrap.dedent(
        f"""
        import os, resource, signal
        import numpy as np, memograd as mg
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        store = mg.memo.SQLiteStore({str(path)!r})
        @mg.memoize(store=store, on_store_error="raise", version="1")
        def filled(k):
            return np.full(40_000, float(k))
        filled(1)
        sizes = [os.path.getsize(p) for p in ({str(path)!r}, {str(path)!r} + "-wal")]
        limit = max(sizes) + 50_000
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        try:
            for k in range(2, 40):
                filled(k)
        except mg.memo.StoreError as error:
            print("StoreError:", error)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "StoreError:" in out.stdout and "could not store a value" in out.stdout
    assert "bytes free on its disk" in out.stdout
    assert integrity(path) == [("ok",)]
    spy = counting(filled)
    spy.__module__ = "__main__"  # the function the child process stored
    f = memoize(store=mg.memo.SQLiteStore(path), version="1")(spy)
    assert np.array_equal(f(1), filled(1)) and spy.runs == []


def test_a_genuinely_full_filesystem(tmp_path):
    """A 1 MB tmpfs filled up; needs the right to mount (root), else skipped with the reason.

    The store is used by a child process, so that no file on the mount is open when it is
    unmounted."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root): " + done.stderr.decode().strip())
    code = textwrap.dedent(
        f"""
        import sqlite3
        import numpy as np, memograd as mg
        path = {str(mount / "results.db")!r}
        runs = []
        def filled(k):
            runs.append(k)
            return np.full(40_000, float(k))
        f = mg.memoize(store=path, on_store_error="raise")(filled)
        stored = []
        try:
            for k in range(100):
                f(k)
                stored.append(k)
        except mg.memo.StoreError as error:
            print("StoreError:", error)
        print("integrity:", sqlite3.connect(path).execute("PRAGMA integrity_check").fetchall())
        runs.clear()
        again = mg.memoize(store=mg.memo.SQLiteStore(path))(filled)
        wrong = [k for k in stored if not (again(k) == k).all()]
        print("stored:", len(stored), "wrong:", wrong, "recomputed:", runs)
        """
    )
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)
    assert out.returncode == 0, out.stderr
    assert "StoreError: the store" in out.stdout and "is full" in out.stdout
    assert "integrity: [('ok',)]" in out.stdout
    assert "wrong: [] recomputed: []" in out.stdout and "stored: 0 " not in out.stdout


def test_a_full_redis_is_a_clear_error(redis_url):
    import redis

    store = mg.memo.RedisStore(redis_url)
    f = memoize(store=store, on_store_error="raise")(filled)
    f(1)
    client = redis.Redis.from_url(redis_url)
    used = client.info("memory")["used_memory"]
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", used + 100_000)
    try:
        with pytest.raises(StoreError, match=r"Redis store .* is full .*maxmemory.*nothing was"):
            f(2)
        lenient = memoize(store=store)(counting(filled))
        with pytest.warns(StoreWarning, match="is full"):
            assert np.array_equal(lenient(3), filled(3))
    finally:
        client.config_set("maxmemory", 0)
    assert np.array_equal(f(1), filled(1))


# -- corrupt and tampered entries -----------------------------------------------------------


def _sqlite_records(path):
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT key, record FROM entries ORDER BY created").fetchall()


def _set_sqlite_record(path, key, record):
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE entries SET record = ? WHERE key = ?", (record, key))


def test_a_corrupted_entry_is_recomputed_and_replaced_never_returned(make_store):
    store = make_store()
    f = memoize(store=store)(counting(filled))
    f(1), f(2)
    key_1, key_2 = f.__memo__.lookup(1)[0], f.__memo__.lookup(2)[0]
    if store.kind == "sqlite":
        records = dict(_sqlite_records(store.path))
        flipped = bytearray(records[key_1])
        flipped[-3] ^= 0x10  # one bit of the array's data
        _set_sqlite_record(store.path, key_1, bytes(flipped))
        _set_sqlite_record(store.path, key_2, records[key_1])  # another key's valid record
    else:
        import redis

        client = redis.Redis.from_url(store.url)
        name = f"memograd:{{{f.__memo__.identity}}}:e:"
        record_1 = client.get(name + key_1.hex())
        client.setrange(name + key_1.hex(), len(record_1) - 3, bytes([record_1[-3] ^ 0x10]))
        client.set(name + key_2.hex(), record_1)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert np.array_equal(f(1), filled(1)) and np.array_equal(f(2), filled(2))
    assert any("is corrupt" in m for m in store_warnings(record))
    assert f.__wrapped__.runs == [(1,), (2,), (1,), (2,)]
    assert np.array_equal(f(1), filled(1)) and np.array_equal(f(2), filled(2))
    assert len(f.__wrapped__.runs) == 4  # replaced: hits again


# -- files that are not stores ----------------------------------------------------------------


def test_files_that_are_not_memograd_stores_are_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, just some text that is long enough " * 20)
    with pytest.raises(StoreError, match="is not a SQLite database"):
        memoize(store=text, on_store_error="raise")(triple)(1)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE users (name TEXT)")
    with pytest.raises(StoreError, match="database of another program"):
        memoize(store=other, on_store_error="raise")(triple)(1)
    with sqlite3.connect(other) as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [("users",)]
    missing = tmp_path / "no" / "such" / "dir" / "a.db"
    with pytest.raises(StoreError, match="no directory"):
        memoize(store=missing, on_store_error="raise")(triple)(1)
    assert text.read_text().startswith("not a database")


def test_a_store_of_another_format_is_refused(tmp_path):
    path = tmp_path / "results.db"
    memoize(store=path)(triple)(1)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="format 99"):
        memoize(store=mg.memo.SQLiteStore(path), on_store_error="raise")(triple)(1)
    assert os.path.getsize(path) > 0
