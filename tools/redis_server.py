"""Development-only: a real redis-server on a free loopback port, stopped afterwards.

The distribution's ``redis-server`` (Debian's package; CI installs it from .ci/run), listening on
127.0.0.1 only, with persistence off and its files in a temporary directory. The Redis store's
tests (the session fixture in tests/conftest.py) and the store benchmark
(benchmarks/memoize_stores.py) load this file by path; it is not part of the library.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

MISSING_BINARY = (
    "needs the redis-server binary (Debian's redis-server package: apt-get install redis-server; "
    ".ci/run installs it)"
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """One redis-server process; ``url(db)`` names a database on it."""

    def __init__(self, binary: str) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="memograd-redis-"))
        self.process: subprocess.Popen | None = None
        self.port = 0
        for _ in range(5):  # the free port may be taken between the probe and the start
            self.port = free_port()
            self.process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.directory),
                    "--protected-mode",
                    "yes",
                    "--daemonize",
                    "no",
                    "--loglevel",
                    "warning",
                    "--databases",
                    "16",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait_until_up():
                return
            self.process.kill()
            self.process.wait()
        raise RuntimeError("redis-server did not start on a loopback port")

    def _wait_until_up(self, seconds: float = 10.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_or_skip_reason() -> tuple[RedisServer | None, str]:
    """A running server, or None and the reason the Redis tests are skipped."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None, MISSING_BINARY
    try:
        import redis  # noqa: F401
    except ModuleNotFoundError:
        return None, "needs redis-py (pip install 'memograd[redis]' or 'memograd[test]')"
    return RedisServer(binary), ""
