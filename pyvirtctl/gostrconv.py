"""Go's strconv number parsing, byte for byte: what pflag's int flags and go-yaml accept.

Python's `int()` is far more lenient than Go (Unicode digits such as a fullwidth `５`, `+-1`,
surrounding whitespace), so flag values and kubeconfig scalars are parsed here instead, with Go's
error texts (`strconv.ParseInt: parsing "x": invalid syntax` / `value out of range`).
"""

from __future__ import annotations

from pyvirtctl.gotext import go_quote

_MAX_UINT64 = (1 << 64) - 1


class NumError(ValueError):
    """strconv.NumError: `strconv.<func>: parsing "<num>": <reason>`; `range` tells the two apart."""

    def __init__(self, func: str, num: str, range_error: bool) -> None:
        reason = "value out of range" if range_error else "invalid syntax"
        super().__init__(f"strconv.{func}: parsing {go_quote(num)}: {reason}")
        self.range_error = range_error


def underscore_ok(s: str) -> bool:
    """Go's underscoreOK: `_` only between digits, or between a base prefix and a digit."""
    saw = "^"
    i = 0
    if s[:1] in ("+", "-") and s:
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i = 2
        saw = "0"
        hexa = s[1].lower() == "x"
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9" or (hexa and "a" <= c.lower() <= "f"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


def _parse_uint(s: str, base: int, bits: int, func: str, shown: str) -> int:
    if not s:
        raise NumError(func, shown, False)
    base0 = base == 0
    body = s
    if base0:
        base = 10
        if s[0] == "0":
            low = s[1:2].lower()
            if len(s) >= 3 and low in ("b", "o", "x"):
                base = {"b": 2, "o": 8, "x": 16}[low]
                body = s[2:]
            else:
                base = 8
                body = s[1:]
    max_val = (1 << bits) - 1
    underscores = False
    n = 0
    overflow = False
    for c in body:
        if c == "_" and base0:
            underscores = True
            continue
        if "0" <= c <= "9":
            d = ord(c) - 48
        elif "a" <= c.lower() <= "z" and c.isascii():
            d = ord(c.lower()) - 87
        else:
            raise NumError(func, shown, False)
        if d >= base:
            raise NumError(func, shown, False)
        if not overflow:
            n = n * base + d
            if n > max_val:
                overflow = True  # Go stops here; a later bad digit cannot be reached
                break
    if overflow:
        raise NumError(func, shown, True)
    if underscores and not underscore_ok(s):
        raise NumError(func, shown, False)
    return n


def parse_uint(s: str, base: int = 0, bits: int = 64) -> int:
    """strconv.ParseUint(s, base, bits). NumError on bad syntax or overflow."""
    return _parse_uint(s, base, bits, "ParseUint", s)


def parse_int(s: str, base: int = 0, bits: int = 64) -> int:
    """strconv.ParseInt(s, base, bits): an optional sign, then ParseUint's digits. NumError."""
    if not s:
        raise NumError("ParseInt", s, False)
    body, neg = s, False
    if s[0] == "+":
        body = s[1:]
    elif s[0] == "-":
        body, neg = s[1:], True
    try:
        un = _parse_uint(body, base, 64, "ParseInt", s)
    except NumError as exc:
        if not exc.range_error:
            raise
        raise NumError("ParseInt", s, True) from None
    cutoff = 1 << (bits - 1)
    if (not neg and un >= cutoff) or (neg and un > cutoff):
        raise NumError("ParseInt", s, True)
    return -un if neg else un
