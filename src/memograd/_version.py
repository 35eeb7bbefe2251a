"""memograd's version: one place, read by the package, the command line and the packaging."""

__version__ = "0.1.0"
