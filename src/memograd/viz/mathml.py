"""The notes' chain-rule notation as MathML, so browsers typeset it with no script at all.

Input is the plain-text form the explainer prints, for example
``∂L/∂W^1_11 = ∂L/∂Ŷ [ ∂Ŷ/∂O_21 × ∂O_21/∂O_11 + ... ]``. ``∂A/∂B`` becomes a fraction,
``W^1_11`` (or ``W^{1}_{11}``) a symbol with a superscript and a subscript, numbers stay
numbers; anything else is kept as text, so an unexpected input degrades to readable text
instead of failing.
"""

from __future__ import annotations

import re

from memograd.viz._svg import escape

_INDEX = r"(?:\{[^{}]*\}|[0-9A-Za-z,]+)"
_SYMBOL = rf"[A-Za-zŶŷθηα-ωΑ-Ω]\u0302?(?:\^{_INDEX})?(?:_{_INDEX})?(?:\^{_INDEX})?"
_TOKEN = re.compile(
    rf"(?P<frac>∂(?P<num>{_SYMBOL})\s*/\s*∂(?P<den>{_SYMBOL}))"
    r"|(?P<word>[A-Za-z]{2,}\b)"
    rf"|(?P<sym>{_SYMBOL})"
    r"|(?P<num_lit>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
    r"|(?P<op>[=×·+\-−\[\]()…,≈])"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)"
)
_PARTS = re.compile(
    rf"(?P<base>[^\^_]+)(?:\^(?P<sup1>{_INDEX}))?(?:_(?P<sub>{_INDEX}))?"
    rf"(?:\^(?P<sup2>{_INDEX}))?$"
)


def _unbrace(index: str | None) -> str | None:
    if index is None:
        return None
    return index[1:-1] if index.startswith("{") and index.endswith("}") else index


def symbol(text: str) -> str:
    """One symbol such as ``W^1_11``, ``O_21`` or ``Ŷ`` as a MathML element."""
    match = _PARTS.match(text)
    if match is None:
        return f"<mi>{escape(text)}</mi>"
    base = f"<mi>{escape(match.group('base'))}</mi>"
    sup = _unbrace(match.group("sup1") or match.group("sup2"))
    sub = _unbrace(match.group("sub"))
    if sup is not None and sub is not None:
        return f"<msubsup>{base}<mn>{escape(sub)}</mn><mn>{escape(sup)}</mn></msubsup>"
    if sub is not None:
        return f"<msub>{base}<mn>{escape(sub)}</mn></msub>"
    if sup is not None:
        return f"<msup>{base}<mn>{escape(sup)}</mn></msup>"
    return base


def partial(numerator: str, denominator: str) -> str:
    """``∂numerator/∂denominator`` as a MathML fraction."""
    return (
        f"<mfrac><mrow><mo>∂</mo>{symbol(numerator)}</mrow>"
        f"<mrow><mo>∂</mo>{symbol(denominator)}</mrow></mfrac>"
    )


def expression(text: str) -> str:
    """The MathML content (no ``<math>`` wrapper) of a chain-rule expression in plain text."""
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "frac":
            out.append(partial(match.group("num"), match.group("den")))
        elif kind == "word":
            out.append(f"<mtext>{escape(match.group('word'))}</mtext>")
        elif kind == "sym":
            out.append(symbol(match.group("sym")))
        elif kind == "num_lit":
            out.append(f"<mn>{escape(match.group('num_lit'))}</mn>")
        elif kind == "op":
            op = {"-": "−"}.get(match.group("op"), match.group("op"))
            out.append(f"<mo>{escape(op)}</mo>")
        elif kind == "other":
            out.append(f"<mtext>{escape(match.group('other'))}</mtext>")
    return "".join(out)


def math(text: str, *, block: bool = True, label: str | None = None) -> str:
    """A complete ``<math>`` element; ``label`` (default: the text) is its accessible name."""
    display = ' display="block"' if block else ""
    alt = escape(label if label is not None else text)
    return f'<math{display} aria-label="{alt}"><mrow>{expression(text)}</mrow></math>'


_SUPERSCRIPT = str.maketrans("0123456789,", "⁰¹²³⁴⁵⁶⁷⁸⁹˒")
_SUBSCRIPT = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉‚")


def unicode_symbol(text: str) -> str:
    """``W^1_11`` as ``W¹₁₁`` and ``O_21`` as ``O₂₁``: for SVG labels, where MathML cannot go.

    Indices that are not digits (or braces) are left in the ``^``/``_`` form.
    """
    match = _PARTS.match(text)
    if match is None:
        return text
    out = match.group("base")
    sup = _unbrace(match.group("sup1") or match.group("sup2"))
    sub = _unbrace(match.group("sub"))
    for index, table, marker in ((sup, _SUPERSCRIPT, "^"), (sub, _SUBSCRIPT, "_")):
        if index is None:
            continue
        out += index.translate(table) if re.fullmatch(r"[0-9,]+", index) else marker + index
    return out


def unicode_expression(text: str) -> str:
    """Every symbol of a chain-rule expression in :func:`unicode_symbol` form."""
    return re.sub(_SYMBOL, lambda m: unicode_symbol(m.group(0)), text)
