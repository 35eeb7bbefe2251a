"""Real processes on one store: one computation per key, a lease taken over, a writer killed.

Each process is ``store_worker.py`` run by the test's Python; computations are counted in a side
file the function appends to (store_worker.py), never through the cache's own statistics.
"""

from __future__ import annotations

import collections
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

WORKER = Path(__file__).resolve().parent / "store_worker.py"


@pytest.fixture(params=["sqlite", "redis"])
def store_spec(request, tmp_path):
    if request.param == "sqlite":
        return {"kind": "sqlite", "path": str(tmp_path / "shared.db")}
    return {"kind": "redis", "url": request.getfixturevalue("redis_url")}


def start(config: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def report(process: subprocess.Popen, timeout: float = 120) -> dict:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def side_lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(predicate, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


@pytest.mark.slow
def test_eight_processes_of_eight_threads_compute_each_key_once(store_spec, tmp_path):
    side, go = tmp_path / "side", tmp_path / "go"
    keys = list(range(24))
    config = {
        "mode": "stampede",
        "store": store_spec,
        "side": str(side),
        "go": str(go),
        "keys": keys,
        "threads": 8,
        "seconds": 0.02,
    }
    processes = [start(config) for _ in range(8)]
    time.sleep(1.0)  # most have imported memograd by now; the others join late, which is fine
    go.touch()
    reports = [report(p) for p in processes]
    assert [r["errors"] for r in reports] == [[]] * 8
    assert [r["wrong"] for r in reports] == [[]] * 8
    assert sum(r["calls"] for r in reports) == 8 * 8 * len(keys)
    computed = collections.Counter(int(line[1]) for line in side_lines(side))
    assert computed == {k: 1 for k in keys}, f"computations per key: {dict(computed)}"
    # The store's own counts, read by a ninth process: every call of the 64 threads counted.
    counts = report(start({**config, "mode": "statistics"}))
    assert counts == {
        "hits": 8 * 8 * len(keys) - len(keys),
        "misses": len(keys),
        "maxsize": None,
        "currsize": len(keys),
    }


def test_a_killed_computer_is_taken_over_once_its_lease_runs_out(store_spec, tmp_path):
    side = tmp_path / "side"
    base = {"store": store_spec, "side": str(side), "key": 5, "lease": 0.5}
    holder = start({**base, "mode": "hold", "seconds": 60})
    wait_for(lambda: [line[0] for line in side_lines(side)] == ["start"])
    taker = start({**base, "mode": "take", "seconds": 0})
    wait_for(lambda: [line[0] for line in side_lines(side)] == ["start", "asking"])
    time.sleep(1.5)  # three leases: the holder renews its lease, so the taker keeps waiting
    assert [line[0] for line in side_lines(side)] == ["start", "asking"]
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with side.open("a") as note:
        note.write(f"killed 5 {holder.pid} {time.time():.3f}\n")
    result = report(taker)
    lines = side_lines(side)
    assert result["value"] == 5 * 1000 + 7
    events = [(line[0], int(line[2])) for line in lines]
    assert events == [
        ("start", holder.pid),
        ("asking", taker.pid),
        ("killed", holder.pid),
        ("start", taker.pid),  # the taker computed it, after the kill
        ("end", taker.pid),
    ]


@pytest.mark.slow
def test_a_writer_killed_at_any_moment_leaves_a_consistent_store(store_spec, tmp_path):
    size = 250_000  # 2 MB values: much of the writer's time is spent writing them
    for attempt, delay in enumerate((0.0, 0.15)):
        side = tmp_path / f"side{attempt}"
        # lease 0.5 s: the verifier takes over the key the killed writer was computing
        config = {
            "mode": "writer",
            "store": store_spec,
            "side": str(side),
            "size": size,
            "count": 10_000,
            "lease": 0.5,
        }
        writer = start(config)
        wait_for(lambda side=side: any(line[0] == "done" for line in side_lines(side)))
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        done = {int(line[1]) for line in side_lines(side) if line[0] == "done"}
        if store_spec["kind"] == "sqlite":
            with sqlite3.connect(store_spec["path"]) as connection:
                assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
                entries, counted = connection.execute(
                    "SELECT (SELECT count(*) FROM entries), "
                    "(SELECT coalesce(sum(entries), 0) FROM functions)"
                ).fetchone()
                assert entries == counted  # the triggers' counts moved with the rows
        check = tmp_path / f"check{attempt}"
        count = max(done) + 3
        verified = report(start({**config, "mode": "verify", "side": str(check), "count": count}))
        assert verified["wrong"] == []
        recomputed = {int(line[1]) for line in side_lines(check)}
        assert not recomputed & done, "a value stored before the kill was lost"
