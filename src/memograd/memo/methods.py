"""``@memoize`` on a method: one cache per instance, none of which keeps its instance alive."""

from __future__ import annotations

import functools
import inspect
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any

from memograd.memo.cache import CacheInfo, Memo
from memograd.memo.options import Options
from memograd.memo.wrapper import Template, memoize_function


class _WeakMethod:
    """A method's function bound to its instance through a weak reference.

    It is the function of an instance's own cache, so that cache never keeps the instance alive.
    Whoever calls it holds the instance (through the bound method), so it is there to call.
    """

    __slots__ = ("fn", "ref")

    def __init__(self, fn: Callable[..., Any], ref: weakref.ref) -> None:
        self.fn = fn
        self.ref = ref

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        instance = self.ref()
        if instance is None:
            raise ReferenceError(f"memoize: the instance of {self.fn.__qualname__} is gone")
        return self.fn(instance, *args, **kwargs)


class MemoizedMethod:
    """``@memoize`` on a function defined in a class body: one cache per instance.

    The caches live in a registry keyed by ``id(instance)`` whose entries hold the instance only
    through a weak reference (with a callback that drops the entry), so caching never keeps an
    instance alive. ``obj.method`` returns an ordinary bound method of that instance's wrapper,
    whose key leaves ``self`` out. Called through the class or as a static method, the function
    is memoized on all its arguments like any function. ``cache_info()`` and ``cache_clear()`` on
    the class attribute cover every live instance.
    """

    def __init__(self, fn: Callable[..., Any], options: Options) -> None:
        functools.update_wrapper(self, fn)
        self._options = options
        self._template = Template(fn, options, method=True)
        self._direct = memoize_function(fn, options)
        self._instances: dict[int, tuple[weakref.ref, Callable[..., Any], Memo]] = {}
        self._lock = threading.RLock()  # reentrant: a weakref callback may fire inside _attach

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        entry = self._instances.get(id(instance))
        if entry is None or entry[0]() is not instance:
            entry = self._attach(instance)
        return types.MethodType(entry[1], instance)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._direct(*args, **kwargs)

    def _attach(self, instance: object) -> tuple[weakref.ref, Callable[..., Any], Memo]:
        ident = id(instance)
        with self._lock:
            entry = self._instances.get(ident)
            if entry is not None and entry[0]() is instance:
                return entry
            try:
                ref = weakref.ref(instance, functools.partial(self._detach, ident))
            except TypeError:
                raise TypeError(
                    f"memoize: {self.__qualname__} keeps one cache per instance and holds "
                    f"instances weakly, but {type(instance).__qualname__} objects do not support "
                    "weak references; add '__weakref__' to its __slots__"
                ) from None
            memo = Memo(
                _WeakMethod(self.__wrapped__, ref),
                self._options,
                self._template.describe,
                is_async=self._template.is_async,
            )
            entry = (ref, self._template.instantiate(memo), memo)
            self._instances[ident] = entry
        return entry

    def _detach(self, ident: int, ref: weakref.ref) -> None:
        with self._lock:
            entry = self._instances.get(ident)
            if entry is not None and entry[0] is ref:
                del self._instances[ident]

    def _memos(self) -> list[Memo]:
        with self._lock:
            return [self._direct.__memo__, *(entry[2] for entry in self._instances.values())]

    def cache_info(self) -> CacheInfo:
        """Totals over every live instance's cache and the calls through the class."""
        infos = [memo.cache_info() for memo in self._memos()]
        return CacheInfo(
            hits=sum(i.hits for i in infos),
            misses=sum(i.misses for i in infos),
            maxsize=self._options.maxsize,
            currsize=sum(i.currsize for i in infos),
        )

    def cache_clear(self) -> None:
        for memo in self._memos():
            memo.cache_clear()

    def cache_parameters(self) -> dict[str, Any]:
        return self._direct.cache_parameters()


def defined_in_class_body(fn: object) -> bool:
    """Is ``fn`` a plain function written inside a ``class`` statement?

    Its ``__qualname__`` says so: ``Model.forward``, not ``forward`` nor ``outer.<locals>.f``.
    """
    if not isinstance(fn, types.FunctionType):
        return False
    parts = fn.__qualname__.split(".")
    if len(parts) < 2 or parts[-2] == "<locals>":
        return False
    first = next(iter(inspect.signature(fn).parameters.values()), None)
    return first is not None and first.kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    )
