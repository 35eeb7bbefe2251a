"""The arguments of Tensor methods, read and checked once: dims, shapes, sizes, split sections.

Two spellings meet here. PyTorch's (``dim=``, ``keepdim=``, ``transpose(0, 1)`` swapping two
dims, ``squeeze(1)`` a no-op on a dim that is not 1) and NumPy's (``axis=``, ``keepdims=``,
``transpose(axes)`` a permutation). Each method takes both where they mean the same, and these
functions turn what the caller wrote into plain tuples of non-negative ints, or raise an error
that names the method, the value and what was expected. Pure functions of shapes: no Tensor here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from memograd.engine.ops import normalize_axes


def is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def reduction_axes(name: str, ndim: int, dim: Any, axis: Any) -> tuple[int, ...]:
    """``dim`` (PyTorch) or ``axis`` (NumPy): an int, a tuple of ints, or None for every dim,
    as sorted non-negative axes. Giving both is an error."""
    if dim is not None and axis is not None:
        raise TypeError(f"{name}: give dim= or axis=, not both")
    return normalize_axes(dim if axis is None else axis, ndim, name)


def keep(name: str, keepdim: Any, keepdims: Any) -> bool:
    """``keepdim`` (PyTorch) or ``keepdims`` (NumPy)."""
    if keepdims is None:
        return bool(keepdim)
    if keepdim:
        raise TypeError(f"{name}: give keepdim= or keepdims=, not both")
    return bool(keepdims)


def single_dim(name: str, dim: Any, ndim: int) -> int:
    """One dim in [-ndim, ndim) as a non-negative int (a 0-d tensor accepts 0 and -1)."""
    if not is_int(dim):
        raise TypeError(f"{name}: dim must be an int, got {dim!r}")
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise IndexError(
            f"{name}: dim {dim} is out of range for a tensor with {ndim} dimensions "
            f"(expected {-bound} to {bound - 1})"
        )
    return int(dim) % bound


def shape_arguments(name: str, args: tuple[Any, ...]) -> tuple[int, ...]:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all as ``(2, 3)``, ints checked."""
    if len(args) == 1 and isinstance(args[0], tuple | list):
        args = tuple(args[0])
    for n in args:
        if not is_int(n):
            raise TypeError(f"{name}: sizes must be ints, got {tuple(args)!r}")
    return tuple(int(n) for n in args)


def checked_reshape(name: str, shape: tuple[int, ...], new_shape: Sequence[Any]) -> tuple[int, ...]:
    """``new_shape`` (one -1 allowed) for ``shape``'s elements, resolved, or a clear error."""
    new_shape = shape_arguments(name, tuple(new_shape))
    try:
        return np.empty(shape, dtype=np.bool_).reshape(new_shape).shape
    except ValueError:
        size = math.prod(shape)
        raise ValueError(
            f"{name}: cannot reshape a tensor of shape {shape} ({size} elements) into {new_shape}"
        ) from None


def transpose_axes(args: tuple[Any, ...], ndim: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The permutation ``transpose`` means, as PyTorch and NumPy read its arguments.

    Exactly two ints: PyTorch's ``transpose(dim0, dim1)``, the two dims swapped (for a 2-D tensor
    ``transpose(0, 1)`` is the matrix transpose, as in PyTorch; NumPy would read it as the
    identity). One tuple or list, or any other number of ints: NumPy's permutation of all axes.
    No arguments: all axes reversed (NumPy's ``.T``).
    """
    if len(args) == 2 and is_int(args[0]) and is_int(args[1]):
        first = single_dim("transpose", args[0], ndim)
        second = single_dim("transpose", args[1], ndim)
        order = list(range(ndim))
        if ndim:
            order[first], order[second] = order[second], order[first]
        return tuple(order)
    if len(args) == 1 and isinstance(args[0], tuple | list):
        args = tuple(args[0])
    if not args:
        return tuple(range(ndim - 1, -1, -1))
    return permutation("transpose", args, ndim, shape)


def permutation(name: str, axes: tuple[Any, ...], ndim: int, shape: tuple[int, ...]) -> tuple:
    if len(axes) == 1 and isinstance(axes[0], tuple | list):
        axes = tuple(axes[0])
    if (
        len(axes) != ndim
        or not all(is_int(a) and -max(ndim, 1) <= a < max(ndim, 1) for a in axes)
        or sorted(a % ndim if ndim else a for a in axes) != list(range(ndim))
    ):
        raise ValueError(
            f"{name}: axes {axes} are not a permutation of the {ndim} axes of a tensor "
            f"of shape {shape}"
        )
    return tuple(int(a) % ndim for a in axes) if ndim else ()


def unsqueezed(shape: tuple[int, ...], dim: Any) -> tuple[int, ...]:
    """``shape`` with a new axis of size 1 at ``dim`` (in [-ndim-1, ndim], as PyTorch)."""
    if not is_int(dim):
        raise TypeError(f"unsqueeze: dim must be an int, got {dim!r}")
    ndim = len(shape)
    if not -ndim - 1 <= dim <= ndim:
        raise IndexError(
            f"unsqueeze: dim {dim} is out of range for a tensor with {ndim} dimensions "
            f"(expected {-ndim - 1} to {ndim})"
        )
    dim = int(dim) % (ndim + 1)
    return (*shape[:dim], 1, *shape[dim:])


def squeezed(shape: tuple[int, ...], dim: Any) -> tuple[int, ...]:
    """``shape`` without its size-1 axes (all, or those among ``dim``); PyTorch's rule: a named
    dim whose size is not 1 is kept, not an error."""
    if dim is None:
        return tuple(n for n in shape if n != 1)
    dims = dim if isinstance(dim, tuple | list) else (dim,)
    chosen = {single_dim("squeeze", d, len(shape)) for d in dims}
    return tuple(n for i, n in enumerate(shape) if not (i in chosen and n == 1))


def flattened(shape: tuple[int, ...], start_dim: Any, end_dim: Any) -> tuple[int, ...]:
    """``shape`` with the dims from ``start_dim`` to ``end_dim`` (inclusive) merged into one."""
    if not shape:
        return (1,)
    start = single_dim("flatten", start_dim, len(shape))
    end = single_dim("flatten", end_dim, len(shape))
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    return (*shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :])


def expanded(shape: tuple[int, ...], sizes: tuple[int, ...]) -> tuple[int, ...]:
    """PyTorch's ``expand``: -1 keeps a dim, a size-1 dim may grow, new dims go in front."""
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise ValueError(
            f"expand: {len(sizes)} sizes given for a tensor with {len(shape)} dimensions "
            f"(shape {shape}); give at least one size per dimension"
        )
    out = []
    for i, size in enumerate(sizes):
        if i < lead:
            if size < 0:
                raise ValueError(f"expand: the new leading dim {i} cannot be -1 (sizes {sizes})")
            out.append(size)
            continue
        current = shape[i - lead]
        if size == -1 or size == current:
            out.append(current)
        elif current == 1 and size >= 0:
            out.append(size)
        else:
            raise ValueError(
                f"expand: dim {i} of size {current} cannot be expanded to {size} "
                f"(shape {shape}, sizes {sizes}); only size-1 dims grow"
            )
    return tuple(out)


def repeat_shapes(
    shape: tuple[int, ...], repeats: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """PyTorch's ``repeat`` (NumPy's ``tile``) as reshape -> broadcast -> reshape: the shape
    with a size-1 axis before each dim, that shape broadcast, and the result's shape."""
    if len(repeats) < len(shape):
        raise ValueError(
            f"repeat: {len(repeats)} repeat counts for a tensor with {len(shape)} dimensions; "
            "give at least one per dimension"
        )
    if any(r < 0 for r in repeats):
        raise ValueError(f"repeat: repeat counts must be >= 0, got {repeats}")
    full = (1,) * (len(repeats) - len(shape)) + shape
    spaced = tuple(n for size in full for n in (1, size))
    stretched = tuple(n for r, size in zip(repeats, full, strict=True) for n in (r, size))
    return spaced, stretched, tuple(r * size for r, size in zip(repeats, full, strict=True))


def split_sections(name: str, length: int, split: Any) -> list[tuple[int, int]]:
    """(start, stop) of each piece: ``split`` an int (pieces of that size, the last smaller) or
    a list of sizes adding up to ``length``."""
    if is_int(split):
        if split <= 0:
            raise ValueError(f"{name}: the piece size must be positive, got {split}")
        starts = range(0, max(length, 1), int(split))
        return [(s, min(s + int(split), length)) for s in starts]
    if not isinstance(split, tuple | list) or not all(is_int(n) and n >= 0 for n in split):
        raise TypeError(f"{name}: expected an int or a list of sizes, got {split!r}")
    if sum(split) != length:
        raise ValueError(
            f"{name}: sizes {list(split)} add up to {sum(split)}, but the dim has length {length}"
        )
    bounds = np.cumsum([0, *split])
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def chunk_size(length: int, chunks: Any) -> int:
    """PyTorch's ``chunk``: pieces of ceil(length / chunks) (so there may be fewer pieces)."""
    if not is_int(chunks) or chunks <= 0:
        raise ValueError(f"chunk: the number of chunks must be a positive int, got {chunks!r}")
    return max(math.ceil(length / int(chunks)), 1)
