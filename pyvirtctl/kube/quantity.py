"""Kubernetes resource quantities (`10Gi`, `500M`, `1e3`): parse to an exact value, format canonically.

Shared by every command that reads or writes sizes (memory-dump PVCs, image-upload, create, vmexport).
"""

from __future__ import annotations

import re
from fractions import Fraction

from pyvirtctl.errors import CLIError

_QTY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(text: str) -> tuple[Fraction, str]:
    """A Kubernetes quantity -> (exact value, format: BinarySI | DecimalSI | DecimalExponent)."""
    m = _QTY.match(text.strip())
    if not m:
        raise CLIError("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    number, suffix = Fraction(m.group(1)), m.group(2)
    if suffix in _BINARY:
        return number * (1 << _BINARY[suffix]), "BinarySI"
    if suffix in _DECIMAL:
        return number * Fraction(10) ** _DECIMAL[suffix], "DecimalSI"
    if re.fullmatch(r"[eE][-+]?[0-9]+", suffix):
        return number * Fraction(10) ** int(suffix[1:]), "DecimalExponent"
    raise CLIError("unable to parse quantity's suffix")


def format_quantity(value: int, fmt: str) -> str:
    """Quantity.String() of an integer number of bytes in the given format (canonical form)."""
    if fmt == "BinarySI" and -1024 < value < 1024:
        fmt = "DecimalSI"
    if fmt == "BinarySI":
        exp = 0
        n = value
        while exp < 60 and n != 0 and n % 1024 == 0:
            n //= 1024
            exp += 10
        suffix = {0: "", 10: "Ki", 20: "Mi", 30: "Gi", 40: "Ti", 50: "Pi", 60: "Ei"}[exp]
        return f"{n}{suffix}"
    exp = 0
    n = value
    while exp < 18 and n != 0 and n % 1000 == 0:
        n //= 1000
        exp += 3
    if fmt == "DecimalExponent":
        return f"{n}e{exp}" if exp else str(n)
    suffix = {0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}[exp]
    return f"{n}{suffix}"
