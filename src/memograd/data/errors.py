"""The one exception every data problem raises.

``DataError`` is a ``ValueError`` (so the command line reports it as one line with exit status 2)
whose message always starts with where the problem is: the file, and when it applies the row and
the column. A user fixing a broken CSV should never have to bisect it.
"""

from __future__ import annotations


class DataError(ValueError):
    """Bad input data: the message names the file (or array), the row and the column."""


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, for quoting inside another message."""
    return " ".join(str(exc).split()) or type(exc).__name__
