"""``memograd cache info|list|clear STORE``: on a SQLite file and on a real redis-server."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

import memograd as mg


def area(r):
    return 3.0 * r * r


def mean(values):
    return float(np.mean(values))


def fill(store) -> tuple:
    """Two functions with entries and hits in ``store``: 3 + 2 entries, 2 + 1 hits."""
    cached_area = mg.memoize(store=store)(area)
    cached_mean = mg.memoize(store=store)(mean)
    for r in (1, 2, 3, 1, 2):
        cached_area(r)
    for values in (np.arange(3.0), np.arange(4.0), np.arange(3.0)):
        cached_mean(values)
    cached_area.cache_info()  # writes the hits back
    return cached_area, cached_mean


@pytest.fixture(params=["sqlite", "redis"])
def filled_store(request, tmp_path):
    if request.param == "sqlite":
        spec = str(tmp_path / "results.db")
        store = mg.memo.SQLiteStore(spec)
    else:
        import redis

        spec = request.getfixturevalue("redis_url")
        redis.Redis.from_url(spec).flushdb()
        store = mg.memo.RedisStore(spec)
    functions = fill(store)
    return spec, functions


def test_list_shows_entries_sizes_hits_and_ages_per_function(run, filled_store):
    spec, (cached_area, cached_mean) = filled_store
    status, out, err = run("cache", "list", spec, "--json")
    assert status == 0, err
    listing = json.loads(out)
    rows = {row["function"]: row for row in listing["functions"]}
    area_row = rows[f"{__name__}:area"]
    mean_row = rows[f"{__name__}:mean"]
    assert (area_row["entries"], area_row["misses"], area_row["hits"]) == (3, 3, 2)
    assert (mean_row["entries"], mean_row["misses"], mean_row["hits"]) == (2, 2, 1)
    assert area_row["versions"] == 1
    # each entry one float record of the same length (header, checksum, payload)
    assert area_row["bytes"] > 0 and area_row["bytes"] / 3 == mean_row["bytes"] / 2
    assert area_row["oldest"] <= area_row["newest"]
    status, out, _ = run("cache", "list", spec)
    assert status == 0 and "area" in out and "mean" in out and "entries" in out


def test_info_and_clear_one_function_then_all(run, filled_store):
    spec, (cached_area, cached_mean) = filled_store
    status, out, _ = run("cache", "info", spec, "--json")
    summary = json.loads(out)
    assert status == 0 and summary["entries"] == 5 and summary["functions"] == 2
    status, out, _ = run("cache", "clear", spec, "--function", "area")
    assert status == 0 and out.startswith(f"removed 3 entries of {__name__}:area")
    assert cached_area.cache_info().currsize == 0 and cached_mean.cache_info().currsize == 2
    status, out, _ = run("cache", "clear", spec, "--json")
    assert status == 0 and json.loads(out)["removed"] == 2
    assert json.loads(run("cache", "info", spec, "--json")[1])["entries"] == 0


def test_info_and_list_never_create_a_file(run, tmp_path):
    missing = tmp_path / "nothing.db"
    for action in ("info", "list", "clear"):
        status, out, err = run("cache", action, str(missing))
        assert status == 2 and out == ""
        assert err == f"memograd: error: no memograd store at {missing}\n"
    assert not missing.exists()


def test_bad_input_is_one_line_and_status_2(run, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("just text, long enough to be read as a header: " * 10)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE t (x)")
    store_path = tmp_path / "results.db"
    fill(str(store_path))
    cases = [
        (("cache", "info", str(text)), "is not a SQLite database"),
        (("cache", "list", str(other)), "a SQLite database of another program"),
        (("cache", "list", str(store_path), "--function", "nope"), "no function 'nope'"),
        (("cache", "info", "http://example/x"), "expected a SQLite file or a redis:// URL"),
        (("cache", "info", "redis://127.0.0.1:1/0"), "cannot reach the Redis store"),
        (("cache",), "required: ACTION"),
        (("cache", "drop", "x"), "invalid choice: 'drop'"),
        (("cache", "info", str(store_path), "--function", "area"), "unrecognized arguments"),
    ]
    for argv, expected in cases:
        status, out, err = run(*argv)
        assert status == 2, argv
        assert expected in err and err.count("\n") == 1, (argv, err)
    with sqlite3.connect(other) as connection:
        assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone() == (1,)


def test_an_ambiguous_function_name_asks_for_the_full_one(run, tmp_path):
    path = str(tmp_path / "results.db")
    one = mg.memoize(store=path)(area)
    two = mg.memoize(store=path, version="2")(lambda r: r)
    two.__wrapped__.__qualname__ = "area"  # another module's area
    two.__memo__.identity = "othermodule:area"
    two.__memo__.prefix = mg.memo.stable_keys.key_prefix("othermodule:area")
    one(1), two(1)
    status, _, err = run("cache", "clear", path, "--function", "area")
    assert status == 2 and "names 2 functions" in err and "othermodule:area" in err
    status, out, _ = run("cache", "clear", path, "--function", "othermodule:area")
    assert status == 0 and "removed 1 entries of othermodule:area" in out


def test_the_command_as_a_process(tmp_path):
    code = "import sys; from memograd.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "cache", "info", str(tmp_path / "none.db")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
