"""``@mg.memoize(store=...)`` against diskcache, joblib.Memory and cachier on one function.

The function is ``values * factor`` called with a small array and a scalar, so every peer's
time is its cache's own cost. Four cases:

* ``store_sqlite_hit``: a hit on the SQLite store against diskcache (its ``Cache.get`` on the
  key its ``memoize`` builds for the same arguments, and the whole ``memoize`` call),
  joblib.Memory and cachier. Target: at most diskcache's ``get``.
* ``store_redis_hit``: a hit on the Redis store against a bare redis-py ``GET`` of the same
  entry on loopback (``client.get``), and against the round trip's floor, a ``GET`` sent on a
  connection kept by the caller, as memoize sends its own. Target: within 1.5x of the bare
  ``GET``. A redis-server is started on a free 127.0.0.1 port (the distribution's binary;
  skipped, saying so, without it).
* ``store_miss``: a call with new arguments each time (computed, then stored), beside the bare
  call: the miss overhead, reported.
* ``store_big_argument``: a hit whose argument is a 100 MB array (10 MB with --quick) against
  hashing those bytes once with SHA-256. Target: within 1.25x (the hit is that hash).
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import itertools
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.results import Case, CaseResult, Row, Settings
from memograd.memo import RedisStore, SQLiteStore, memoize
from memograd.timing import compare

REDIS_RATIO_TARGET = 1.5
BIG_RATIO_TARGET = 1.25
SMALL = np.arange(16, dtype=np.float64)
FACTOR = 3.0


def scale(values: np.ndarray, factor: float) -> np.ndarray:
    return values * factor


def first(values: np.ndarray) -> float:
    return float(values[0])


def _rows(result: CaseResult, comparison, notes: dict[str, str], reference: str) -> None:
    """One row per peer: median per call, spread, ratio of the reference to it."""
    for name, timing in comparison.timings.items():
        result.rows.append(
            Row(
                label=name,
                seconds=timing.median,
                ratio=None if name == reference else comparison.ratio(name),
                extra={
                    "us_per_call": round(timing.median * 1e6, 1),
                    "spread": round(timing.spread, 3),
                },
                note=notes.get(name, ""),
            )
        )
    result.columns = ("us_per_call", "spread")


def _checked(name: str, value: object, expected: np.ndarray | float) -> None:
    """A peer that returns something else is not measured: a wrong fast answer is no result."""
    if not np.array_equal(np.asarray(value), np.asarray(expected)):
        raise AssertionError(f"{name} returned {value!r}, expected {expected!r}")


def _peers(directory: Path, fn: Callable, result: CaseResult) -> dict[str, Callable]:
    """diskcache, joblib.Memory and cachier around ``fn``, each in its own folder."""
    peers: dict[str, Callable] = {}
    try:
        import diskcache
    except ImportError as exc:
        result.skip_peer("diskcache", f"not installed ({exc.name})")
    else:
        cache = diskcache.Cache(str(directory / "diskcache"))
        peers["diskcache memoize"] = cache.memoize()(fn)
        peers["diskcache cache"] = cache
    try:
        import joblib
    except ImportError as exc:
        result.skip_peer("joblib.Memory", f"not installed ({exc.name})")
    else:
        peers["joblib.Memory"] = joblib.Memory(str(directory / "joblib"), verbose=0).cache(fn)
    try:
        from cachier import cachier
    except ImportError as exc:
        result.skip_peer("cachier", f"not installed ({exc.name})")
    else:
        peers["cachier"] = cachier(cache_dir=str(directory / "cachier"), separate_files=True)(fn)
    return peers


def _run_sqlite_hit(settings: Settings, result: CaseResult) -> None:
    with tempfile.TemporaryDirectory(prefix="memograd-bench-") as folder:
        directory = Path(folder)
        ours = memoize(store=SQLiteStore(directory / "memograd.db"))(scale)
        peers = _peers(directory, scale, result)
        steps: dict[str, Callable] = {"mg.memoize SQLite": lambda: ours(SMALL, FACTOR)}
        notes = {"mg.memoize SQLite": "key, one SELECT, checksum, .npy decode, a copy"}
        cache = peers.pop("diskcache cache", None)
        if cache is not None:
            memoized = peers["diskcache memoize"]
            memoized(SMALL, FACTOR)
            key = memoized.__cache_key__(SMALL, FACTOR)
            steps["diskcache Cache.get"] = lambda: cache.get(key)
            notes["diskcache Cache.get"] = "the key its memoize builds for these arguments"
            cache.set("k", scale(SMALL, FACTOR))
            steps["diskcache get, str key"] = lambda: cache.get("k")
            notes["diskcache get, str key"] = "the floor: a short key, no arguments to key"
        for name, peer in peers.items():
            steps[name] = lambda peer=peer: peer(SMALL, FACTOR)
        for name, step in steps.items():
            step()
            _checked(name, step(), scale(SMALL, FACTOR))
        comparison = compare(steps, settings.plan(), "mg.memoize SQLite")
        _rows(result, comparison, notes, "mg.memoize SQLite")
        ours_time = comparison.timings["mg.memoize SQLite"].median
        if "diskcache Cache.get" in comparison.timings:
            get = comparison.timings["diskcache Cache.get"].median
            floor = comparison.timings["diskcache get, str key"].median
            result.met = ours_time <= get
            result.verdict = (
                f"a hit costs {ours_time * 1e6:.1f} us: {ours_time / get:.2f}x diskcache's get "
                f"on the same arguments ({ours_time / floor:.2f}x its get of a short str key)"
            )
        else:
            result.verdict = f"a hit costs {ours_time * 1e6:.1f} us; diskcache not installed"


_SERVER: dict[str, str | None] = {}


def redis_server() -> str | None:
    """The URL of a redis-server on a free loopback port, started once per run and stopped at
    exit; None without the binary. The server is the tests' (tools/redis_server.py)."""
    if "url" in _SERVER:
        return _SERVER["url"]
    binary = shutil.which("redis-server")
    if binary is None:
        _SERVER["url"] = None
        return None
    path = Path(__file__).resolve().parents[1] / "tools" / "redis_server.py"
    spec = importlib.util.spec_from_file_location("memograd_bench_redis_server", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    server = module.RedisServer(binary)
    atexit.register(server.stop)
    _SERVER["url"] = server.url(0)
    return _SERVER["url"]


def _run_redis_hit(settings: Settings, result: CaseResult) -> None:
    try:
        import redis
    except ImportError as exc:
        result.status = "skipped"
        result.verdict = f"redis-py not installed ({exc.name}): pip install 'memograd[redis]'"
        return
    url = redis_server()
    if url is None:
        result.status = "skipped"
        result.verdict = "no redis-server binary (Debian: apt-get install redis-server)"
        return
    ours = memoize(store=RedisStore(url))(scale)
    ours(SMALL, FACTOR)
    memo = ours.__memo__
    key = memo.lookup(SMALL, FACTOR)[0]
    entry = f"{memo.store.prefix}:{{{memo.identity}}}:e:{key.hex()}"
    client = redis.Redis.from_url(url)
    record = client.get(entry)
    pool = client.connection_pool
    connection = pool.connection_class(**pool.connection_kwargs)

    def raw_get() -> bytes:
        connection.send_command("GET", entry)
        return connection.read_response()

    steps = {
        "mg.memoize Redis": lambda: ours(SMALL, FACTOR),
        "redis-py GET": lambda: client.get(entry),
        "GET on a kept connection": raw_get,
    }
    _checked("mg.memoize Redis", steps["mg.memoize Redis"](), scale(SMALL, FACTOR))
    for name in ("redis-py GET", "GET on a kept connection"):
        if steps[name]() != record:
            raise AssertionError(f"{name} did not return the stored record")
    comparison = compare(steps, settings.plan(), "mg.memoize Redis")
    notes = {
        "mg.memoize Redis": "key, one GET on the thread's kept connection, checksum, decode",
        "redis-py GET": f"client.get of the same {len(record)}-byte entry, bytes only",
        "GET on a kept connection": "the floor: send_command + read_response, bytes only",
    }
    _rows(result, comparison, notes, "mg.memoize Redis")
    ratio = comparison.ratio("redis-py GET")
    floor = comparison.ratio("GET on a kept connection")
    result.met = ratio <= REDIS_RATIO_TARGET
    result.verdict = (
        f"a hit costs {ratio:.2f}x a bare redis-py GET round trip on loopback "
        f"({floor:.2f}x a GET on a kept connection, the round trip's floor)"
    )


def _run_miss(settings: Settings, result: CaseResult) -> None:
    counter = itertools.count()
    url = redis_server()
    with tempfile.TemporaryDirectory(prefix="memograd-bench-") as folder:
        directory = Path(folder)
        steps: dict[str, Callable] = {"bare call": lambda: scale(SMALL, next(counter))}
        ours = memoize(store=SQLiteStore(directory / "memograd.db"))(scale)
        steps["mg.memoize SQLite"] = lambda: ours(SMALL, next(counter))
        if url is not None:
            shared = memoize(store=RedisStore(url))(scale)
            steps["mg.memoize Redis"] = lambda: shared(SMALL, next(counter))
        else:
            result.skip_peer("mg.memoize Redis", "no redis-server binary")
        peers = _peers(directory, scale, result)
        peers.pop("diskcache cache", None)
        for name, peer in peers.items():
            steps[name] = lambda peer=peer: peer(SMALL, next(counter))
        for name, step in steps.items():
            _checked(name, np.asarray(step()).shape, SMALL.shape)
        comparison = compare(steps, settings.plan(), "mg.memoize SQLite")
        _rows(result, comparison, {"bare call": "the function alone"}, "mg.memoize SQLite")
        bare = comparison.timings["bare call"].median
        overheads = ", ".join(
            f"{name} {(t.median - bare) * 1e6:,.0f} us"
            for name, t in comparison.timings.items()
            if name != "bare call"
        )
        result.verdict = f"miss overhead over the bare call: {overheads}"


def _run_big_argument(settings: Settings, result: CaseResult) -> None:
    megabytes = 10 if settings.quick else 100
    values = np.random.default_rng(0).random(megabytes * 1_000_000 // 8)
    with tempfile.TemporaryDirectory(prefix="memograd-bench-") as folder:
        directory = Path(folder)
        ours = memoize(store=SQLiteStore(directory / "memograd.db"))(first)
        steps: dict[str, Callable] = {
            "mg.memoize SQLite": lambda: ours(values),
            "SHA-256 of the array": lambda: hashlib.sha256(memoryview(values)).digest(),
        }
        try:
            import joblib
        except ImportError as exc:
            result.skip_peer("joblib.Memory", f"not installed ({exc.name})")
        else:
            cached = joblib.Memory(str(directory / "joblib"), verbose=0).cache(first)
            steps["joblib.Memory"] = lambda: cached(values)
        for name in ("mg.memoize SQLite", "joblib.Memory"):
            if name in steps:
                steps[name]()
                _checked(name, steps[name](), values[0])
        comparison = compare(steps, settings.plan(warmup_calls=1), "mg.memoize SQLite")
        notes = {
            "mg.memoize SQLite": f"a hit on f(a), a of {megabytes} MB",
            "SHA-256 of the array": "reading and hashing its bytes once, nothing else",
            "joblib.Memory": "hashes the argument with its own pickler",
        }
        _rows(result, comparison, notes, "mg.memoize SQLite")
        ratio = comparison.ratio("SHA-256 of the array")
        result.met = ratio <= BIG_RATIO_TARGET
        result.verdict = f"a hit on a {megabytes} MB argument costs {ratio:.2f}x hashing it once"
        result.notes.append(
            "diskcache is left out: its memoize pickles the argument into the key, a 100 MB SQL "
            "lookup key"
        )


CASES: tuple[Case, ...] = (
    Case(
        name="store_sqlite_hit",
        title="mg.memoize(store=SQLite) hit against diskcache, joblib.Memory, cachier",
        target="<= diskcache Cache.get on the same arguments",
        run=_run_sqlite_hit,
    ),
    Case(
        name="store_redis_hit",
        title="mg.memoize(store=Redis) hit against a bare redis-py GET on loopback",
        target=f"<= {REDIS_RATIO_TARGET:g}x the bare GET",
        run=_run_redis_hit,
    ),
    Case(
        name="store_miss",
        title="a miss (compute and store) on each store and peer, beside the bare call",
        target="reported",
        run=_run_miss,
    ),
    Case(
        name="store_big_argument",
        title="a hit on a 100 MB array argument against hashing it once",
        target=f"<= {BIG_RATIO_TARGET:g}x one SHA-256 of the array",
        run=_run_big_argument,
    ),
)
