"""``TensorDataset`` and ``DataLoader``: torch.utils.data's minibatch loop, yielding Tensors.

``for xb, yb in DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True): ...`` works as in
torch: each batch is what :func:`default_collate` makes of the samples ``dataset[i]`` (a list
``[X_batch, y_batch]`` for a dataset of ``(x, y)`` pairs), ``len(loader)`` is the number of
batches, the last smaller batch is kept unless ``drop_last=True``, and any object with
``__len__`` and ``__getitem__`` is a dataset. A shuffled loader draws a new order at the start
of every pass: from ``generator`` when given (a NumPy Generator, or an int seed), else from
memograd's global generator, so ``mg.manual_seed(0)`` before the loop repeats a run (the
orders are not torch's: the generators differ).

Batches are new arrays: changing one in place never reaches the dataset. A ``TensorDataset``
with the default collate is batched by one fancy index per tensor rather than row by row
(the same result, ``batch_size`` times fewer Python calls).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Mapping, MutableMapping, MutableSequence, Sequence
from typing import Any

import numpy as np

from memograd.data.dataset import Dataset
from memograd.engine.tensor import Tensor, from_numpy, stack
from memograd.seeding import Seed, generator, global_generator

__all__ = ["DataLoader", "TensorDataset", "default_collate", "default_convert"]

COLLATE_TYPES = "tensors, numpy arrays, numbers, dicts or lists"


class TensorDataset:
    """Samples are the rows of tensors of equal length: ``dataset[i] = (X[i], y[i])``.

    NumPy arrays are accepted and shared, not copied (as ``torch.from_numpy`` would).
    """

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        converted = []
        for index, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = from_numpy(t)
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {index} is a {type(t).__name__}, expected a "
                    "Tensor or a NumPy array"
                )
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {index} is 0-dimensional; it has no rows")
            converted.append(t)
        rows = [t.shape[0] for t in converted]
        if len(set(rows)) != 1:
            raise ValueError(
                "TensorDataset: the tensors have different numbers of rows "
                + ", ".join(f"{n} (tensor {i})" for i, n in enumerate(rows))
            )
        self.tensors = tuple(converted)

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _batch(self, indices: np.ndarray) -> list[Tensor]:
        """``default_collate([self[i] for i in indices])``, by one index per tensor."""
        return [
            t[indices] if t.requires_grad else from_numpy(t.data[indices]) for t in self.tensors
        ]

    def __repr__(self) -> str:
        shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
        return f"TensorDataset({len(self)} rows: {shapes})"


class DataLoader:
    """``DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None,
    generator=None)``: iterate to get the batches of one pass (one epoch).

    ``batch_size=None`` yields the samples one by one, unbatched (converted by
    :func:`default_convert`). ``num_workers`` and ``pin_memory`` are accepted so that torch code
    runs unchanged; memograd loads in this process (the batches are the same), on the CPU.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        *,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        drop_last: bool = False,
        generator: Seed = None,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            hint = (
                "; a loaded data set unpacks as X, y: pass TensorDataset(X, y)"
                if isinstance(dataset, Dataset)
                else ""
            )
            raise TypeError(
                f"DataLoader: the dataset ({type(dataset).__name__}) must have __len__ and "
                f"__getitem__ (iterable-style datasets are not supported){hint}"
            )
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer)
        ):
            raise TypeError(f"DataLoader: batch_size must be an int or None, got {batch_size!r}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        for name, flag in (
            ("shuffle", shuffle),
            ("drop_last", drop_last),
            ("pin_memory", pin_memory),
        ):
            if flag is not None and not isinstance(flag, bool):
                raise TypeError(f"DataLoader: {name} must be True or False, got {flag!r}")
        if batch_size is None and drop_last:
            raise ValueError(
                "DataLoader: batch_size=None (no batching) and drop_last=True cannot be combined"
            )
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be a function, got {collate_fn!r}")
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = drop_last
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.collate_fn = collate_fn or (
            default_collate if batch_size is not None else default_convert
        )
        # An int seed becomes one Generator now: each pass draws a new order, runs repeat.
        self.generator = None if generator is None else _generator(generator)

    def __len__(self) -> int:
        rows = len(self.dataset)
        if self.batch_size is None:
            return rows
        if self.drop_last:
            return rows // self.batch_size
        return math.ceil(rows / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        rows = len(self.dataset)
        if self.shuffle:
            rng = self.generator if self.generator is not None else global_generator()
            order = rng.permutation(rows)
        else:
            order = np.arange(rows)
        if self.batch_size is None:
            for index in order.tolist():
                yield self.collate_fn(self.dataset[index])
            return
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            indices = order[start : start + self.batch_size]
            if fast:
                yield self.dataset._batch(indices)
            elif hasattr(self.dataset, "__getitems__"):
                yield self.collate_fn(self.dataset.__getitems__(indices.tolist()))
            else:
                yield self.collate_fn([self.dataset[i] for i in indices.tolist()])

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, as torch's ``default_collate`` does.

    Tensors and NumPy arrays are stacked along a new first axis into a Tensor; Python floats
    become a float64 Tensor, ints an int64 one (bools a boolean one), NumPy scalars a Tensor
    of their dtype; strings come back as the sequence they came in; dicts, lists and tuples are
    collated field by field (a tuple sample gives a *list* of batches, as in torch).
    """
    if not isinstance(batch, Sequence) or isinstance(batch, str | bytes) or not batch:
        raise TypeError(f"default_collate expects a non-empty list of samples, got {batch!r:.60}")
    elem = batch[0]
    if isinstance(elem, Tensor):
        _same_shapes([t.shape for t in batch])
        return stack(list(batch))
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "SaUO":
            raise TypeError(
                f"default_collate: batch must contain {COLLATE_TYPES}; found {elem.dtype}"
            )
        _same_shapes([np.shape(a) for a in batch])
        return from_numpy(np.stack([np.asarray(a) for a in batch]))
    if isinstance(elem, np.bool_ | np.number):
        return from_numpy(np.array(batch))
    if isinstance(elem, float):
        return from_numpy(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):
        kind = np.bool_ if all(isinstance(b, bool) for b in batch) else np.int64
        return from_numpy(np.array(batch, dtype=kind))
    if isinstance(elem, str | bytes):
        return batch
    if isinstance(elem, Mapping):
        odd = next((i for i, sample in enumerate(batch) if set(sample) != set(elem)), None)
        if odd is not None:
            raise ValueError(
                f"default_collate: sample {odd} has keys {sorted(map(str, batch[odd]))}, "
                f"sample 0 {sorted(map(str, elem))}"
            )
        fields = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        return _rebuilt_mapping(elem, fields)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple keeps its type
        return type(elem)(*(default_collate(field) for field in zip(*batch, strict=True)))
    if isinstance(elem, Sequence):
        sizes = {len(sample) for sample in batch}
        if len(sizes) != 1:
            raise ValueError(
                f"default_collate: the samples have {sorted(sizes)} elements; every sample "
                "must have the same number"
            )
        # Each field is a tuple, and stays one where it is returned as is (strings), as in torch.
        fields = [default_collate(field) for field in zip(*batch, strict=True)]
        if isinstance(elem, tuple):
            return fields
        return _rebuilt_sequence(elem, fields)
    raise TypeError(f"default_collate: batch must contain {COLLATE_TYPES}; found {type(elem)}")


def default_convert(data: Any) -> Any:
    """One unbatched sample with its arrays as Tensors (torch's ``default_convert``)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "SaUO" else from_numpy(data)
    if isinstance(data, np.bool_ | np.number):
        return from_numpy(np.asarray(data))
    if isinstance(data, Mapping):
        return _rebuilt_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        return _rebuilt_sequence(data, [default_convert(d) for d in data])
    return data


def _same_shapes(shapes: list[tuple[int, ...]]) -> None:
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise ValueError(
                f"default_collate: sample 0 has shape {tuple(shapes[0])} but sample {i} "
                f"{tuple(shape)}; a batch needs equal shapes (pad them, or pass collate_fn)"
            )


def _rebuilt_mapping(like: Mapping, fields: dict[Any, Any]) -> Mapping:
    """``fields`` in a mapping of ``like``'s type where that type allows it, else a dict."""
    try:
        if isinstance(like, MutableMapping):
            clone = copy.copy(like)
            clone.update(fields)
            return clone
        return type(like)(fields)
    except TypeError:
        return fields


def _rebuilt_sequence(like: Sequence, fields: list[Any]) -> Sequence:
    try:
        if isinstance(like, MutableSequence):
            clone = copy.copy(like)
            for i, value in enumerate(fields):
                clone[i] = value
            return clone
        return type(like)(fields)
    except TypeError:
        return fields


def _generator(seed: Any) -> np.random.Generator:
    try:
        return generator(seed)
    except TypeError:
        raise TypeError(
            f"DataLoader: generator must be a numpy.random.Generator or an int seed, got "
            f"{type(seed).__name__}"
        ) from None
