"""The JSON header of a model file: parsed defensively, checked field by field, before any weight.

A model file is data from anywhere, so its header is read as hostile input:

* **Parsing** refuses what would make the parser itself the problem: nesting deeper than
  ``MAX_DEPTH`` (Python's JSON decoder would raise RecursionError at about 1,000), integers of
  more than ``MAX_DIGITS`` digits (int() of 5,000 digits raises, of millions takes minutes),
  NaN / Infinity, duplicate keys. Each error names the file and the field.
* **The architecture** of the built-in modules (every layer and loss of ``memograd.nn``) is
  checked setting by setting (a string where a number belongs, a size of zero, an unknown
  activation) and turned into the list of state arrays it implies, name, shape and dtype,
  without building anything: :func:`expected_state`. The loader compares that list with the
  arrays the file really holds, so an architecture is built only when every weight it will
  receive is there, and building it never allocates more than the file holds. A user's own
  module class cannot be predicted; its subtree is built after the other checks (by its own
  constructor, with the file's plain-value arguments) and checked by ``load_state_dict``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from memograd.engine.tensor import REDUCTIONS
from memograd.nn.embedding import Embedding
from memograd.nn.init import SCHEME_FOR_ACTIVATION, SCHEMES
from memograd.nn.layers import (
    ACTIVATIONS,
    DTYPES,
    GELU,
    MLP,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sequential,
    Softmax,
    Standardize,
)
from memograd.nn.loss_modules import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from memograd.nn.model_file import ALLOWED_KINDS
from memograd.nn.module import module_class
from memograd.nn.normalization import BatchNorm1d, LayerNorm
from memograd.nn.npz_archive import ModelFileError, shown

MAX_MODULES = 10_000
MAX_ARRAYS = 100_000
MAX_DIMENSION = 2**31 - 1

# name -> (shape, dtype, the header field that decides it)
Expected = dict[str, tuple[tuple[int, ...], np.dtype, str]]


def check_arrays(arrays: Mapping[str, Any], source: str) -> dict[str, tuple[tuple, np.dtype]]:
    """The header's ``arrays`` as name -> (shape, dtype), each a plain numeric array."""
    if len(arrays) > MAX_ARRAYS:
        raise ModelFileError(f"{source}: header field arrays lists {len(arrays):,} arrays; refused")
    specs = {}
    for name, spec in arrays.items():
        at = f"arrays[{name!r}]"
        if not isinstance(spec, dict):
            raise ModelFileError(f"{source}: header field {at} is not an object")
        shape = spec.get("shape")
        if not isinstance(shape, list) or len(shape) > 32:
            raise ModelFileError(f"{source}: header field {at}.shape is not a list of sizes")
        dims = tuple(_integer(n, f"{at}.shape[{i}]", source, 0) for i, n in enumerate(shape))
        specs[name] = (dims, _array_dtype(spec.get("dtype"), f"{at}.dtype", source))
    return specs


def expected_state(architecture: Any, source: str) -> tuple[Expected, list[str]]:
    """The state arrays ``architecture`` implies, and the prefixes of unpredictable subtrees.

    Every setting of a built-in module is checked on the way; a custom module's state is
    unknown, so its dotted prefix (``""`` for the root) is returned instead.
    """
    expected: Expected = {}
    opaque: list[str] = []
    count = 0
    stack = [(architecture, "", "architecture")]
    while stack:
        description, prefix, at = stack.pop()
        count += 1
        if count > MAX_MODULES:
            raise ModelFileError(f"{source}: the architecture has more than {MAX_MODULES} modules")
        if not isinstance(description, dict):
            raise ModelFileError(f"{source}: header field {at} is not a module description")
        kind = description.get("type")
        if not isinstance(kind, str):
            raise ModelFileError(f"{source}: header field {at}.type is {shown(kind)}, not a name")
        try:
            cls = module_class(kind)
        except ValueError as exc:
            raise ModelFileError(f"{source}: header field {at}.type: {exc}") from None
        config = description.get("config", {})
        if not isinstance(config, dict):
            raise ModelFileError(f"{source}: header field {at}.config is not an object")
        rule = _RULES.get(cls)
        if rule is None:
            opaque.append(prefix)
            continue
        settings = _Settings(config, cls.__name__, f"{at}.config", source)
        arrays, children = rule(settings)
        settings.no_others()
        for name, (shape, dtype, field) in arrays.items():
            expected[prefix + name] = (shape, dtype, field)
        for child_name, child in children:
            stack.append((child, f"{prefix}{child_name}.", f"{at}.config.modules[{child_name}]"))
    return expected, opaque


class _Settings:
    """One module's config: each setting read once, typed and range-checked, named on error."""

    def __init__(self, config: dict[str, Any], kind: str, at: str, source: str) -> None:
        self.config, self.kind, self.at, self.source = config, kind, at, source
        self.read: set[str] = set()

    def _get(self, key: str, default: Any) -> Any:
        self.read.add(key)
        if key not in self.config:
            if default is _REQUIRED:
                raise ModelFileError(
                    f"{self.source}: header field {self.at}.{key} is missing (bad config for "
                    f"{self.kind})"
                )
            return default
        return self.config[key]

    def size(self, key: str) -> int:
        return _integer(self._get(key, _REQUIRED), f"{self.at}.{key}", self.source, 1)

    def sizes(self, key: str) -> list[int]:
        value = self._get(key, _REQUIRED)
        if not isinstance(value, list) or not 2 <= len(value) <= MAX_MODULES:
            raise ModelFileError(
                f"{self.source}: header field {self.at}.{key} must be a list of at least 2 "
                f"sizes, got {shown(value)}"
            )
        return [_integer(n, f"{self.at}.{key}[{i}]", self.source, 1) for i, n in enumerate(value)]

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            self._wrong(key, value, "true or false")
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value < high:
            self._wrong(key, value, f"a number in [{low:g}, {high:g})")
        return float(value)

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self._wrong(key, value, f"a whole number from {low} to {high}")
        return value

    def optional_number(self, key: str, default: float | None, low: float, high: float) -> None:
        """None, or a number in [low, high] (both ends included)."""
        value = self._get(key, default)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            self._wrong(key, value, f"null or a number in [{low:g}, {high:g}]")

    def shape(self, key: str) -> tuple[int, ...]:
        value = self._get(key, _REQUIRED)
        if not isinstance(value, list) or not 1 <= len(value) <= 32:
            self._wrong(key, value, "a list of 1 to 32 sizes")
        return tuple(
            _integer(n, f"{self.at}.{key}[{i}]", self.source, 1) for i, n in enumerate(value)
        )

    def optional_shape(self, key: str) -> tuple[int, ...] | None:
        return None if self._get(key, None) is None else self.shape(key)

    def choice(self, key: str, default: str, choices: Any) -> str:
        value = self._get(key, default)
        if not isinstance(value, str) or value not in choices:
            self._wrong(key, value, "one of " + ", ".join(repr(c) for c in choices))
        return value

    def dtype(self) -> np.dtype:
        return np.dtype(self.choice("dtype", "float32", DTYPES))

    def modules(self) -> list[Any]:
        value = self._get("modules", _REQUIRED)
        if not isinstance(value, list) or len(value) > MAX_MODULES:
            self._wrong("modules", value, "a list of module descriptions")
        return value

    def no_others(self) -> None:
        unknown = [key for key in self.config if key not in self.read]
        if unknown:
            raise ModelFileError(
                f"{self.source}: header field {self.at}: bad config for {self.kind} (unknown "
                f"setting {unknown[0]!r})"
            )

    def _wrong(self, key: str, value: Any, expected: str) -> None:
        raise ModelFileError(
            f"{self.source}: header field {self.at}.{key} is {shown(value)}; expected {expected}"
        )


_REQUIRED = object()
_Rule = Callable[[_Settings], tuple[Expected, list[tuple[str, Any]]]]


def _linear(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
    fan_in, fan_out = s.size("in_features"), s.size("out_features")
    bias = s.flag("bias", True)
    s.choice("init", "he", SCHEMES)
    s.choice("activation", "relu", SCHEME_FOR_ACTIVATION)
    dtype = s.dtype()
    field = f"{s.at}.in_features/out_features"
    arrays = {"weight": ((fan_in, fan_out), dtype, field)}
    if bias:
        arrays["bias"] = ((fan_out,), dtype, f"{s.at}.out_features")
    return arrays, []


def _mlp(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
    sizes = s.sizes("sizes")
    s.choice("activation", "relu", ACTIVATIONS)
    dropout = s.number("dropout", 0.0, 0.0, 1.0)
    bias = s.flag("bias", True)
    dtype = s.dtype()
    # The layout of MLP.__init__: Linear, activation[, Dropout] per hidden layer, then Linear.
    per_hidden = 3 if dropout > 0 else 2
    arrays: Expected = {}
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        index = k * per_hidden
        field = f"{s.at}.sizes[{k}:{k + 2}]"
        arrays[f"layers.{index}.weight"] = ((fan_in, fan_out), dtype, field)
        if bias:
            arrays[f"layers.{index}.bias"] = ((fan_out,), dtype, field)
    return arrays, []


def _standardize(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
    n = s.size("n_features")
    dtype = s.dtype()
    field = f"{s.at}.n_features"
    return {"mean": ((n,), dtype, field), "scale": ((n,), dtype, field)}, []


def _sequential(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
    modules = s.modules()
    names = s._get("names", None)
    if names is None:
        names = [str(i) for i in range(len(modules))]
    elif (
        not isinstance(names, list)
        or len(names) != len(modules)
        or not all(isinstance(n, str) and n and "." not in n for n in names)
        or len(set(names)) != len(names)
    ):
        s._wrong("names", names, "distinct names without '.', one per module")
    return {}, list(zip(names, modules, strict=True))


def _stateless(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
    return {}, []


def _leaky_relu(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
    s.number("negative_slope", 0.01, -math.inf, math.inf)
    return {}, []


def _gelu(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
    s.choice("approximate", "tanh", ("tanh",))
    return {}, []


def _dropout(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
    s.number("p", 0.5, 0.0, 1.0)
    return {}, []


def _flatten(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
    s.integer("start_dim", 1, -32, 31)
    s.integer("end_dim", -1, -32, 31)
    return {}, []


def _along_dim(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
    s.integer("dim", _REQUIRED, -32, 31)  # type: ignore[arg-type]
    return {}, []


def _layer_norm(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
    shape = s.shape("normalized_shape")
    s.number("eps", 1e-5, 0.0, math.inf)
    affine = s.flag("elementwise_affine", True)
    bias = s.flag("bias", True)
    dtype = s.dtype()
    field = f"{s.at}.normalized_shape"
    arrays: Expected = {}
    if affine:
        arrays["weight"] = (shape, dtype, field)
        if bias:
            arrays["bias"] = (shape, dtype, field)
    return arrays, []


def _batch_norm(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
    n = s.size("num_features")
    s.number("eps", 1e-5, 0.0, math.inf)
    s.optional_number("momentum", 0.1, 0.0, 1.0)
    affine = s.flag("affine", True)
    track = s.flag("track_running_stats", True)
    bias = s.flag("bias", True)
    dtype = s.dtype()
    field = f"{s.at}.num_features"
    arrays: Expected = {}
    if affine:
        arrays["weight"] = ((n,), dtype, field)
        if bias:
            arrays["bias"] = ((n,), dtype, field)
    if track:
        arrays["running_mean"] = ((n,), dtype, field)
        arrays["running_var"] = ((n,), dtype, field)
        arrays["num_batches_tracked"] = ((), np.dtype(np.int64), f"{s.at}.track_running_stats")
    return arrays, []


def _embedding(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
    count, width = s.size("num_embeddings"), s.size("embedding_dim")
    if s.config.get("padding_idx") is not None:
        s.integer("padding_idx", 0, 0, count - 1)
    else:
        s.read.add("padding_idx")
    dtype = s.dtype()
    return {"weight": ((count, width), dtype, f"{s.at}.num_embeddings/embedding_dim")}, []


def _loss(
    *weights: str, ignore: bool = False, smoothing: bool = False, delta: bool = False
) -> _Rule:
    """The rule of a loss module: its settings, and its weight buffers (float64) by shape."""

    def rule(s: _Settings) -> tuple[Expected, list[tuple[str, Any]]]:
        s.choice("reduction", "mean", REDUCTIONS)
        if ignore:
            s.integer("ignore_index", -100, -(2**63), 2**63 - 1)
        if smoothing:
            s.optional_number("label_smoothing", 0.0, 0.0, 1.0)
        if delta:
            s.number("delta", 1.0, 5e-324, math.inf)
        arrays: Expected = {}
        for name in weights:
            shape = s.optional_shape(name)
            if shape is not None:
                arrays[name] = (shape, np.dtype(np.float64), f"{s.at}.{name}")
        return arrays, []

    return rule


_RULES: dict[type, _Rule] = {
    Linear: _linear,
    MLP: _mlp,
    Standardize: _standardize,
    Sequential: _sequential,
    LeakyReLU: _leaky_relu,
    GELU: _gelu,
    Dropout: _dropout,
    **{cls: _stateless for cls in ACTIVATIONS.values() if cls not in (LeakyReLU, GELU)},
    ReLU: _stateless,
    Identity: _stateless,
    Flatten: _flatten,
    Softmax: _along_dim,
    LogSoftmax: _along_dim,
    LayerNorm: _layer_norm,
    BatchNorm1d: _batch_norm,
    Embedding: _embedding,
    CrossEntropyLoss: _loss("weight", ignore=True, smoothing=True),
    NLLLoss: _loss("weight", ignore=True),
    BCEWithLogitsLoss: _loss("weight", "pos_weight"),
    MSELoss: _loss(),
    L1Loss: _loss(),
    HuberLoss: _loss(delta=True),
}


def _integer(value: Any, at: str, source: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_DIMENSION:
        raise ModelFileError(
            f"{source}: header field {at} is {shown(value)}; expected a whole number from "
            f"{low} to {MAX_DIMENSION:,}"
        )
    return value


def _array_dtype(value: Any, at: str, source: str) -> np.dtype:
    try:
        dtype = np.dtype(value) if isinstance(value, str) and len(value) <= 8 else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in ALLOWED_KINDS or dtype.shape or dtype.fields:
        raise ModelFileError(
            f"{source}: header field {at} is {shown(value)}; expected a numeric dtype such as '<f4'"
        )
    return dtype
