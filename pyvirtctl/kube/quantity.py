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


# --------------------------------------------------------------------------- Go's resource.Quantity

QUANTITY_FORMAT_ERROR = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix"
QUANTITY_NUMERIC_ERROR = "unable to parse numeric part of quantity"

_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_DEC_SUFFIX_EXP = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BIN_SUFFIX_EXP = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DEC_SUFFIX_BY_EXP = {v: k for k, v in _DEC_SUFFIX_EXP.items()}
_BIN_SUFFIX_BY_EXP = {v: k for k, v in _BIN_SUFFIX_EXP.items()}
_INT64_MAX = (1 << 63) - 1


class Quantity:
    """k8s.io/apimachinery resource.Quantity: ParseQuantity's exact value, format and cached text.

    `str(q)` is what Go marshals: the text as typed when ParseQuantity kept it (already canonical,
    e.g. `01Gi`, `+1Gi`, `2048`), otherwise the canonical form (`1024Mi` -> `1Gi`, `0.5` -> `500m`,
    `1.5n` -> `2n`).
    """

    __slots__ = ("value", "format", "text")

    def __init__(self, value: Fraction, fmt: str, text: str = "") -> None:
        self.value = value
        self.format = fmt
        self.text = text

    @classmethod
    def parse(cls, text: str) -> Quantity:
        """resource.ParseQuantity; errors carry Go's messages."""
        if not text:
            raise CLIError(QUANTITY_FORMAT_ERROR)
        if text == "0":
            return cls(Fraction(0), "DecimalSI", text)
        positive, value, num, denom, suffix = _scan_quantity(text)
        base, exponent, fmt = _interpret_suffix(suffix)
        precision = -1
        scale = 0
        mantissa = 1
        if fmt in ("DecimalExponent", "DecimalSI"):
            scale = exponent
            precision = 18 - (len(num) + len(denom))
        elif exponent >= 0 and not denom:
            mantissa = 1 << exponent
            precision = 15 - len(num) - int(exponent * 3 / 10) - 1
        if precision >= 0:
            scale -= len(denom)
            if scale >= -9:
                shifted = num + denom
                try:
                    ivalue = int(shifted, 10)
                except ValueError:
                    raise CLIError(QUANTITY_NUMERIC_ERROR) from None
                if ivalue > _INT64_MAX:
                    raise CLIError(QUANTITY_NUMERIC_ERROR)
                result = ivalue * mantissa
                if -(1 << 63) <= result <= _INT64_MAX:
                    if not positive:
                        result = -result
                    amount = Fraction(result) * Fraction(10) ** scale
                    keep = False
                    if fmt == "BinarySI":
                        keep = exponent % 10 == 0 and (ivalue & 0x07) != 0
                    else:
                        keep = scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"
                    return cls(amount, fmt, text if keep else "")
        # the arbitrary-precision path: exact value, rounded up (away from zero) to a nano
        exact: Fraction | None
        try:
            exact = Fraction(value) if value not in ("", "+", "-", ".") else None
        except ValueError:
            exact = None
        if exact is None:
            raise CLIError(QUANTITY_NUMERIC_ERROR)
        amount = exact
        amount = amount * (Fraction(10) ** exponent if base == 10 else Fraction(1 << exponent))
        negative = amount < 0
        amount = abs(amount)
        if amount != 0:
            nanos = amount * 1_000_000_000
            whole = nanos.numerator // nanos.denominator
            if whole != nanos:
                whole += 1
            amount = Fraction(whole, 1_000_000_000)
        if fmt == "BinarySI" and amount > _INT64_MAX:
            amount = Fraction(_INT64_MAX)
        if fmt == "BinarySI" and 0 < amount < 1:
            fmt = "DecimalSI"
        return cls(-amount if negative else amount, fmt)

    def canonical(self) -> str:
        """CanonicalizeBytes: the number and suffix Quantity.String() builds when nothing was cached."""
        v = self.value
        if v == 0:
            return "0"
        fmt = self.format
        if fmt == "BinarySI":
            if -1024 < v < 1024 or v.denominator != 1:
                fmt = "DecimalSI"
        if fmt == "BinarySI":
            n = v.numerator
            exp = 0
            while n != 0 and n % 1024 == 0:
                n //= 1024
                exp += 10
            return f"{n}{_BIN_SUFFIX_BY_EXP.get(exp, '')}"
        # decimal: mantissa x 10^exponent with the exponent a multiple of three (rounded down)
        exponent = 0
        while v.denominator != 1:
            v *= 10
            exponent -= 1
        n = v.numerator
        while n != 0 and n % 10 == 0:
            n //= 10
            exponent += 1
        while exponent % 3 != 0:
            n *= 10
            exponent -= 1
        if fmt == "DecimalExponent":
            return f"{n}e{exponent}" if exponent else str(n)
        return f"{n}{_DEC_SUFFIX_BY_EXP.get(exponent, '')}"

    def __str__(self) -> str:
        return self.text or self.canonical()

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"


def _scan_quantity(text: str) -> tuple[bool, str, str, str, str]:
    """parseQuantityString: (positive, value, numerator, denominator, suffix) or the format error."""
    positive = True
    pos = 0
    end = len(text)
    if text[0] == "-":
        positive = False
        pos = 1
    elif text[0] == "+":
        pos = 1
    while True:  # leading zeros
        if pos >= end:
            return positive, "0", "0", "", ""
        if text[pos] != "0":
            break
        pos += 1
    i = pos
    while i < end and text[i].isdigit() and text[i].isascii():
        i += 1
    if i >= end:
        return positive, text, text[pos:end], "", ""
    num = text[pos:i] or "0"
    pos = i
    denom = ""
    if text[pos] == ".":
        pos += 1
        i = pos
        while i < end and text[i].isdigit() and text[i].isascii():
            i += 1
        if i >= end:
            return positive, text, num, text[pos:end], ""
        denom = text[pos:i]
        pos = i
    value = text[:pos]
    suffix_start = pos
    i = pos
    while i < end and text[i] in _SUFFIX_CHARS:
        i += 1
    if i >= end:
        return positive, value, num, denom, text[suffix_start:]
    pos = i
    if text[pos] in "+-":
        pos += 1
    i = pos
    while i < end:
        if not ("0" <= text[i] <= "9"):
            raise CLIError(QUANTITY_FORMAT_ERROR)
        i += 1
    return positive, value, num, denom, text[suffix_start:]


def _interpret_suffix(suffix: str) -> tuple[int, int, str]:
    if suffix in _DEC_SUFFIX_EXP:
        return 10, _DEC_SUFFIX_EXP[suffix], "DecimalSI"
    if suffix in _BIN_SUFFIX_EXP:
        return 2, _BIN_SUFFIX_EXP[suffix], "BinarySI"
    if len(suffix) > 1 and suffix[0] in "eE":
        try:
            exp = _go_atoi64(suffix[1:])
        except ValueError:
            raise CLIError(QUANTITY_SUFFIX_ERROR) from None
        return 10, exp, "DecimalExponent"
    raise CLIError(QUANTITY_SUFFIX_ERROR)


def _go_atoi64(text: str) -> int:
    """strconv.ParseInt(text, 10, 64) then int32() as Go's suffix parser does."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(text)
    value = int(text)
    if not -(1 << 63) <= value <= _INT64_MAX:
        raise ValueError(text)
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value
