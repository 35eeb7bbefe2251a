"""``mg.save`` and ``mg.load``: torch.save's surface on memograd's safe file format.

``mg.save(obj, path)`` writes a Tensor, a NumPy array, a number, a string, None, or dicts,
lists and tuples of these, nested (a model's ``state_dict()``, an optimizer's or a schedule's,
a checkpoint dict with the epoch and the loss), as one file; ``mg.load(path)`` gives back the
same structure: Tensors (with their ``requires_grad``) and arrays of the same dtype and shape,
NumPy scalars as NumPy scalars, dict keys as they were (the optimizer's integer keys stay
integers), tuples as tuples. An object that appears twice (one Tensor under two names) comes
back as one object.

Why not pickle, as torch.save does: unpickling runs whatever code the file names, so a file
from anywhere could do anything when loaded (torch now loads with ``weights_only=True`` by
default for that reason). Here the file is an .npz of plain arrays whose ``__memograd__`` entry
is a JSON header describing the structure (:mod:`memograd.nn.npz_archive`, shared with model
files): loading never imports or calls anything named by the file, and every array is checked
against the header, and their total against a memory budget, before any is read. So
``mg.save`` refuses anything else (a function, a custom object) at once, naming where it sits,
rather than writing a file that cannot be read back.

The arrays are stored uncompressed, as torch stores tensors: compressing floating-point weights
saves a few percent at many times the cost. ``mg.save(model, path)`` of a whole Module writes a
model file (architecture and weights, :func:`memograd.nn.save`), and ``mg.load`` returns the
model; that is the one place a Module may appear.

This module sits above ``nn`` (it dispatches model files to :mod:`memograd.nn.serialization`)
and is re-exported by the root package as ``mg.save`` / ``mg.load``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from memograd._budget import DATA_MEMORY_BUDGET, BudgetExceeded, check_memory
from memograd.engine.tensor import Tensor, from_numpy
from memograd.nn import serialization
from memograd.nn.model_file import ALLOWED_KINDS
from memograd.nn.model_header import check_arrays
from memograd.nn.module import Module
from memograd.nn.npz_archive import (
    MAX_DEPTH,
    MAX_DIGITS,
    ModelFileError,
    check_entries,
    check_only_listed,
    check_version,
    open_archive,
    read_entry,
    shown,
    write_archive,
)

__all__ = ["load", "save"]

FORMAT = "memograd-object"
VERSION = 1
ARRAY_PREFIX = "array/"
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
ARRAY_NODES = ("tensor", "ndarray", "scalar")
CONTAINERS = {"dict": dict, "list": list, "tuple": tuple}
# How much deeper in the JSON header a child sits than its container's node: a dict's items
# are [key, node] pairs inside a list inside the node; a list's are nodes inside a list.
DEPTH_STEP = {"dict": 3, "list": 2, "tuple": 2}


def save(obj: Any, f: str | os.PathLike[str]) -> None:
    """Write ``obj`` to the file ``f`` (any name: ``.pt``, ``.pth`` and ``.npz`` are all fine).

    Everything is checked before anything is written, and the file is replaced atomically, so
    a refused object or a full disk leaves the old file as it was.
    """
    path = _path(f, "save")
    if isinstance(obj, Module):
        try:
            serialization.save(obj, path)
        except NotImplementedError as exc:  # a module of the user's own, not described
            raise TypeError(
                f"mg.save: {exc}; or save model.state_dict() and load it into a model you build"
            ) from None
        return
    encoder = _Encoder()
    tree = encoder.node(obj, "obj", depth=2)
    header = {"format": FORMAT, "version": VERSION, "object": tree, "arrays": encoder.specs}
    try:
        write_archive(path, header, encoder.arrays, compress=False)
    except ValueError as exc:  # the structure is too long a header
        raise ValueError(
            f"mg.save: {exc}; store long lists of numbers as one array (np.array(values))"
        ) from None


def load(
    f: str | os.PathLike[str],
    map_location: Any = None,
    *,
    weights_only: bool | None = None,
    budget: int | None = DATA_MEMORY_BUDGET,
    force: bool = False,
) -> Any:
    """Read what :func:`save` wrote (or a model file) from ``f``; a bad file raises
    ``ModelFileError`` naming the file and the problem.

    ``map_location`` may be None or ``"cpu"`` (memograd runs on the CPU); ``weights_only`` is
    accepted for torch's sake and changes nothing, since loading never runs code either way.
    ``budget`` (bytes) and ``force`` bound the memory the arrays may take, as for model files.
    """
    path = _path(f, "load")
    if map_location not in (None, "cpu"):
        raise ValueError(
            f"mg.load: map_location={map_location!r}; memograd runs on the CPU, so it must be "
            "None or 'cpu'"
        )
    if weights_only not in (None, True, False):
        raise TypeError(f"mg.load: weights_only must be True, False or None, got {weights_only!r}")
    with open_archive(path, "memograd file") as (archive, header, source):
        if header.get("format") == serialization.FORMAT:
            return serialization.model_from_archive(
                archive, header, source, budget=budget, force=force
            ).model
        if header.get("format") != FORMAT:
            raise ModelFileError(
                f"{source}: not a memograd file (header format is {shown(header.get('format'))})"
            )
        check_version(header, VERSION, "file", source)
        if not isinstance(header.get("arrays"), dict) or "object" not in header:
            raise ModelFileError(f"{source}: damaged header ('object' or 'arrays' missing)")
        if set(header) != {"format", "version", "object", "arrays"}:
            extra = sorted(set(header) - {"format", "version", "object", "arrays"})
            raise ModelFileError(f"{source}: damaged header (unknown fields {extra})")
        check_only_listed(archive, {ARRAY_PREFIX + name for name in header["arrays"]}, source)
        specs = check_arrays(header["arrays"], source)
        kinds = _Decoder.check(header["object"], specs, source)
        check_entries(archive, specs, ARRAY_PREFIX, source)
        total = sum(math.prod(shape) * dtype.itemsize for shape, dtype in specs.values())
        try:
            check_memory(total, f"{source}: its {len(specs)} arrays", budget=budget, force=force)
        except BudgetExceeded as exc:
            raise ModelFileError(str(exc)) from None
        arrays = {name: read_entry(archive, ARRAY_PREFIX + name, source) for name in kinds}
    return _Decoder(arrays, kinds).node(header["object"])


def _path(f: Any, verb: str) -> Path:
    if not isinstance(f, str | os.PathLike):
        raise TypeError(
            f"mg.{verb}: expected a file path (a str or os.PathLike), got {type(f).__name__}; "
            "file objects are not supported"
        )
    return Path(f)


class _Encoder:
    """Turns an object into the header's tree, collecting its arrays; refuses the rest."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.specs: dict[str, dict[str, Any]] = {}
        self.names: dict[int, str] = {}  # id of a Tensor or array already stored -> its entry
        self.open: set[int] = set()  # containers being encoded: one met again is a cycle

    def node(self, value: Any, where: str, depth: int) -> Any:
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, np.generic):  # before float: np.float64 is a float subclass
            return {"type": "scalar", "array": self.array(None, np.asarray(value), where)}
        if isinstance(value, int):
            return _integer(value, where)
        if isinstance(value, float):
            if math.isfinite(value):
                return value
            return {"type": "float", "value": "nan" if math.isnan(value) else repr(value)}
        if isinstance(value, Tensor):
            name = self.array(value, value.data, where)
            return {"type": "tensor", "array": name, "requires_grad": bool(value.requires_grad)}
        if isinstance(value, np.ndarray):
            return {"type": "ndarray", "array": self.array(value, value, where)}
        if isinstance(value, Mapping):
            return self.container("dict", value, where, depth)
        if isinstance(value, list | tuple):
            if isinstance(value, tuple) and hasattr(value, "_fields"):
                raise TypeError(
                    f"mg.save: {where} is a named tuple ({type(value).__name__}), which would "
                    "come back as a plain tuple; store tuple(x) or x._asdict() instead"
                )
            kind = "tuple" if isinstance(value, tuple) else "list"
            return self.container(kind, value, where, depth)
        if isinstance(value, Module):
            raise TypeError(
                f"mg.save: {where} is a {type(value).__name__} module; store its "
                "state_dict() (and rebuild the model to load it into), or save the model "
                "alone with mg.save(model, path) / model.save(path)"
            )
        raise TypeError(
            f"mg.save: {where} is a {type(value).__name__}; memograd saves Tensors, NumPy "
            "arrays, numbers, strings, booleans and None, in dicts, lists and tuples (never a "
            "pickle, so that loading a file cannot run code)"
        )

    def container(self, kind: str, value: Any, where: str, depth: int) -> dict[str, Any]:
        if depth + DEPTH_STEP[kind] > MAX_DEPTH:
            raise ValueError(
                f"mg.save: {where} is nested too deeply (a file's header holds at most "
                f"{MAX_DEPTH} levels, about {MAX_DEPTH // 3} of nested dicts)"
            )
        if id(value) in self.open:
            raise ValueError(f"mg.save: {where} contains itself; a file cannot hold a cycle")
        self.open.add(id(value))
        child = depth + DEPTH_STEP[kind]
        if kind == "dict":
            items = [
                [_key(k, where), self.node(v, f"{where}[{k!r}]", child)] for k, v in value.items()
            ]
        else:
            items = [self.node(v, f"{where}[{i}]", child) for i, v in enumerate(value)]
        self.open.discard(id(value))
        return {"type": kind, "items": items}

    def array(self, owner: Any, data: np.ndarray, where: str) -> str:
        if owner is not None and id(owner) in self.names:
            return self.names[id(owner)]
        if data.dtype.kind not in ALLOWED_KINDS or data.dtype.fields is not None:
            raise TypeError(
                f"mg.save: {where} has dtype {data.dtype}; only arrays of numbers and booleans "
                "are saved"
            )
        name = str(len(self.arrays))
        self.arrays[ARRAY_PREFIX + name] = data
        self.specs[name] = {"shape": list(data.shape), "dtype": data.dtype.str}
        if owner is not None:
            self.names[id(owner)] = name
        return name


def _integer(value: int, where: str) -> int:
    if len(str(abs(value))) > MAX_DIGITS:
        raise ValueError(
            f"mg.save: {where} is an integer of {len(str(abs(value)))} digits (at most "
            f"{MAX_DIGITS}); store it as a string"
        )
    return int(value)


def _key(key: Any, where: str) -> Any:
    """A dict key as JSON holds it: strings, whole numbers, finite floats, booleans, None."""
    if key is None or isinstance(key, bool | str):
        return key
    if isinstance(key, int):
        return _integer(key, f"a key of {where}")
    if isinstance(key, float) and math.isfinite(key):
        return key
    raise TypeError(
        f"mg.save: {where} has the key {key!r:.60} ({type(key).__name__}); keys must be "
        "strings, whole numbers, finite floats, booleans or None"
    )


class _Decoder:
    """Builds the saved object from a checked tree and its arrays."""

    def __init__(self, arrays: dict[str, np.ndarray], kinds: dict[str, tuple[str, bool]]) -> None:
        self.arrays = arrays
        self.kinds = kinds
        self.built: dict[str, Any] = {}

    @staticmethod
    def check(tree: Any, specs: dict[str, tuple], source: str) -> dict[str, tuple[str, bool]]:
        """Validate the whole tree before any array is read; returns each array's use."""
        kinds: dict[str, tuple[str, bool]] = {}

        def fail(at: str, problem: str) -> ModelFileError:
            return ModelFileError(f"{source}: header field object{at} {problem}")

        def walk(node: Any, at: str) -> None:  # the header is at most MAX_DEPTH deep
            if node is None or isinstance(node, bool | int | float | str):
                return
            if not isinstance(node, dict):
                raise fail(at, f"is {shown(node)}; expected a value or a typed node")
            kind = node.get("type")
            fields = {"tensor": {"array", "requires_grad"}, "float": {"value"}}.get(
                kind, {"items"} if kind in CONTAINERS else {"array"}
            )
            if kind not in (*ARRAY_NODES, "float", *CONTAINERS) or set(node) != {"type", *fields}:
                raise fail(at, f"is not a node memograd writes ({shown(node)})")
            if kind == "float":
                if node["value"] not in NON_FINITE:
                    raise fail(at, f"has value {shown(node['value'])}; expected nan, inf or -inf")
            elif kind in ARRAY_NODES:
                name, grad = node["array"], node.get("requires_grad", False)
                if not isinstance(name, str) or name not in specs:
                    raise fail(at, f"names array {shown(name)}, which the header does not list")
                if not isinstance(grad, bool):
                    raise fail(at, f"has requires_grad {shown(grad)}; expected true or false")
                shape, dtype = specs[name]
                if grad and dtype.kind != "f":
                    raise fail(at, f"asks for gradients of a {dtype} array")
                if kind == "scalar" and shape != ():
                    raise fail(at, f"is a scalar but array {name!r} has shape {shape}")
                if kinds.setdefault(name, (kind, grad)) != (kind, grad):
                    raise fail(at, f"uses array {name!r} as another kind of value than before")
            else:
                items = node["items"]
                if not isinstance(items, list):
                    raise fail(at, "has items that are not a list")
                if kind == "dict":
                    keys = set()
                    for i, pair in enumerate(items):
                        if not (isinstance(pair, list) and len(pair) == 2):
                            raise fail(f"{at}.items[{i}]", "is not a [key, value] pair")
                        key = pair[0]
                        if key is not None and not isinstance(key, bool | int | float | str):
                            raise fail(f"{at}.items[{i}]", f"has the key {shown(key)}")
                        if key in keys:  # as a dict sees it: 1, 1.0 and true are one key
                            raise fail(f"{at}.items[{i}]", f"repeats the key {shown(key)}")
                        keys.add(key)
                        walk(pair[1], f"{at}[{key!r}]")
                else:
                    for i, item in enumerate(items):
                        walk(item, f"{at}[{i}]")

        walk(tree, "")
        unused = sorted(set(specs) - set(kinds))
        if unused:
            raise ModelFileError(
                f"{source}: the header lists arrays the object never uses ({', '.join(unused[:5])})"
            )
        return kinds

    def node(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        kind = node["type"]
        if kind == "float":
            return NON_FINITE[node["value"]]
        if kind in CONTAINERS:
            if kind == "dict":
                return {key: self.node(value) for key, value in node["items"]}
            return CONTAINERS[kind](self.node(item) for item in node["items"])
        name = node["array"]
        if name not in self.built:
            array = self.arrays[name]
            if kind == "tensor":
                tensor = from_numpy(array)
                tensor.requires_grad = node["requires_grad"]
                self.built[name] = tensor
            elif kind == "scalar":
                self.built[name] = array[()]
            else:
                self.built[name] = array
        return self.built[name]
