"""memoize with a store (SQLite, Redis): the decorator's options, values, counts, leases.

Every test runs on both stores (``make_store``: a SQLite file in the test's directory, or the
test's redis-server). A second process is stood for, where a test needs one quickly, by a second
decoration of the same function: same module, qualified name and code, hence the same entries.
tests/memo/test_store_processes.py runs real processes.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import pickle
import random
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import memograd as mg
from memograd.memo import ComputationFailed, StoreError, memoize


def counting(fn):
    """``fn`` with a list of the arguments it really ran with (a side channel, not the cache)."""
    runs = []

    @functools.wraps(fn)
    def spy(*args, **kwargs):
        runs.append(args + tuple(sorted(kwargs.items())))
        return fn(*args, **kwargs)

    spy.runs = runs
    spy.__signature__ = inspect.signature(fn)  # so memoize sees fn's parameters, not *args
    return spy


def echo(k):
    return k


def scaled(values, factor=2):
    return values * factor


def test_a_second_process_finds_the_first_ones_results(make_store):
    store = make_store()
    first = memoize(store=store)(counting(scaled))
    second = memoize(store=store)(counting(scaled))
    values = np.arange(4.0)
    assert np.array_equal(first(values, 3), values * 3)
    assert np.array_equal(second(values.copy(), factor=3), values * 3)
    assert len(first.runs) == 1 and len(second.runs) == 0
    assert second.cache_info() == mg.CacheInfo(hits=1, misses=1, maxsize=None, currsize=1)


def test_each_hit_returns_its_own_writable_copy(make_store):
    f = memoize(store=make_store())(counting(scaled))
    values = np.arange(3.0)
    f(values)
    a, b = f(values), f(values)
    assert a is not b and a.flags.writeable
    a[0] = 99.0
    assert f(values)[0] == 0.0 and len(f.runs) == 1


def test_values_come_back_with_their_types(make_store):
    result = {
        "none": None,
        "flags": (True, False),
        "numbers": [1, 2**70, 1.5, float("inf"), 2 - 3j],
        "text": "ünï",
        "raw": b"\x00\xff",
        "array": np.arange(6, dtype=np.int16).reshape(2, 3),
        "scalar": np.float32(0.25),
        "tensor": mg.Tensor([1.0, 2.0], requires_grad=True),
    }
    f = memoize(store=make_store())(counting(lambda: result))
    f()
    back = f()
    assert len(f.runs) == 1
    assert back["none"] is None and back["flags"] == (True, False)
    assert back["numbers"] == result["numbers"] and type(back["numbers"][1]) is int
    assert back["text"] == "ünï" and back["raw"] == b"\x00\xff"
    assert back["array"].dtype == np.int16 and np.array_equal(back["array"], result["array"])
    assert type(back["scalar"]) is np.float32 and back["scalar"] == np.float32(0.25)
    assert type(back["tensor"]) is mg.Tensor and back["tensor"].requires_grad
    assert np.array_equal(back["tensor"].data, [1.0, 2.0])


def test_maxsize_evicts_the_least_recently_used_as_lru_cache_does(make_store):
    rng = random.Random(7)
    calls = [rng.randrange(8) for _ in range(120)]
    reference = functools.lru_cache(maxsize=3)(lambda k: k)
    f = memoize(maxsize=3, store=make_store())(counting(lambda k: k))
    for k in calls:
        assert f(k) == reference(k) == k
    assert len(f.runs) == reference.cache_info().misses
    info = f.cache_info()
    assert info.misses == reference.cache_info().misses and info.currsize == 3
    assert info.hits == reference.cache_info().hits


def test_ttl_recomputes_an_expired_entry(make_store, tmp_path):
    store = make_store()
    if store.kind == "sqlite":
        now = [1000.0]
        f = memoize(ttl=10, timer=lambda: now[0], store=store)(counting(lambda k: k * 2))
        assert f(1) == f(1) == 2 and len(f.runs) == 1
        now[0] += 10.5
        assert f(1) == 2 and len(f.runs) == 2
        assert f.cache_info().currsize == 1
    else:  # Redis expires entries with its own clock
        f = memoize(ttl=0.3, store=store)(counting(lambda k: k * 2))
        assert f(1) == f(1) == 2 and len(f.runs) == 1
        time.sleep(0.45)
        assert f(1) == 2 and len(f.runs) == 2


def test_typed_keys_equal_values_of_different_types_apart(make_store):
    store = make_store()
    plain = memoize(store=store)(counting(lambda x: x))
    assert plain(1) == 1 and plain(1.0) == 1 and plain(True) == 1 and len(plain.runs) == 1
    typed = memoize(store=store, typed=True)(counting(lambda x: x))
    assert typed(1) == 1 and typed(1.0) == 1.0 and typed(True) is True
    assert len(typed.runs) == 3


def test_key_function_and_unkeyable_arguments(make_store):
    store = make_store()

    class Model:
        def __init__(self, name):
            self.name = name

    f = memoize(store=store, key=lambda model, x: (model.name, x))(
        counting(lambda model, x: f"{model.name}:{x}")
    )
    assert f(Model("a"), 1) == f(Model("a"), 1) == "a:1" and len(f.runs) == 1
    g = memoize(store=store)(lambda model, x: x)
    with pytest.raises(TypeError, match=r"argument 'model' of .*Model.*key="):
        g(Model("a"), 1)
    with pytest.raises(TypeError, match=r"argument 'x\['w'\]\[0\]'"):
        g(1, {"w": [object()]})


def test_results_without_a_safe_encoding_are_refused_unless_pickle_is_chosen(make_store):
    store = make_store()

    class Point:
        def __eq__(self, other):
            return type(other) is type(self)

    refusing = memoize(store=store)(lambda: {"p": Point()})
    with pytest.raises(TypeError, match=r'Point at result\[.p.\].*serializer="pickle"'):
        refusing()
    pickled = memoize(store=store, serializer="pickle")(counting(lambda: {1, 2, 3}))
    assert pickled() == pickled() == {1, 2, 3} and len(pickled.runs) == 1


def test_exceptions_are_never_stored(make_store):
    outcomes = iter([ValueError("first"), 42])

    def flaky():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    f = memoize(store=make_store(), version=1)(counting(flaky))  # closes over an iterator
    with pytest.raises(ValueError, match="first"):
        f()
    assert f() == 42 and f() == 42 and len(f.runs) == 2


def test_threads_share_one_computation_and_its_exception(make_store):
    started, release = threading.Event(), threading.Event()

    def slow(k):
        started.set()
        release.wait(5)
        if k < 0:
            raise KeyError(k)
        return k

    f = memoize(store=make_store(), version=1)(counting(slow))  # closes over events
    results: list = []

    def call(k):
        try:
            results.append(f(k))
        except KeyError as error:
            results.append(error)

    for k in (5, -1):
        started.clear()
        release.clear()
        threads = [threading.Thread(target=call, args=(k,)) for _ in range(6)]
        for t in threads:
            t.start()
        started.wait(5)
        time.sleep(0.05)
        release.set()
        for t in threads:
            t.join()
    assert results[:6] == [5] * 6
    assert len({id(e) for e in results[6:]}) == 1 and isinstance(results[6], KeyError)
    assert len(f.runs) == 2


def test_a_waiting_caller_gets_the_failure_of_another_processs_computation(make_store):
    store = make_store()
    f = memoize(store=store)(counting(lambda k: k))
    memo = f.__memo__
    key = memo.lookup(3)[0]
    # another process takes the key's lease and is computing it
    assert store.acquire(memo.identity, key, memo.head, "elsewhere:1/x", None, 0.0)[0] == "acquired"
    outcome: list = []
    waiter = threading.Thread(target=lambda: outcome.append(_outcome(f, 3)))
    waiter.start()
    time.sleep(0.2)
    assert waiter.is_alive() and f.runs == []
    store.fail(memo.identity, key, "elsewhere:1/x", "builtins.ValueError: no such thing")
    waiter.join(5)
    assert isinstance(outcome[0], ComputationFailed)
    assert "ValueError: no such thing" in str(outcome[0])
    assert f(3) == 3 and len(f.runs) == 1  # the failure was not stored: computed now


def _outcome(fn, *args):
    try:
        return fn(*args)
    except Exception as error:  # noqa: BLE001 - the test inspects it
        return error


def test_a_lease_whose_holder_stops_renewing_is_taken_over(make_store):
    store = make_store(lease=0.3)
    f = memoize(store=store)(counting(lambda k: k + 1))
    memo = f.__memo__
    key = memo.lookup(1)[0]
    assert store.acquire(memo.identity, key, memo.head, "gone:1/x", None, 0.0)[0] == "acquired"
    start = time.monotonic()
    assert f(1) == 2 and len(f.runs) == 1
    assert time.monotonic() - start >= 0.2  # it waited for the lease to run out


def test_a_computing_process_keeps_its_lease_past_its_duration(make_store):
    store = make_store(lease=0.3)
    release = threading.Event()

    def work(k):
        release.wait(5)
        return k

    slow = memoize(store=store, version=1)(counting(work))  # work closes over an event
    other = memoize(store=store, version=1)(counting(work))  # "another process"
    first = threading.Thread(target=slow, args=(1,))
    first.start()
    time.sleep(0.1)
    second = threading.Thread(target=other, args=(1,))
    second.start()
    time.sleep(1.0)  # three leases long: renewed meanwhile, so nobody took over
    release.set()
    first.join(5)
    second.join(5)
    assert len(slow.runs) == 1 and other.runs == []


def test_timeout_bounds_the_wait_for_another_process(make_store):
    store = make_store()
    f = memoize(store=store, timeout=0.2)(counting(lambda k: k))
    memo = f.__memo__
    key = memo.lookup(1)[0]
    store.acquire(memo.identity, key, memo.head, "busy:1/x", None, 0.0)
    with pytest.raises(TimeoutError, match=r"timeout=0.2 s for process busy:1"):
        f(1)
    assert f.runs == []


def test_timeout_bounds_the_wait_for_another_thread():
    release = threading.Event()
    f = memoize(timeout=0.1)(lambda k: release.wait(5) and k)
    first = threading.Thread(target=f, args=(1,))
    first.start()
    time.sleep(0.05)
    with pytest.raises(TimeoutError, match="timeout=0.1"):
        f(1)
    release.set()
    first.join()
    assert f(1) == 1


def test_async_def_shares_one_computation(make_store):
    store = make_store()
    runs = []

    async def fetch(k):
        runs.append(k)
        await asyncio.sleep(0.05)
        return {"k": k}

    f = memoize(store=store, version=1)(fetch)  # fetch closes over the list it appends to

    async def main():
        return await asyncio.gather(*(f(k) for k in (1, 1, 2, 1, 2)))

    assert asyncio.run(main()) == [{"k": 1}, {"k": 1}, {"k": 2}, {"k": 1}, {"k": 2}]
    assert sorted(runs) == [1, 2]
    again = memoize(store=store, version=1)(fetch)
    assert asyncio.run(again(1)) == {"k": 1} and sorted(runs) == [1, 2]


def test_cache_clear_and_cache_info_cover_every_process(make_store):
    store = make_store()
    a = memoize(store=store)(counting(echo))
    b = memoize(store=store)(counting(echo))  # "another process"
    for k in (1, 2, 3, 1):
        a(k)
    b(2)
    assert (
        a.cache_info() == b.cache_info() == mg.CacheInfo(hits=2, misses=3, maxsize=None, currsize=3)
    )
    b.cache_clear()
    assert a.cache_info() == mg.CacheInfo(hits=0, misses=0, maxsize=None, currsize=0)
    a(1)
    assert len(a.runs) == 4


def test_editing_the_function_makes_its_entries_misses_unless_version_pins_them(make_store):
    store = make_store()

    def area(r):
        return 3 * r * r

    def area_edited(r):
        return 3.14159 * r * r

    area_edited.__qualname__ = area.__qualname__  # the same function, edited
    old = memoize(store=store)(area)
    new = memoize(store=store)(counting(area_edited))
    assert old(2) == 12 and new(2) == pytest.approx(12.56636) and len(new.runs) == 1
    pinned_old = memoize(store=store, version="1")(area)
    pinned_new = memoize(store=store, version="1")(counting(area_edited))
    assert pinned_old(3) == 27 and pinned_new(3) == 27 and pinned_new.runs == []


def test_store_options_and_methods_are_checked_at_decoration(tmp_path):
    with pytest.raises(TypeError, match="version= applies to a store"):
        memoize(version="1")
    with pytest.raises(ValueError, match="serializer"):
        memoize(store=tmp_path / "a.db", serializer="json")
    with pytest.raises(ValueError, match="on_store_error"):
        memoize(store=tmp_path / "a.db", on_store_error="ignore")
    with pytest.raises(TypeError, match="store must be a path"):
        memoize(store=42)
    with pytest.raises(ValueError, match="timeout"):
        memoize(timeout=-1)
    with pytest.raises(TypeError, match="is a method"):

        class Model:
            @memoize(store=tmp_path / "a.db")
            def predict(self, x):
                return x

    class Tools:
        @memoize(store=tmp_path / "a.db")
        @staticmethod
        def double(x):
            return 2 * x

    assert Tools.double(2) == Tools().double(2) == 4


def test_maxsize_zero_caches_nothing_even_with_a_store(tmp_path):
    f = memoize(maxsize=0, store=tmp_path / "a.db")(counting(lambda k: k))
    f(1), f(1)
    assert len(f.runs) == 2 and not (tmp_path / "a.db").exists()


def test_paths_and_urls_name_stores(tmp_path, redis_url):
    f = memoize(store=str(tmp_path / "a.db"))(lambda k: k)
    g = memoize(store=tmp_path / "a.db")(lambda k: k)
    assert f.__memo__.store is g.__memo__.store
    assert f.cache_parameters()["store"] is f.__memo__.store
    assert memoize(store=redis_url)(lambda k: k).__memo__.store.kind == "redis"


def test_stores_pickle_as_their_location_and_options(tmp_path):
    store = mg.memo.SQLiteStore(tmp_path / "a.db", lease=2.5)
    copy = pickle.loads(pickle.dumps(store))
    assert copy.path == store.path and copy.lease == 2.5
    redis_store = mg.memo.RedisStore("redis://:secret@127.0.0.1:1/0", prefix="x")
    assert "secret" not in redis_store.describe() and "secret" not in repr(redis_store)
    assert pickle.loads(pickle.dumps(redis_store)).prefix == "x"


def test_the_cache_survives_the_process(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys
        import memograd as mg
        @mg.memoize(store={str(tmp_path / "run.db")!r})
        def square(n):
            print("computed", n)
            return n * n
        print(square(12), square.cache_info().misses)
        """
    )
    outputs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert outputs[0].stdout.split() == ["computed", "12", "144", "1"]
    assert outputs[1].stdout.split() == ["144", "1"]  # the second run computed nothing


def test_import_memograd_loads_no_store():
    code = (
        "import sys, memograd as mg; mg.memoize(lambda x: x)(1); "
        "print(sorted(m for m in ('sqlite3', 'redis', 'memograd.memo.persistent') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unreachable_store_raises_or_computes_once_warned(tmp_path):
    port = _closed_port()
    store = mg.memo.RedisStore(f"redis://127.0.0.1:{port}/0", connect_timeout=0.5)
    strict = memoize(store=store, on_store_error="raise")(lambda k: k)
    with pytest.raises(StoreError, match=f"cannot reach the Redis store redis://127.0.0.1:{port}"):
        strict(1)


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_closures_of_one_factory_keep_their_own_entries(make_store):
    store = make_store()

    def times(factor):
        def scaled_by(x):
            return x * factor

        return memoize(store=store)(scaled_by)

    double, triple = times(2), times(3)
    assert (double(5), triple(5), double(5)) == (10, 15, 10)  # same name and source, not entries

    lock = threading.Lock()

    def guarded(x):
        with lock:
            return x

    with pytest.raises(TypeError, match=r"uses 'lock' from an enclosing function.*version="):
        memoize(store=store)(guarded)(1)
    assert memoize(store=store, version="1")(guarded)(1) == 1


STEPS = 10


def walk(n):
    return n * STEPS


def test_a_changed_module_constant_makes_old_entries_misses(make_store, monkeypatch):
    store = make_store()
    before = memoize(store=store)(counting(walk))
    assert before(1) == 10
    monkeypatch.setattr(sys.modules[__name__], "STEPS", 20)  # edited between two runs
    after = memoize(store=store)(counting(walk))
    assert after(1) == 20 and len(after.runs) == 1
