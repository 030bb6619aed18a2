"""Kubernetes resource quantities ("64M", "1Gi", "500m") for the simulator's checks and messages."""

from __future__ import annotations

import re
from fractions import Fraction

_RE = re.compile(r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -3, "u": -2, "m": -1, "": 0, "k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}


def parse(text: object) -> Fraction | None:
    """The value of a quantity (an int is taken as is), or None when it is not one."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return Fraction(text)
    if isinstance(text, float):
        return Fraction(text).limit_denominator(10**9)
    if not isinstance(text, str):
        return None
    m = _RE.match(text.strip())
    if m is None:
        return None
    sign, number, suffix = m.group(1), m.group(2), m.group(3) or ""
    value = Fraction(number)
    if suffix in _BINARY:
        value *= 1024 ** _BINARY[suffix]
    elif suffix in _DECIMAL:
        value *= Fraction(1000) ** _DECIMAL[suffix]
    else:
        value *= Fraction(10) ** int(suffix[1:])
    return -value if sign == "-" else value


def canonical(text: object) -> str:
    """How resource.Quantity prints a value: `1024Mi` -> `1Gi`, `1000M` -> `1G`, `0.5` -> `500m`."""
    value = parse(text)
    if value is None:
        return str(text)
    binary = isinstance(text, str) and text.strip().endswith("i")
    sign = "-" if value < 0 else ""
    value = abs(value)
    if binary and value.denominator == 1:
        exp = 0
        while exp < 6 and value % (1024 ** (exp + 1)) == 0 and value:
            exp += 1
        suffix = {0: "", 1: "Ki", 2: "Mi", 3: "Gi", 4: "Ti", 5: "Pi", 6: "Ei"}[exp]
        return f"{sign}{value // 1024 ** exp}{suffix}"
    for exp, suffix in ((6, "E"), (5, "P"), (4, "T"), (3, "G"), (2, "M"), (1, "k"), (0, ""), (-1, "m"), (-2, "u"),
                        (-3, "n")):
        scaled = value / Fraction(1000) ** exp
        if scaled.denominator == 1 and (scaled >= 1 or exp == -3 or value == 0):
            if value == 0:
                return "0"
            return f"{sign}{scaled.numerator}{suffix}"
    return str(text)
