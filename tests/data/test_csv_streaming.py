"""The CSV loader reads the file as the csv module does, in blocks, without changing any value."""

from __future__ import annotations

import csv
import io
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memograd import data
from memograd.data import DataError


def loader_module():
    from memograd.data import csv_loader  # imported here so that the file runs on older code

    return csv_loader


def test_a_quoted_label_keeps_its_line_break(tmp_path):
    (tmp_path / "q.csv").write_text('a,label\n1,"two\nlines"\n2,"z"\n', newline="")
    ds = data.load_csv(tmp_path / "q.csv")
    assert ds.y.tolist() == ["two\nlines", "z"]
    np.testing.assert_array_equal(ds.X, [[1.0], [2.0]])


def test_a_line_separator_inside_a_quoted_field_does_not_split_the_row(tmp_path):
    (tmp_path / "u.csv").write_text('a,label\n1,"x\u2028y"\n2,"z\u2029\x85w"\n', newline="")
    ds = data.load_csv(tmp_path / "u.csv")
    assert ds.y.tolist() == ["x\u2028y", "z\u2029\x85w"] and len(ds) == 2


def test_underscores_and_non_ascii_digits_are_not_numbers(tmp_path):
    (tmp_path / "n.csv").write_text("a,y\n1_000,1\n")
    with pytest.raises(DataError, match=r"n\.csv: line 2, column 1 \('a'\): '1_000' is not a"):
        data.load_csv(tmp_path / "n.csv")
    (tmp_path / "d.csv").write_text("a,y\n1,0\n\u0663,1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 3, column 1 \('a'\): '\u0663' is not a number"):
        data.load_csv(tmp_path / "d.csv")


def test_latin_1_csv_names_line_and_byte(tmp_path):
    (tmp_path / "l.csv").write_bytes("name,y\n1,0\n2,caf\u00e9\n".encode("latin-1"))
    with pytest.raises(DataError) as info:
        data.load_csv(tmp_path / "l.csv")
    assert str(info.value).startswith(
        f"{tmp_path / 'l.csv'}: line 3, byte 16: not a UTF-8 text file (byte 0xe9"
    )


def test_latin_1_far_into_a_large_file_is_found_exactly(tmp_path):
    rows = [f"{i},{i % 3}" for i in range(200_000)]
    rows[150_000] = "7,caf\u00e9"
    raw = ("x,y\n" + "\n".join(rows) + "\n").encode("latin-1")
    (tmp_path / "big.csv").write_bytes(raw)
    with pytest.raises(DataError) as info:
        data.load_csv(tmp_path / "big.csv")
    offset = raw.index("\u00e9".encode("latin-1"))
    assert f"line 150002, byte {offset}:" in str(info.value)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_line_ending_gives_the_same_table(tmp_path, newline):
    text = newline.join(["a,b,y", "1,2,0", '3,"4",1', "5,6,0", "", ""])
    (tmp_path / "e.csv").write_bytes(text.encode())
    ds = data.load_csv(tmp_path / "e.csv")
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4], [5, 6]])
    assert ds.y.tolist() == [0, 1, 0]


def test_blocks_growth_and_errors_across_block_boundaries(tmp_path, monkeypatch):
    csv_loader = loader_module()
    # Tiny blocks and text reads: every row crosses a boundary somewhere.
    monkeypatch.setattr(csv_loader, "BLOCK_CELLS", 7)
    monkeypatch.setattr(csv_loader, "TEXT_BLOCK_CHARS", 5)
    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(500, 3)), 4)
    lines = [f"{a},{b},{c},{i % 4}" for i, (a, b, c) in enumerate(X)]
    (tmp_path / "g.csv").write_text("a,b,c,y\n" + "\r\n".join(lines) + "\r\n")
    ds = data.load_csv(tmp_path / "g.csv")
    np.testing.assert_array_equal(ds.X, X)
    assert ds.y.tolist() == [i % 4 for i in range(500)]
    lines[321] = '1,"2\nstill the cell",3,0'  # a multi-line row: the line is found by rescanning
    lines[400] = "1,x,3,0"
    (tmp_path / "g.csv").write_text("a,b,c,y\n" + "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 323, column 2 \('b'\): '2\\nstill the cell' is"):
        data.load_csv(tmp_path / "g.csv")
    lines[321] = "1,2,3,0"
    (tmp_path / "g.csv").write_text("a,b,c,y\n" + "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 402, column 2 \('b'\): 'x' is not a number"):
        data.load_csv(tmp_path / "g.csv")


def test_line_numbers_count_the_lines_of_multi_line_rows(tmp_path):
    text = 'a,label\n1,"x\ny\nz"\n2,ok\n3,\n'
    (tmp_path / "m.csv").write_text(text, newline="")
    with pytest.raises(DataError, match=r"m\.csv: line 6, column 2 \('label'\) is empty"):
        data.load_csv(tmp_path / "m.csv")


def test_trailing_blank_lines_across_blocks_are_ignored_but_not_inner_ones(tmp_path, monkeypatch):
    csv_loader = loader_module()
    monkeypatch.setattr(csv_loader, "BLOCK_CELLS", 4)
    (tmp_path / "t.csv").write_text("a,y\n1,0\n2,1\n\n  \n\n\n\n")
    assert data.load_csv(tmp_path / "t.csv").X.tolist() == [[1.0], [2.0]]
    (tmp_path / "t.csv").write_text("a,y\n1,0\n2,1\n\n  \n\n\n\n3,0\n")
    with pytest.raises(DataError, match=r"t\.csv: line 4 is blank inside the data"):
        data.load_csv(tmp_path / "t.csv")


def test_a_file_with_no_line_break_is_refused_not_read_whole(tmp_path, monkeypatch):
    csv_loader = loader_module()
    monkeypatch.setattr(csv_loader, "MAX_LINE_CHARS", 1000)
    monkeypatch.setattr(csv_loader, "TEXT_BLOCK_CHARS", 100)
    (tmp_path / "w.csv").write_text("a,y\n1,0\n" + "9," * 5000)
    with pytest.raises(DataError, match=r"w\.csv: line 3 is longer than 1,000 characters"):
        data.load_csv(tmp_path / "w.csv")


def test_peak_memory_is_the_table_plus_one_block(tmp_path):
    rows, width = 40_000, 20
    values = np.random.default_rng(1).integers(0, 1000, size=(rows, width)) / 8
    buffer = io.StringIO()
    np.savetxt(buffer, values, fmt="%g", delimiter=",")
    header = ",".join(f"c{i}" for i in range(width)) + "\n"
    (tmp_path / "p.csv").write_text(header + buffer.getvalue())
    tracemalloc.start()
    try:
        ds = data.load_csv(tmp_path / "p.csv", target=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(ds.X, values)
    table = ds.X.nbytes  # 6.4 MB; the loader that held every cell as a str took over 50 MB
    assert peak < table + 16 * 2**20, (peak, table)


def test_a_budget_refuses_the_table_before_it_is_allocated(tmp_path):
    from memograd._budget import BudgetExceeded

    (tmp_path / "b.csv").write_text("a,b\n" + "1,2\n" * 10_000)
    with pytest.raises(BudgetExceeded) as info:
        data.load_csv(tmp_path / "b.csv", target=None, budget=50_000)
    assert str(info.value).startswith(f"{tmp_path / 'b.csv'}: about 10,500 rows")
    assert "rows x 2 features as float64 would take" in str(info.value)
    assert "more than the 50 kB budget (force=True lifts it)" in str(info.value)
    assert len(data.load_csv(tmp_path / "b.csv", target=None, budget=50_000, force=True)) == 10_000


# The fast path (NumPy's parser on re-joined cells) must never read a cell differently from
# the definition (cells.parse_number): for any cell, both refuse it or both give the same float.
CELL_TEXT = st.text(
    alphabet=st.sampled_from(list("0123456789.eE+-_ \t,nafiINFx\u0663\u00a0\u2028\r\n\"'")),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELL_TEXT, min_size=2, max_size=2), min_size=1, max_size=4))
def test_fast_path_and_cell_by_cell_definition_agree(rows):
    from memograd.data import cells as cell_syntax

    fast = cell_syntax.parse_rows([",".join(row) for row in rows], 2)
    reference = []
    for row in rows:
        try:
            reference.append([cell_syntax.parse_number(cell) for cell in row])
        except cell_syntax.NotANumber:
            reference = None
            break
    if fast is not None:
        assert reference is not None, rows
        np.testing.assert_array_equal(fast, np.array(reference), err_msg=repr(rows))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=False, allow_infinity=False, width=32),
            st.sampled_from(["cat", "dog", "a,b", 'say "hi"', "x\ny", "7", " 8 "]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_table_written_by_the_csv_module_reads_back_exactly(tmp_path_factory, table):
    path = tmp_path_factory.mktemp("rt") / "rt.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x", "label"])
        writer.writerows([repr(float(x)), label] for x, label in table)
    ds = data.load_csv(path)
    assert ds.X[:, 0].tolist() == [float(x) for x, _ in table]
    labels = [label.strip() for _, label in table]
    if all(label.isdigit() for label in labels):
        assert ds.y.tolist() == [int(label) for label in labels]
    else:
        assert ds.y.tolist() == labels


NUMBER_CELL = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["0", "1", " 2 ", "-0.5", "1e3", "3."]),
)
# Mostly numbers, so that whole blocks go the fast way; sometimes anything quote-free.
ANY_CELL = st.text(alphabet=st.sampled_from(list("0123456789.-e, \tab\u2028\x85")), max_size=4)
QUOTE_FREE_CELL = st.one_of(*[NUMBER_CELL] * 12, ANY_CELL)
QUOTE_FREE_ROW = st.one_of(
    *[st.lists(QUOTE_FREE_CELL, min_size=3, max_size=3)] * 6,
    st.lists(QUOTE_FREE_CELL, min_size=0, max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(QUOTE_FREE_ROW, min_size=1, max_size=12),
    breaks=st.lists(
        st.sampled_from(["\n", "\r\n", "\r", *["\n"] * 8, "\n\n"]), min_size=12, max_size=12
    ),
    target=st.sampled_from([-1, 0, 1, None]),
)
def test_the_fast_way_reads_quote_free_text_exactly_as_the_csv_way(
    tmp_path_factory, monkeypatch_module, rows, breaks, target
):
    csv_loader = loader_module()
    text = "a,b,c\n" + "".join(",".join(row) + end for row, end in zip(rows, breaks))
    path = tmp_path_factory.mktemp("q") / "q.csv"
    path.write_bytes(text.encode())
    fast = outcome(lambda: data.load_csv(path, target=target))
    with monkeypatch_module.context() as patch:
        patch.setattr(csv_loader._Rows, "_parse", lambda self, text: None)
        slow = outcome(lambda: data.load_csv(path, target=target))
    assert type(fast) is type(slow), (text, fast, slow)
    if isinstance(fast, Exception):
        assert str(fast) == str(slow)
    else:
        np.testing.assert_array_equal(fast.X, slow.X)
        assert (fast.y is None and slow.y is None) or fast.y.tolist() == slow.y.tolist()
        assert fast.y is None or fast.y.dtype == slow.y.dtype


def outcome(call):
    try:
        return call()
    except DataError as exc:
        return exc


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_the_fast_way_is_taken_for_a_plain_table_and_not_for_quoted_cells(tmp_path, monkeypatch):
    csv_loader = loader_module()
    ways = []
    parse = csv_loader._Rows._parse

    def spy(self, text):
        result = parse(self, text)
        ways.append(result is not None)
        return result

    monkeypatch.setattr(csv_loader._Rows, "_parse", spy)
    (tmp_path / "plain.csv").write_text("a,b,y\n" + "1,2,x\n" * 10)
    data.load_csv(tmp_path / "plain.csv")
    assert ways == [True]
    ways.clear()
    (tmp_path / "quoted.csv").write_text("a,b,y\n" + '1,2,"x"\n' * 10)
    data.load_csv(tmp_path / "quoted.csv")
    assert ways == [False]
