"""A process of the store tests: ``python store_worker.py '<json config>'``.

Each mode calls a memoized function of this file on a store named in the config, and reports on
stdout as one JSON line. Every real computation appends a line to a side file (``side``), opened
with O_APPEND so that lines of concurrent processes never mix: the tests count computations
there, not in the cache's own statistics.

The functions read the process's CONFIG (a module-level dict, which differs by mode), so their
code label is pinned with ``version=``: every process reads and writes the same entries.

Modes:
- ``stampede``: wait for the ``go`` file, then ``threads`` threads call ``square`` on every key,
  each in its own shuffled order; check every result.
- ``hold``: compute ``slow(key)``, which sleeps ``seconds`` (the test SIGKILLs it meanwhile).
- ``take``: note ``asking``, call ``slow(key)``, report the value.
- ``writer``: store ``big(i)`` for i = 0, 1, ... (arrays of ``size`` float64), writing
  ``done i`` to the side file after each returns (the test SIGKILLs it at some point).
- ``verify``: call ``big(i)`` for i < ``count``; report which were recomputed, and any wrong.
- ``statistics``: report ``square.cache_info()``, as the store counts it over every process.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from pathlib import Path

import numpy as np

import memograd as mg

CONFIG = json.loads(sys.argv[1])
SIDE = CONFIG["side"]


def _store():
    spec = CONFIG["store"]
    if spec["kind"] == "sqlite":
        return mg.memo.SQLiteStore(spec["path"], lease=CONFIG.get("lease", 10.0))
    return mg.memo.RedisStore(spec["url"], lease=CONFIG.get("lease", 10.0))


STORE = _store()


def _note(line: str) -> None:
    fd = os.open(SIDE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{line} {time.time():.3f}\n".encode())
    finally:
        os.close(fd)


@mg.memoize(store=STORE, on_store_error="raise", version="worker")
def square(k):
    _note(f"computed {k} {os.getpid()}")
    time.sleep(CONFIG.get("seconds", 0.0))
    return (k, k * k, np.full(3, k, dtype=np.int64))


@mg.memoize(store=STORE, on_store_error="raise", version="worker")
def slow(k):
    _note(f"start {k} {os.getpid()}")
    time.sleep(CONFIG.get("seconds", 0.0))
    _note(f"end {k} {os.getpid()}")
    return k * 1000 + 7


@mg.memoize(store=STORE, on_store_error="raise", version="worker")
def big(i):
    _note(f"computed {i}")
    return np.full(CONFIG["size"], float(i))


def stampede() -> dict:
    go = Path(CONFIG["go"])
    while not go.exists():
        time.sleep(0.005)
    wrong: list = []
    errors: list = []
    calls = [0]
    lock = threading.Lock()

    def thread(index: int) -> None:
        keys = list(CONFIG["keys"])
        random.Random(os.getpid() * 100 + index).shuffle(keys)
        for k in keys:
            try:
                value = square(k)
            except Exception as error:  # noqa: BLE001 - reported to the test
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
                continue
            ok = value[0] == k and value[1] == k * k and np.array_equal(value[2], np.full(3, k))
            with lock:
                calls[0] += 1
                if not ok:
                    wrong.append(k)

    threads = [threading.Thread(target=thread, args=(i,)) for i in range(CONFIG["threads"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"calls": calls[0], "wrong": wrong, "errors": errors}


def take() -> dict:
    _note(f"asking {CONFIG['key']} {os.getpid()}")
    return {"value": slow(CONFIG["key"])}


def writer() -> dict:
    for i in range(CONFIG["count"]):
        big(i)
        _note(f"done {i}")
    return {}


def verify() -> dict:
    wrong = []
    for i in range(CONFIG["count"]):
        value = big(i)
        if value.shape != (CONFIG["size"],) or not (value == float(i)).all():
            wrong.append(i)
    return {"wrong": wrong}


if __name__ == "__main__":
    mode = CONFIG["mode"]
    result = {
        "statistics": lambda: square.cache_info()._asdict(),
        "stampede": stampede,
        "hold": lambda: {"value": slow(CONFIG["key"])},
        "take": take,
        "writer": writer,
        "verify": verify,
    }[mode]()
    print(json.dumps(result), flush=True)
