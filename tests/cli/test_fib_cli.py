"""``memograd fib`` as a real process: table, JSON shape, budgets, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from memograd.fibonacci import fib_table

# The console script's own entry point, run by this interpreter (the venv's `memograd`).
ENTRY = "import sys; from memograd.cli import main; sys.exit(main())"


def memograd(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def table_rows(out: str) -> dict[str, list[str]]:
    rows = {}
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0] in ("naive", "memo", "table"):
            rows[cells[0]] = cells[1:]
    return rows


@pytest.fixture
def big_int_text():
    """json.loads of integers over 4300 digits needs the interpreter's cap lifted."""
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    yield
    sys.set_int_max_str_digits(previous)


def test_table_shows_value_calls_closed_form_and_time_for_all_three():
    done = memograd("fib", "20")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    rows = table_rows(done.stdout)
    assert list(rows) == ["naive", "memo", "table"]
    assert [rows[s][0] for s in rows] == ["6,765"] * 3
    # calls measured, then the closed form: 2*F(21) - 1 = 21891, 2*20 - 1 = 39, 20 + 1 = 21
    assert [rows[s][1] for s in rows] == ["21,891", "39", "21"]
    assert rows["naive"][2] == "2·F(n+1) − 1 = 21,891"
    assert all(float(rows[s][3]) >= 0 for s in rows)


def test_json_is_one_document_with_exact_values_and_counts():
    done = memograd("fib", "25", "--json")
    assert done.returncode == 0 and done.stderr == ""
    document = json.loads(done.stdout)  # exactly one document: anything else fails to parse
    assert document["n"] == 25 and document["max_calls"] == 100_000_000 and document["agree"]
    results = {r["strategy"]: r for r in document["results"]}
    assert list(results) == ["naive", "memo", "table"]
    for r in results.values():
        assert set(r) == {
            "strategy",
            "ran",
            "value",
            "digits",
            "calls",
            "closed_form_calls",
            "closed_form",
            "seconds",
            "refused",
        }
        assert r["ran"] is True and r["refused"] is None
        assert r["value"] == 75025 and r["digits"] == 5
        assert r["calls"] == r["closed_form_calls"]
        assert isinstance(r["seconds"], float) and r["seconds"] >= 0
    assert [results[s]["calls"] for s in results] == [242_785, 49, 26]


def test_huge_value_is_elided_in_the_table_but_exact_in_json(big_int_text):
    expected = fib_table(30_000)  # 6270 digits: above Python's default text limit
    table = memograd("fib", "30000", "--strategy", "table")
    assert table.returncode == 0, table.stderr
    shown = table_rows(table.stdout)["table"][0]
    text = str(expected)
    assert shown == f"{text[:20]}…{text[-20:]} (6,270 digits)"
    document = json.loads(memograd("fib", "30000", "--strategy", "memo", "--json").stdout)
    (result,) = document["results"]
    assert result["value"] == expected and result["digits"] == 6270
    assert result["calls"] == 59_999


def test_naive_over_budget_is_refused_in_one_line_stating_the_exact_call_count():
    done = memograd("fib", "100", "--strategy", "naive")
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert "1,146,295,688,027,634,168,201 calls" in lines[0]
    assert "--force" in lines[0] and "100,000,000" in lines[0]


def test_budget_is_adjustable_and_force_runs_anyway():
    refused = memograd("fib", "22", "--strategy", "naive", "--max-calls", "1000")
    assert refused.returncode == 2
    assert "57,313 calls" in refused.stderr and "over the budget of 1,000" in refused.stderr
    forced = memograd(
        "fib", "22", "--strategy", "naive", "--max-calls", "1000", "--force", "--json"
    )
    assert forced.returncode == 0
    (result,) = json.loads(forced.stdout)["results"]
    assert (result["value"], result["calls"]) == (17_711, 57_313)


def test_all_reports_refused_naive_as_skipped_and_runs_the_others():
    done = memograd("fib", "90", "--json")
    assert done.returncode == 0
    naive, memo, table = json.loads(done.stdout)["results"]
    assert naive["ran"] is False and naive["value"] is None and naive["calls"] is None
    assert naive["closed_form_calls"] == 2 * fib_table(91) - 1
    assert "over the budget" in naive["refused"]
    assert memo["value"] == table["value"] == 2_880_067_194_370_816_120
    text = memograd("fib", "90")
    assert text.returncode == 0
    assert table_rows(text.stdout)["naive"][0] == "skipped"
    assert "skipped: fib 90 by naive recursion would take" in text.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fib", "-1"], "expected a number >= 0, got -1"),
        (["fib", "1.5"], "expected a whole number, got '1.5'"),
        (["fib", "ten"], "expected a whole number, got 'ten'"),
        (["fib", "5", "--strategy", "fast"], "invalid choice: 'fast'"),
        (["fib", "5", "--max-calls", "0"], "expected a number >= 1, got 0"),
        (["fib", "2000000"], "N must be at most 1,000,000, got 2,000,000"),
        (["fib"], "required: N"),
        (["fibonacci", "5"], "invalid choice: 'fibonacci'"),
    ],
)
def test_bad_arguments_exit_2_with_one_clear_line(argv, message):
    done = memograd(*argv)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0]
    assert "Traceback" not in done.stderr


def _limited(gigabytes: float):
    """Run the child under ``ulimit -v``: an old build that tried would fail, not swap."""

    def apply() -> None:
        import resource

        limit = int(gigabytes * 10**9)
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))

    return apply


def test_memo_past_the_machines_memory_is_refused_even_with_force():
    # fib 1000000 by memo needs about 46 GB; it used to start and die of MemoryError
    # ("internal error"). The child may use 4 GB, so the estimate passes what it has.
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, "fib", "1000000", "--strategy", "memo", "--force"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited(4),
    )
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        "memograd: error: fib 1,000,000 by memo (a dict holding F(0)..F(1000000)) would need "
        "about 46 GB of memory, more than the "
    )
    assert line.endswith("(--force does not lift this); use --strategy table")


def test_memo_past_the_memory_budget_says_what_it_would_take():
    done = memograd("fib", "150000", "--strategy", "memo")
    assert done.returncode == 2
    assert (
        "fib 150,000 by memo (a dict holding F(0)..F(150000)) would take about 1.1 GB of memory, "
        "over the budget of 1 GB; --force runs it anyway, or use --strategy table"
    ) in done.stderr


def test_table_past_the_work_budget_says_what_it_would_take():
    done = memograd("fib", "300000", "--strategy", "table")
    assert done.returncode == 2
    assert (
        "fib 300,000 by table (two big integers) would take 1,041,666,342 additions of 30-bit "
        "words, over the budget of 500,000,000 additions of 30-bit words; --force runs it anyway"
    ) in done.stderr


def test_naive_past_the_recursion_limit_is_refused_even_with_force():
    # It used to raise RecursionError at once: "internal error", exit 1.
    done = memograd("fib", "5000", "--strategy", "naive", "--force")
    assert done.returncode == 2
    assert "fib 5,000 by naive recursion would nest 5,000 calls deep, past Python's " in (
        done.stderr
    )
    assert "--force does not lift this" in done.stderr


def test_all_reports_every_refusal_as_skipped(big_int_text):
    document = json.loads(memograd("fib", "1000000", "--json").stdout)
    assert [r["ran"] for r in document["results"]] == [False, False, False]
    naive, memo, table = document["results"]
    assert "recursion limit" in naive["refused"]
    assert "46 GB" in memo["refused"] and "additions of 30-bit words" in table["refused"]


def test_a_memory_error_anywhere_is_one_line_and_exit_2(run, monkeypatch):
    import memograd.fibonacci

    def exhausted(n, strategy):
        raise MemoryError

    monkeypatch.setattr(memograd.fibonacci, "fib_count", exhausted)
    status, out, err = run("fib", "30", "--strategy", "table")
    assert status == 2 and out == ""
    (line,) = err.splitlines()
    assert line.startswith("memograd: error: ran out of memory: the sizes asked for need more")
    assert line.endswith("; ask for smaller ones") and "internal error" not in line
