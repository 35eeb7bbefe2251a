"""Sizes are checked before reading: devices, lying headers, gzip bombs, budgets, bad magic."""

from __future__ import annotations

import gzip
import io
import os
import struct
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

from memograd import _budget, data
from memograd.data import DataError


def idx_header(code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def peak_bytes(call):
    """(result or exception, peak bytes traced while running ``call``)."""
    tracemalloc.start()
    try:
        try:
            outcome = call()
        except Exception as exc:  # noqa: BLE001 - the caller inspects it
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_refused_before_reading():
    for load in (data.load_file, data.load_csv, data.load_npy, data.read_idx):
        with pytest.raises(DataError, match=r"/dev/zero: is a character device, not a regular"):
            load("/dev/zero")


def test_a_pipe_is_refused_before_reading(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(DataError, match=r"fifo: is a pipe, not a regular file"):
        data.load_file(tmp_path / "fifo")


def test_an_npy_header_claiming_more_than_the_file_holds_allocates_nothing(tmp_path):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 10), }"
    header += " " * (63 - len(header) % 64) + "\n"
    raw = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(80)
    (tmp_path / "claim.npy").write_bytes(raw)
    outcome, peak = peak_bytes(lambda: data.load_file(tmp_path / "claim.npy"))
    assert isinstance(outcome, DataError)
    assert str(outcome) == (
        f"{tmp_path / 'claim.npy'}: truncated: its header promises shape (1000000000, 10) of "
        "float64 (80,000,000,000 bytes of data) but only 80 bytes follow"
    )
    assert peak < 2**20


def test_an_npy_bigger_than_the_budget_is_refused_before_reading(tmp_path):
    np.save(tmp_path / "t.npy", np.zeros((1000, 10)))
    with pytest.raises(_budget.BudgetExceeded) as info:
        data.load_file(tmp_path / "t.npy", budget=100_000)
    assert str(info.value) == (
        f"{tmp_path / 't.npy'}: its shape (1000, 10) of float64 read as float64 features would "
        "take 160 kB, more than the 100 kB budget (force=True lifts it)"
    )
    assert data.load_file(tmp_path / "t.npy", budget=100_000, force=True).X.shape == (1000, 9)


def test_available_memory_is_a_hard_limit_that_force_does_not_lift(tmp_path, monkeypatch):
    np.save(tmp_path / "t.npy", np.zeros((1000, 10)))
    monkeypatch.setattr(_budget, "available_memory", lambda: 50_000)
    with pytest.raises(_budget.BudgetExceeded, match="more than the 50 kB of memory available"):
        data.load_file(tmp_path / "t.npy", force=True)


def test_an_npz_member_lying_about_its_size_is_refused_before_unpacking(tmp_path):
    buffer = io.BytesIO()
    np.save(buffer, np.ones((4, 2)))
    member = buffer.getvalue().replace(b"'shape': (4, 2)", b"'shape': (9, 2)")
    with zipfile.ZipFile(tmp_path / "lie.npz", "w") as archive:
        archive.writestr("X.npy", member)
    with pytest.raises(DataError) as info:
        data.load_file(tmp_path / "lie.npz", target=None)
    assert str(info.value) == (
        f"{tmp_path / 'lie.npz'}['X']: truncated: its header promises shape (9, 2) of float64 "
        "(144 bytes of data) but only 64 bytes follow"
    )


def test_a_gzip_idx_bomb_is_refused_before_decompressing(tmp_path):
    # 4 GB of zeros in about 4 MB: gzip allows many members in one file, so one compressed
    # 64 MB member of zeros is repeated. The header is honest; the size is the problem.
    zeros = gzip.compress(bytes(64 * 2**20))
    bomb = gzip.compress(idx_header(0x08, (1_000_000, 64, 64))) + zeros * 61
    bomb += gzip.compress(bytes(4_096_000_000 - 61 * 64 * 2**20))
    (tmp_path / "bomb-images-idx3-ubyte.gz").write_bytes(bomb)
    assert len(bomb) < 5 * 2**20
    outcome, peak = peak_bytes(lambda: data.load_file(tmp_path / "bomb-images-idx3-ubyte.gz"))
    assert isinstance(outcome, _budget.BudgetExceeded), outcome
    assert str(outcome).startswith(
        f"{tmp_path / 'bomb-images-idx3-ubyte.gz'}: its uint8 array of shape (1000000, 64, 64) "
        "read as float64 would take 37 GB, more than the"
    )
    assert peak < 2**20


def test_a_gzip_idx_header_claiming_more_than_deflate_can_hold_is_refused(tmp_path):
    raw = gzip.compress(idx_header(0x08, (60000, 28, 28)) + bytes(100))
    (tmp_path / "short.gz").write_bytes(raw)
    with pytest.raises(DataError, match=r"to 47,040,000 values \(47 MB\), more than a file of"):
        data.read_idx(tmp_path / "short.gz")


def test_a_gzip_idx_that_ends_early_says_how_much_data_there_is(tmp_path):
    (tmp_path / "cut.gz").write_bytes(gzip.compress(idx_header(0x08, (10, 4, 4)) + bytes(150)))
    with pytest.raises(DataError, match=r"\(160 bytes of data\) but only 150 bytes follow"):
        data.read_idx(tmp_path / "cut.gz")
    (tmp_path / "long.gz").write_bytes(gzip.compress(idx_header(0x08, (10, 4, 4)) + bytes(170)))
    with pytest.raises(DataError, match=r"more bytes after the 160 bytes of data"):
        data.read_idx(tmp_path / "long.gz")


def test_idx_dimensions_whose_product_overflows_are_named(tmp_path):
    # (2**32 - 1)**2 * 2 = 2**65 - ..., which wraps around in int64 arithmetic.
    raw = idx_header(0x08, (2**32 - 1, 2**32 - 1, 2)) + bytes(16)
    (tmp_path / "wrap-images-idx3-ubyte").write_bytes(raw)
    with pytest.raises(DataError) as info:
        data.load_file(tmp_path / "wrap-images-idx3-ubyte")
    assert str(info.value).startswith(
        f"{tmp_path / 'wrap-images-idx3-ubyte'}: header bytes 4-15: dimensions (4294967295, "
        "4294967295, 2) multiply to 36,893,488,130,239,234,050 values"
    )


def test_a_bad_idx_magic_number_is_reported_as_idx_not_parsed_as_csv(tmp_path):
    (tmp_path / "odd-images-idx3-ubyte").write_bytes(bytes([0, 0, 0x07, 3]) + bytes(20))
    with pytest.raises(DataError) as info:
        data.load_file(tmp_path / "odd-images-idx3-ubyte")
    assert str(info.value) == (
        f"{tmp_path / 'odd-images-idx3-ubyte'}: not an IDX file (bad magic number 00000703 in "
        "bytes 0-3: type code 0x07 is not one of 08, 09, 0b, 0c, 0d, 0e)"
    )


def test_other_binary_data_is_refused_not_parsed_as_csv(tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"ab,c\n\x01\x00\x02")
    with pytest.raises(DataError, match=r"blob\.bin: binary data \(a zero byte at offset 6\)"):
        data.load_file(tmp_path / "blob.bin")


def test_format_bytes_and_available_memory():
    assert _budget.readable_bytes(999) == "999 bytes"
    assert _budget.readable_bytes(1536) == "1.5 kB"
    assert _budget.readable_bytes(80 * 10**9) == "80 GB"
    available = _budget.available_memory()
    assert available is None or available > 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs resource limits (Unix)")
def test_available_memory_respects_the_address_space_limit():
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 * 10**9, resource.RLIM_INFINITY))\n"
        "from memograd import _budget as budget\n"
        "print(budget.available_memory())\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert 0 < int(out.stdout) < 3 * 10**9
