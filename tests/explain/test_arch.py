"""Architecture strings and parameter names: what parses, and what each error says."""

import pytest

from memograd.explain import Architecture, ParamRef, parse_arch, parse_param


def test_parse_arch_reads_layer_sizes_input_first():
    arch = parse_arch("2-2-2-1")
    assert arch.sizes == (2, 2, 2, 1)
    assert arch.depth == 3
    assert arch.outputs == 1
    assert arch.text == "2-2-2-1"
    assert parse_arch([3, 5, 1]) == Architecture((3, 5, 1))


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("2-x-1", "layer 1 is 'x'"),
        ("0-2-1", "layer 0 has size 0"),
        ("2-2-0", "layer 2 has size 0"),
        ("3", "at least two"),
        ("2--1", "layer 1 is ''"),
        ("", "layer 0 is ''"),
    ],
)
def test_parse_arch_rejects_bad_specs_naming_the_piece(spec, fragment):
    with pytest.raises(ValueError, match="architecture") as info:
        parse_arch(spec)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("W1_11", ParamRef("W", 1, 1, source=1)),
        ("W2_12", ParamRef("W", 2, 2, source=1)),
        ("W1_1_1", ParamRef("W", 1, 1, source=1)),
        ("W^1_21", ParamRef("W", 1, 1, source=2)),
        ("b2_1", ParamRef("b", 2, 1)),
        ("b^3_1", ParamRef("b", 3, 1)),
        ("O1_1", ParamRef("O", 1, 1)),
        ("O11", ParamRef("O", 1, 1)),
        ("O_22", ParamRef("O", 2, 2)),
        ("O3_1", ParamRef("O", 3, 1)),
    ],
)
def test_parse_param_reads_every_spelling_of_the_notes(text, expected):
    assert parse_param(text, "2-2-2-1") == expected


def test_separated_indices_reach_multi_digit_units_and_layers():
    arch = [4] * 13 + [10, 1]  # layers 0..12 have 4 units, layer 13 has 10
    assert parse_param("W13_3_10", arch) == ParamRef("W", 13, 10, source=3)
    ref = parse_param("W12_3_4", arch)
    assert (ref.layer, ref.source, ref.unit) == (12, 3, 4)
    assert ref.name == "W12_3_4" and ref.short_name == "W12_34"
    assert parse_param("W13_3_10", arch).short_name == "W13_3_10"


def test_parameter_out_of_range_names_the_valid_ranges():
    with pytest.raises(ValueError) as info:
        parse_param("W2_31", "2-2-2-1")
    message = str(info.value)
    assert "i in 1..2" in message and "j in 1..2" in message and "got i = 3" in message
    with pytest.raises(ValueError, match=r"layers k = 1\.\.3, not k = 4"):
        parse_param("W4_11", "2-2-2-1")
    with pytest.raises(ValueError, match=r"layers k = 1\.\.3, not k = 0"):
        parse_param("b0_1", "2-2-2-1")
    with pytest.raises(ValueError, match=r"units j = 1\.\.1, not j = 2"):
        parse_param("O3_2", "2-2-2-1")


def test_unreadable_and_ambiguous_names_say_what_is_expected():
    with pytest.raises(ValueError, match="expected a name like W1_11"):
        parse_param("weight", "2-2-2-1")
    with pytest.raises(ValueError, match="ambiguous"):
        parse_param("W1_111", "2-12-1")


def test_a_ready_reference_is_range_checked_too():
    assert parse_param(ParamRef("b", 2, 1), "2-2-2-1") == ParamRef("b", 2, 1)
    with pytest.raises(ValueError, match=r"i in 1\.\.2"):
        parse_param(ParamRef("W", 1, 1, source=3), "2-2-2-1")
