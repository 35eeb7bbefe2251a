"""``Module``: the base of every layer and network, PyTorch's surface on memograd Tensors.

A module owns three kinds of attributes, registered automatically when assigned:

* **parameters**: Tensors with ``requires_grad=True`` (weights, biases), trained by an optimizer;
* **buffers**: NumPy arrays that are state but not trained (a standardiser's mean and scale),
  registered with :meth:`register_buffer`;
* **submodules**: other Modules, whose parameters and buffers are reached with dotted names
  (``layers.0.weight``), exactly as in ``torch.nn``.

``state_dict()`` is the flat name -> array mapping of parameters and buffers, and is what
:mod:`memograd.nn.serialization` writes to disk. Each concrete module also describes its own
constructor arguments in :meth:`config`, so that a saved file can be rebuilt from JSON alone,
without pickling and without running any code from the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from memograd.engine.tensor import Tensor, from_numpy
from memograd.nn.model_file import write_model

# Class name -> class, for rebuilding modules from a saved architecture. Only classes registered
# here can be loaded: a file names a class, it never supplies code.
MODULE_REGISTRY: dict[str, type[Module]] = {}


def register_module(cls: type[Module]) -> type[Module]:
    """Class decorator: make a Module subclass loadable by :func:`memograd.nn.load`.

    The class must implement :meth:`Module.config` returning its constructor's keyword
    arguments as JSON values (and, for containers, :meth:`Module.from_config`).
    """
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(f"register_module expects a Module subclass, got {cls!r}")
    existing = MODULE_REGISTRY.get(cls.__name__)
    if existing is not None and existing is not cls:
        raise ValueError(
            f"a different module class named {cls.__name__!r} is already registered "
            f"({existing.__module__}.{existing.__qualname__})"
        )
    MODULE_REGISTRY[cls.__name__] = cls
    return cls


def build_module(description: Mapping[str, Any]) -> Module:
    """Rebuild a module from ``{"type": ..., "config": {...}}`` using registered classes only."""
    if not isinstance(description, Mapping):
        raise ValueError(
            f"a module description must be an object, got {type(description).__name__}"
        )
    kind = description.get("type")
    config = description.get("config", {})
    cls = MODULE_REGISTRY.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(
            f"unknown module type {kind!r}; known types are {', '.join(sorted(MODULE_REGISTRY))} "
            "(a custom module must be decorated with @memograd.nn.register_module)"
        )
    if not isinstance(config, Mapping):
        raise ValueError(f"the config of a {kind} must be an object, got {type(config).__name__}")
    try:
        return cls.from_config(config)
    except TypeError as exc:
        raise ValueError(f"bad config for {kind}: {exc}") from None


class Module:
    """Base class: subclasses set attributes in ``__init__`` and define ``forward``."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    # ---- registration ----------------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before setting "
                f"attribute {name!r}"
            )
        if name in self._buffers and isinstance(value, np.ndarray):
            self._buffers[name] = value  # reassigning a buffer keeps it a buffer, as in torch
            object.__setattr__(self, name, value)
            return
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        if isinstance(value, Module):
            self._modules[name] = value
        elif isinstance(value, Tensor) and value.requires_grad:
            self._parameters[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """Keep ``array`` as state that is saved and loaded but never trained."""
        array = np.asarray(array)
        if array.dtype == object:
            raise TypeError(f"buffer {name!r} must be a numeric array, got dtype object")
        self.__setattr__(name, array)
        self._buffers[name] = array

    # ---- traversal -------------------------------------------------------------------------------

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first, with dotted names ("" for self)."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Every parameter with its dotted name, in registration order (each shared one once)."""
        seen: set[int] = set()
        for module_name, module in self.named_modules(prefix):
            for name, param in module._parameters.items():
                if id(param) not in seen:
                    seen.add(id(param))
                    yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self) -> list[Tensor]:
        """The trainable Tensors, in a list ready for an optimizer."""
        return [param for _, param in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for module_name, module in self.named_modules(prefix):
            for name, array in module._buffers.items():
                yield (f"{module_name}.{name}" if module_name else name), array

    def num_parameters(self) -> int:
        """How many trainable numbers the module has."""
        return sum(int(p.data.size) for p in self.parameters())

    # ---- training switches -----------------------------------------------------------------------

    def zero_grad(self) -> None:
        """Drop every parameter's gradient (set to None, as ``optimizer.zero_grad()`` does)."""
        for param in self.parameters():
            param.grad = None

    def train(self, mode: bool = True) -> Module:
        """Switch this module and all descendants to training (or, with False, eval) mode."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout off. Returns self, so ``model.eval()(X)`` works."""
        return self.train(False)

    # ---- state -----------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """Name -> copy of every parameter and buffer array (copies: later training won't leak)."""
        state = {name: param.data.copy() for name, param in self.named_parameters()}
        state.update({name: array.copy() for name, array in self.named_buffers()})
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy arrays from ``state`` into this module's parameters and buffers, in place.

        Every mismatch is reported at once: missing names, unexpected names, and each shape
        that differs, e.g. ``layers.0.weight: expected shape (64, 32), got (32, 64)``.
        Nothing is changed unless everything matches.
        """
        targets: dict[str, np.ndarray] = {n: p.data for n, p in self.named_parameters()}
        targets.update(dict(self.named_buffers()))
        problems: list[str] = []
        missing = [n for n in targets if n not in state]
        unexpected = [n for n in state if n not in targets]
        if strict and missing:
            problems.append("missing " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected " + ", ".join(unexpected))
        updates: list[tuple[np.ndarray, np.ndarray]] = []
        for name, target in targets.items():
            if name not in state:
                continue
            source = np.asarray(state[name])
            if source.shape != target.shape:
                problems.append(f"{name}: expected shape {target.shape}, got {source.shape}")
            elif source.dtype.kind not in "fiub":
                problems.append(f"{name}: expected numbers, got dtype {source.dtype}")
            else:
                updates.append((target, source))
        if problems:
            raise ValueError(
                f"cannot load state into {type(self).__name__}: " + "; ".join(problems)
            )
        for target, source in updates:
            target[...] = source

    # ---- describing and rebuilding ---------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """Constructor keyword arguments as JSON values; what a saved file stores for this module.

        Built-in modules implement it; a custom module must too (and be decorated with
        :func:`register_module`) to be saved with ``model.save(path)``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not describe its architecture: implement config() "
            "returning its constructor arguments and decorate the class with "
            "@memograd.nn.register_module to save it"
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Module:
        """Rebuild an (untrained) module from :meth:`config`; containers override this."""
        return cls(**config)

    def describe(self) -> dict[str, Any]:
        """``{"type": class name, "config": {...}}``: the JSON architecture of this module."""
        return {"type": type(self).__name__, "config": self.config()}

    def save(self, path: str, metadata: Mapping[str, Any] | None = None) -> None:
        """Write architecture and weights to one .npz file (see :func:`memograd.nn.save`)."""
        write_model(path, self.describe(), self.state_dict(), metadata)

    # ---- calling ---------------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ---- printing --------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return "\n".join(self._repr_lines())

    def _repr_lines(self) -> list[str]:
        head = f"{type(self).__name__}({self.extra_repr()}"
        own = sum(int(p.data.size) for p in self._parameters.values())
        if not self._modules:
            return [head + ")" + (f"  # {own:,} parameters" if own else "")]
        lines = [head + ("," if self.extra_repr() else "")]
        for name, child in self._modules.items():
            child_lines = child._repr_lines()
            lines.append(f"  ({name}): {child_lines[0]}")
            lines.extend("  " + line for line in child_lines[1:])
        lines.append(f")  # {self.num_parameters():,} parameters")
        return lines


def as_tensor(x: Any, dtype: np.dtype | None = None) -> Tensor:
    """A Tensor for a layer's input: arrays are shared, not copied (cast to ``dtype`` if given)."""
    if isinstance(x, Tensor):
        return x
    array = np.asarray(x, dtype=dtype)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"expected numbers for a layer's input, got dtype {array.dtype}")
    return from_numpy(array)
