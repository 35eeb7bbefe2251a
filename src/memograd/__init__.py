"""memograd: backpropagation is the chain rule plus memoization.

``import memograd as mg`` needs NumPy alone: plotting, the command line and the
report load their libraries only when used.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
