"""Architecture strings and parameter names in the notes' notation.

An architecture is the list of layer sizes, input first: ``2-2-2-1`` is two inputs, two
hidden layers of two units and one output. Layers are numbered k = 0..K with layer 0
the input, so ``2-2-2-1`` has K = 3 layers of weights.

Names follow the notes: ``W^k_ij`` is the weight from unit i of layer k-1 to unit j of
layer k, ``b^k_j`` the bias of unit j of layer k, ``O_kj`` the output of unit j of layer
k; every index is 1-based. On the command line the superscript is written plainly:
``W1_11`` when both unit indices are single digits, ``W1_1_1`` or ``W12_3_10`` always
(the underscore-separated form is never ambiguous), ``b2_1`` and ``O1_1`` / ``O11``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

ParamKind = Literal["W", "b", "O"]


@dataclass(frozen=True)
class Architecture:
    """Layer sizes of a fully connected network, input first (``sizes[0]`` is layer 0)."""

    sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.sizes) < 2:
            raise ValueError(
                f"architecture {self.text!r} has {len(self.sizes)} layer size(s); expected at "
                "least two (the input and the output), e.g. 2-2-2-1"
            )
        for position, size in enumerate(self.sizes):
            if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                raise ValueError(
                    f"architecture {self.text!r}: layer {position} has size {size!r}; "
                    "every layer needs a whole number of units >= 1"
                )

    @property
    def text(self) -> str:
        """The architecture as the notes write it, e.g. ``2-2-2-1``."""
        return "-".join(str(size) for size in self.sizes)

    @property
    def depth(self) -> int:
        """K, the number of layers that have weights (the input layer 0 has none)."""
        return len(self.sizes) - 1

    @property
    def outputs(self) -> int:
        """Number of output units (the size of layer K)."""
        return self.sizes[-1]

    def width(self, layer: int) -> int:
        """Number of units in ``layer`` (0 is the input, K the output)."""
        if not 0 <= layer <= self.depth:
            raise ValueError(f"layer {layer} is not in {self.text}; layers are 0..{self.depth}")
        return self.sizes[layer]

    def __str__(self) -> str:
        return self.text


def parse_arch(spec: str | Sequence[int] | Architecture) -> Architecture:
    """Parse ``"2-2-2-1"`` (or a sequence of sizes) into an :class:`Architecture`.

    Raises ValueError naming the offending piece, e.g. ``2-x-1`` or ``0-2-1``.
    """
    if isinstance(spec, Architecture):
        return spec
    if isinstance(spec, str):
        pieces = spec.strip().split("-")
        sizes = []
        for position, piece in enumerate(pieces):
            if not piece.strip().isdigit():
                raise ValueError(
                    f"architecture {spec!r}: layer {position} is {piece!r}, not a whole number; "
                    "expected layer sizes joined by '-', input first, e.g. 2-2-2-1"
                )
            sizes.append(int(piece))
        return Architecture(tuple(sizes))
    if isinstance(spec, Sequence):
        return Architecture(tuple(spec))
    raise TypeError(
        f"expected an architecture like '2-2-2-1' or a list of layer sizes, got {spec!r}"
    )


@dataclass(frozen=True)
class ParamRef:
    """A quantity whose chain-rule paths to the loss we explain.

    ``kind`` is ``"W"`` (weight W^k_ij), ``"b"`` (bias b^k_j) or ``"O"`` (unit output O_kj).
    ``source`` is i (the unit of layer k-1 a weight comes from) and is ``None`` for biases
    and unit outputs; ``unit`` is j. All indices are 1-based, as in the notes.
    """

    kind: ParamKind
    layer: int
    unit: int
    source: int | None = None

    @property
    def name(self) -> str:
        """The unambiguous command-line name: ``W1_1_1``, ``b2_1``, ``O1_1``."""
        if self.kind == "W":
            return f"W{self.layer}_{self.source}_{self.unit}"
        return f"{self.kind}{self.layer}_{self.unit}"

    @property
    def short_name(self) -> str:
        """The notes' compact name when every index is one digit (``W1_11``), else :attr:`name`."""
        if self.kind == "W" and self.source is not None and self.source < 10 and self.unit < 10:
            return f"W{self.layer}_{self.source}{self.unit}"
        return self.name


_PATTERNS: tuple[tuple[ParamKind, re.Pattern[str], bool], ...] = (
    # (kind, pattern, has a source index). The separated form is tried first: it is
    # never ambiguous. The compact forms accept exactly two single-digit indices.
    ("W", re.compile(r"W\^?(\d+)_(\d+)_(\d+)"), True),
    ("W", re.compile(r"W\^?(\d+)_(\d)(\d)"), True),
    ("b", re.compile(r"b\^?(\d+)_(\d+)"), False),
    ("O", re.compile(r"O_?(\d+)_(\d+)"), False),
    ("O", re.compile(r"O_?(\d)(\d)"), False),
)

_EXAMPLES = "W1_11, W1_1_1, W12_3_10, b2_1, O1_1 or O11"


def parse_param(text: str | ParamRef, arch: Architecture | str | Sequence[int]) -> ParamRef:
    """Parse a parameter or unit name and check it exists in ``arch``.

    A :class:`ParamRef` is accepted too, and only checked.

    Raises ValueError that names the valid ranges for this network when an index is out
    of range, and the accepted spellings when the name cannot be read at all.
    """
    arch = parse_arch(arch)
    if isinstance(text, ParamRef):
        _check_in_range(text, text.name, arch)
        return text
    if not isinstance(text, str):
        raise TypeError(f"expected a parameter name like {_EXAMPLES}, got {text!r}")
    cleaned = text.strip()
    for kind, pattern, has_source in _PATTERNS:
        match = pattern.fullmatch(cleaned)
        if match is None:
            continue
        numbers = [int(group) for group in match.groups()]
        if has_source:
            ref = ParamRef(kind, numbers[0], numbers[2], source=numbers[1])
        else:
            ref = ParamRef(kind, numbers[0], numbers[1])
        _check_in_range(ref, text, arch)
        return ref
    if re.fullmatch(r"W\^?\d+_\d{3,}", cleaned):
        raise ValueError(
            f"parameter {text!r} is ambiguous: with more than two digits after the layer, "
            "separate the unit indices, e.g. W1_1_11 or W1_11_1"
        )
    raise ValueError(f"cannot read parameter {text!r}; expected a name like {_EXAMPLES}")


def _check_in_range(ref: ParamRef, text: str, arch: Architecture) -> None:
    depth = arch.depth
    if ref.kind == "W":
        if not 1 <= ref.layer <= depth:
            raise ValueError(
                f"parameter {text!r}: {arch.text} has weights W^k_ij for layers k = 1..{depth}, "
                f"not k = {ref.layer}"
            )
        inputs, outputs = arch.sizes[ref.layer - 1], arch.sizes[ref.layer]
        assert ref.source is not None
        if not (1 <= ref.source <= inputs and 1 <= ref.unit <= outputs):
            raise ValueError(
                f"parameter {text!r}: in {arch.text}, W^{ref.layer}_ij needs i in 1..{inputs} "
                f"(units of layer {ref.layer - 1}) and j in 1..{outputs} (units of layer "
                f"{ref.layer}); got i = {ref.source}, j = {ref.unit}"
            )
        return
    symbol = "b^k_j" if ref.kind == "b" else "O_kj"
    if not 1 <= ref.layer <= depth:
        raise ValueError(
            f"parameter {text!r}: {arch.text} has {symbol} for layers k = 1..{depth}, "
            f"not k = {ref.layer}"
        )
    units = arch.sizes[ref.layer]
    if not 1 <= ref.unit <= units:
        raise ValueError(
            f"parameter {text!r}: layer {ref.layer} of {arch.text} has units j = 1..{units}, "
            f"not j = {ref.unit}"
        )
