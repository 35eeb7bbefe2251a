"""Telling a missing memograd feature apart from a bug.

The bench runs against an engine that other people are still building; a
case whose memograd side needs a name that does not exist yet is reported as
skipped with the missing name, never as a crash and never as a fake number.
"""

from __future__ import annotations

import importlib
from typing import Any


class FeatureMissing(RuntimeError):
    """memograd does not (yet) provide something a case needs."""


def require(dotted: str) -> Any:
    """Import ``memograd.<dotted>`` (a module or an attribute) or raise FeatureMissing."""
    module_name, _, attribute = ("memograd." + dotted).rpartition(".")
    try:
        return importlib.import_module(f"{module_name}.{attribute}")
    except ImportError:
        pass
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute)
    except (ImportError, AttributeError):
        raise FeatureMissing(f"memograd does not provide mg.{dotted} yet") from None
