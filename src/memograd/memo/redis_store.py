"""The shared store: a Redis server that the processes of many machines reach.

An existing server (Redis 6.2 or later), reached with redis-py (``pip install
'memograd[redis]'``); memograd runs no server of its own. Each function's entries are grouped
under one hash tag, ``<prefix>:{<function>}:...``:

* ``e:<key>`` the record (a string; with ``ttl``, Redis expires it itself);
* ``l:<key>`` the lease while a process computes the key (``SET NX PX``, renewed while it
  computes), then, if the computation raised, a short-lived failure record for its waiters;
* ``lru`` a sorted set of keys by last use (the server's clock in microseconds, made strictly
  increasing), which ``maxsize`` evicts from;
  ``exp`` keys by expiry; ``meta`` when each was stored, its size and code version;
  ``stats`` hits and misses.

Everything that changes more than one key runs as one Lua script, which Redis executes
atomically: storing a value (with its eviction), taking a lease, renewing, failing and releasing
it. A client killed halfway sends a partial command, which the server never runs. A hit is one
``GET``; hit counts and last-use times are sent in batches. Times are the server's clock, so
machines with skewed clocks agree on ages and expiry.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from memograd.memo.store import FunctionSummary, Outcome, Store, StoreError

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function tick()
  -- the use order: microseconds of the server's clock, strictly increasing per function
  local stamp = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
  if last and tonumber(last) >= stamp then stamp = tonumber(last) + 1 end
  return stamp
end
"""
_DROP = """
local function drop(member)
  redis.call('DEL', ARGV[1] .. 'e:' .. member)
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
  redis.call('HDEL', KEYS[3], member)
end
local function prune(now)
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do drop(member) end
end
"""
# KEYS: lru, exp, meta, stats, functions, entry, lease
# ARGV: base, member, record, token, ttl ms (0: none), maxsize (-1: none), version, function
_PUT = (
    _NOW
    + _DROP
    + """
local ttl = tonumber(ARGV[5])
if ttl > 0 then
  redis.call('SET', KEYS[6], ARGV[3], 'PX', ttl)
  redis.call('ZADD', KEYS[2], now + ttl, ARGV[2])
else
  redis.call('SET', KEYS[6], ARGV[3])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
redis.call('ZADD', KEYS[1], tick(), ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], now .. ' ' .. string.len(ARGV[3]) .. ' ' .. ARGV[7])
if ARGV[4] ~= '' and redis.call('GET', KEYS[7]) == ARGV[4] then redis.call('DEL', KEYS[7]) end
prune(now)
local maxsize = tonumber(ARGV[6])
if maxsize >= 0 then
  local excess = redis.call('ZCARD', KEYS[1]) - maxsize
  if excess > 0 then
    for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, excess - 1)) do drop(member) end
  end
end
redis.call('SADD', KEYS[5], ARGV[8])
return 1
"""
)
# KEYS: entry, lease, stats. ARGV: head, token, lease ms, seen holder
_ACQUIRE = """
local record = redis.call('GET', KEYS[1])
if record and string.sub(record, 1, string.len(ARGV[1])) == ARGV[1] then
  return {'value', record}
end
local holder = redis.call('GET', KEYS[2])
if holder then
  if string.sub(holder, 1, 1) ~= '!' then return {'held', holder} end
  local cut = string.find(holder, '\\n', 1, true)
  if string.sub(holder, 2, cut - 1) == ARGV[4] then
    return {'failed', string.sub(holder, cut + 1)}
  end
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('HINCRBY', KEYS[3], 'misses', 1)
return {'acquired', ''}
"""
# KEYS: lease. ARGV: token, lease ms
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS: lease. ARGV: token, failure record ('' to release), ms it stays
_SETTLE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end
return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
"""
# KEYS: lru, exp, meta, entry. ARGV: base, member, record
_DISCARD = (
    _DROP
    + """
if redis.call('GET', KEYS[4]) == ARGV[3] then drop(ARGV[2]) return 1 end
return 0
"""
)
# KEYS: lru, exp, meta, stats. ARGV: base, hits, member...
_TOUCH = (
    _NOW
    + """
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], 'XX', 'GT', tick(), ARGV[i]) end
redis.call('HINCRBY', KEYS[4], 'hits', ARGV[2])
return 1
"""
)
# KEYS: lru, exp, meta, stats. ARGV: base, version. -> hits, misses, current entries
_STATISTICS = (
    _NOW
    + _DROP
    + """
prune(now)
local current = 0
for _, value in ipairs(redis.call('HVALS', KEYS[3])) do
  local first = string.find(value, ' ', 1, true)
  local second = string.find(value, ' ', first + 1, true)
  if string.sub(value, second + 1) == ARGV[2] then current = current + 1 end
end
local hits = tonumber(redis.call('HGET', KEYS[4], 'hits') or '0')
local misses = tonumber(redis.call('HGET', KEYS[4], 'misses') or '0')
return {hits, misses, current}
"""
)
# KEYS: lru, exp, meta, stats, functions. ARGV: base, function -> entries removed
_CLEAR = (
    _DROP
    + """
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, member in ipairs(members) do drop(member) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
redis.call('SREM', KEYS[5], ARGV[2])
return #members
"""
)
# KEYS: lru, exp, meta, stats. ARGV: base -> entries, bytes, hits, misses, versions, oldest, newest
_SUMMARY = (
    _NOW
    + _DROP
    + """
prune(now)
local bytes, oldest, versions, seen = 0, nil, 0, {}
for _, value in ipairs(redis.call('HVALS', KEYS[3])) do
  local first = string.find(value, ' ', 1, true)
  local second = string.find(value, ' ', first + 1, true)
  local stored = tonumber(string.sub(value, 1, first - 1))
  bytes = bytes + tonumber(string.sub(value, first + 1, second - 1))
  if oldest == nil or stored < oldest then oldest = stored end
  local version = string.sub(value, second + 1)
  if not seen[version] then seen[version] = true versions = versions + 1 end
end
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
if newest then newest = math.floor(tonumber(newest) / 1000) end
return {redis.call('ZCARD', KEYS[1]), bytes,
        tonumber(redis.call('HGET', KEYS[4], 'hits') or '0'),
        tonumber(redis.call('HGET', KEYS[4], 'misses') or '0'),
        versions, tostring(oldest or ''), tostring(newest or '')}
"""
)


class RedisStore(Store):
    """Entries on a Redis server: ``@mg.memoize(store=mg.memo.RedisStore("redis://host:6379/0"))``.

    ``prefix`` starts every key memograd writes (several caches can share a database under
    different prefixes). ``lease``: seconds a computing process's claim on a key lasts; it is
    renewed while the process computes, so another process takes over only when the computer
    died or lost the server. ``socket_timeout`` and ``connect_timeout`` bound each request, so
    an unreachable server is reported (StoreError) rather than waited for.

    Redis's own eviction (``maxmemory-policy``) may drop entries memograd still lists; use
    ``maxsize`` for memograd's LRU, and ``noeviction`` or a ``volatile-*`` policy on the server.
    """

    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "memograd",
        lease: float = 10.0,
        socket_timeout: float = 5.0,
        connect_timeout: float = 2.0,
    ) -> None:
        super().__init__()
        if not isinstance(url, str) or urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"RedisStore: expected a URL such as redis://host:6379/0, got {url!r}")
        if not isinstance(prefix, str) or not prefix or "{" in prefix or "}" in prefix:
            raise ValueError(
                f"RedisStore: prefix must be a non-empty name without braces, got {prefix!r}"
            )
        for name, value in (
            ("lease", lease),
            ("socket_timeout", socket_timeout),
            ("connect_timeout", connect_timeout),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e9:
                raise ValueError(
                    f"RedisStore: {name} must be a number of seconds > 0, got {value!r}"
                )
        self.url = url
        self.prefix = prefix
        self.lease = float(lease)
        self.socket_timeout = float(socket_timeout)
        self.connect_timeout = float(connect_timeout)
        self._client: Any = None
        self._scripts: dict[str, Any] = {}
        self._client_lock = threading.Lock()
        self._local = threading.local()  # each thread's connection for hits

    def __repr__(self) -> str:
        return f"RedisStore({self.describe()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        options = {
            "prefix": self.prefix,
            "lease": self.lease,
            "socket_timeout": self.socket_timeout,
            "connect_timeout": self.connect_timeout,
        }
        return (_rebuild, (self.url, options))

    def describe(self) -> str:
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}:***@" if parts.username else ":***@"
        return urlunsplit(parts._replace(netloc=f"{user}{host}{port}"))

    # -- the connection ------------------------------------------------------------------------

    def _redis(self) -> Any:
        client = self._client
        if client is not None:
            return client
        with self._client_lock:
            if self._client is None:
                try:
                    import redis
                except ModuleNotFoundError:
                    raise ModuleNotFoundError(
                        "RedisStore needs redis-py: pip install 'memograd[redis]'", name="redis"
                    ) from None
                client = redis.Redis.from_url(
                    self.url,
                    socket_timeout=self.socket_timeout,
                    socket_connect_timeout=self.connect_timeout,
                )
                self._scripts = {
                    name: client.register_script(source)
                    for name, source in (
                        ("put", _PUT),
                        ("acquire", _ACQUIRE),
                        ("renew", _RENEW),
                        ("settle", _SETTLE),
                        ("discard", _DISCARD),
                        ("touch", _TOUCH),
                        ("statistics", _STATISTICS),
                        ("clear", _CLEAR),
                        ("summary", _SUMMARY),
                    )
                }
                self._client = client
        return self._client

    def _run(self, doing: str, work: Any) -> Any:
        """``work(client)``, with every Redis failure turned into a StoreError naming the server."""
        client = self._redis()
        try:
            return work(client)
        except Exception as error:  # noqa: BLE001 - sorted out by _failure
            raise self._failure(error, doing) from None

    def _failure(self, error: Exception, doing: str) -> Exception:
        """The StoreError for a redis-py error (anything else is returned as it is)."""
        import redis

        text = str(error)
        if isinstance(error, redis.exceptions.ResponseError) and (
            text.startswith("OOM") or "> 'maxmemory'" in text
        ):
            return StoreError(
                f"the Redis store {self.describe()} is full ({error}): nothing was written; "
                "raise its maxmemory, pass maxsize= to memoize, or clear the store"
            )
        if isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
            return StoreError(f"cannot reach the Redis store {self.describe()} to {doing}: {error}")
        if isinstance(error, redis.exceptions.RedisError):
            return StoreError(f"the Redis store {self.describe()} failed to {doing}: {error}")
        return error

    def _keys(self, function: str) -> tuple[str, str, str, str, str]:
        base = f"{self.prefix}:{{{function}}}:"
        return base, base + "lru", base + "exp", base + "meta", base + "stats"

    def _functions_key(self) -> str:
        return f"{self.prefix}:functions"

    # -- the hot path ------------------------------------------------------------------------

    def get(self, function: str, key: bytes, now: float) -> bytes | None:
        """One ``GET`` on this thread's own connection.

        The hit is sent on a connection of redis-py's that the thread keeps (``send_command``,
        ``read_response``): the client's general command path (pool, retries, events, metrics)
        costs more than the round trip on loopback. Any failure drops the connection; the next
        call makes a new one.
        """
        local = self._local
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = self._dedicated_connection()
        try:
            connection.send_command("GET", f"{self.prefix}:{{{function}}}:e:{key.hex()}")
            return connection.read_response()
        except Exception as error:  # noqa: BLE001 - sorted out by _failure
            local.connection = None
            try:
                connection.disconnect()
            except Exception:  # noqa: BLE001 - it is being dropped either way
                pass
            raise self._failure(error, "read") from None

    def _dedicated_connection(self) -> Any:
        pool = self._redis().connection_pool
        return pool.connection_class(**pool.connection_kwargs)

    def _write_hits(self, pending: dict[tuple[str, bytes], int], wait: bool) -> bool:
        grouped: dict[str, tuple[int, list[str]]] = {}
        for (function, key), count in pending.items():
            hits, members = grouped.get(function, (0, []))
            members.append(key.hex())
            grouped[function] = (hits + count, members)

        def send(client: Any) -> None:
            pipe = client.pipeline(transaction=False)
            for function, (hits, members) in grouped.items():
                base, lru, exp, meta, stats = self._keys(function)
                self._scripts["touch"](
                    keys=[lru, exp, meta, stats], args=[base, hits, *members], client=pipe
                )
            pipe.execute()

        self._run("count hits", send)
        return True

    # -- leases ------------------------------------------------------------------------------

    def acquire(
        self, function: str, key: bytes, head: bytes, token: str, seen: str | None, now: float
    ) -> Outcome:
        base, _, _, _, stats = self._keys(function)
        member = key.hex()
        lease_ms = max(1, int(self.lease * 1000))
        kind, found = self._run(
            "take a lease",
            lambda client: self._scripts["acquire"](
                keys=[f"{base}e:{member}", f"{base}l:{member}", stats],
                args=[head, token, lease_ms, seen or ""],
            ),
        )
        kind = kind.decode()
        if kind == "held":
            return kind, found.decode()
        if kind == "failed":
            return kind, found.decode("utf-8", "replace")
        return kind, (found if kind == "value" else None)

    def renew(self, function: str, key: bytes, token: str) -> bool:
        lease = f"{self.prefix}:{{{function}}}:l:{key.hex()}"
        lease_ms = max(1, int(self.lease * 1000))
        return bool(
            self._run(
                "renew a lease",
                lambda client: self._scripts["renew"](keys=[lease], args=[token, lease_ms]),
            )
        )

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
        if self._pending:  # the hits first: eviction follows the latest use
            self.flush()
        base, lru, exp, meta, stats = self._keys(function)
        member = key.hex()
        ttl_ms = 0 if ttl is None else max(1, round(ttl * 1000))
        keys = [
            lru,
            exp,
            meta,
            stats,
            self._functions_key(),
            f"{base}e:{member}",
            f"{base}l:{member}",
        ]
        args = [
            base,
            member,
            record,
            token or "",
            ttl_ms,
            -1 if maxsize is None else maxsize,
            version,
            function,
        ]
        self._run("store a value", lambda client: self._scripts["put"](keys=keys, args=args))

    def _settle(self, function: str, key: bytes, token: str, failure: str, doing: str) -> None:
        lease = f"{self.prefix}:{{{function}}}:l:{key.hex()}"
        lease_ms = max(1, int(self.lease * 1000))
        self._run(
            doing,
            lambda client: self._scripts["settle"](keys=[lease], args=[token, failure, lease_ms]),
        )

    def fail(self, function: str, key: bytes, token: str, description: str) -> None:
        self._settle(function, key, token, f"!{token}\n{description}", "record a failure")

    def release(self, function: str, key: bytes, token: str) -> None:
        self._settle(function, key, token, "", "release a lease")

    def discard(self, function: str, key: bytes, record: bytes) -> None:
        base, lru, exp, meta, _ = self._keys(function)
        member = key.hex()
        self._run(
            "remove a corrupt entry",
            lambda client: self._scripts["discard"](
                keys=[lru, exp, meta, f"{base}e:{member}"], args=[base, member, record]
            ),
        )

    # -- statistics and housekeeping ---------------------------------------------------------

    def statistics(self, function: str, version: str, now: float) -> tuple[int, int, int]:
        self.flush()
        base, lru, exp, meta, stats = self._keys(function)
        hits, misses, current = self._run(
            "read statistics",
            lambda client: self._scripts["statistics"](
                keys=[lru, exp, meta, stats], args=[base, version]
            ),
        )
        return int(hits), int(misses), int(current)

    def _function_names(self, client: Any) -> list[str]:
        return sorted(name.decode() for name in client.smembers(self._functions_key()))

    def clear(self, function: str | None = None) -> int:
        self._forget_hits(function)

        def remove(client: Any) -> int:
            names = self._function_names(client) if function is None else [function]
            removed = 0
            for name in names:
                base, lru, exp, meta, stats = self._keys(name)
                removed += self._scripts["clear"](
                    keys=[lru, exp, meta, stats, self._functions_key()], args=[base, name]
                )
            return removed

        return self._run("clear", remove)

    def functions(self) -> list[FunctionSummary]:
        def read(client: Any) -> list[FunctionSummary]:
            summaries = []
            for name in self._function_names(client):
                base, lru, exp, meta, stats = self._keys(name)
                entries, size, hits, misses, versions, oldest, newest = self._scripts["summary"](
                    keys=[lru, exp, meta, stats], args=[base]
                )
                summaries.append(
                    FunctionSummary(
                        function=name,
                        entries=int(entries),
                        bytes=int(size),
                        hits=int(hits),
                        misses=int(misses),
                        versions=int(versions),
                        oldest=float(oldest) / 1000 if oldest else None,
                        newest=float(newest) / 1000 if newest else None,
                    )
                )
            return summaries

        return self._run("list functions", read)

    def summary(self) -> dict[str, Any]:
        summaries = self.functions()

        def server(client: Any) -> dict[str, Any]:
            return client.info("server") | client.info("memory")

        details = self._run("describe the server", server)
        return {
            "store": "redis",
            "location": self.describe(),
            "server_version": details.get("redis_version"),
            "server_memory_bytes": details.get("used_memory"),
            "functions": len(summaries),
            "entries": sum(s.entries for s in summaries),
            "bytes": sum(s.bytes for s in summaries),
        }

    def ping(self) -> float:
        """Seconds one round trip to the server takes (a connection check)."""
        start = time.perf_counter()
        self._run("ping", lambda client: client.ping())
        return time.perf_counter() - start

    def _after_fork(self) -> None:
        super()._after_fork()
        self._client_lock = threading.Lock()  # redis-py's pool reconnects in the child itself
        self._local = threading.local()  # the parent's sockets are not this process's


def _rebuild(url: str, options: dict[str, Any]) -> RedisStore:
    return RedisStore(url, **options)
