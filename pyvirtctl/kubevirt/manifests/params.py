"""The `key:value,key:value` grammar of virtctl's create flags, and the checks its builders share.

A flag such as ``--volume-import type:blank,size:10Gi,name:data`` is split on ``,`` and each part on
its first ``:``; the known keys of a parameter spec are taken out and converted (``uint`` for boot
orders, Kubernetes quantities for sizes, ``;``-separated lists), and any key left over is an error.
Error texts are virtctl's, prefixed ``failed to parse "--FLAG" flag: ``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from pyvirtctl.errors import CLIError
from pyvirtctl.kube.quantity import Quantity

# Kubernetes' rand.String alphabet (no vowels, no confusable characters)
RANDOM_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
RANDOM_SUFFIX_LENGTH = 5

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1123_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


class ManifestError(CLIError):
    """A create/template argument that cannot be turned into a manifest (virtctl's one-line text)."""


def flag_error(flag: str, message: str) -> ManifestError:
    return ManifestError(f'failed to parse "--{flag}" flag: {message}')


def random_suffix(length: int = RANDOM_SUFFIX_LENGTH) -> str:
    return "".join(secrets.choice(RANDOM_ALPHABET) for _ in range(length))


def dns1123_label_errors(value: str) -> list[str]:
    """k8s IsDNS1123Label: the list of problems (empty when the value is a valid label)."""
    errors: list[str] = []
    if len(value.encode("utf-8", "surrogateescape")) > 63:
        errors.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.fullmatch(value):
        if _DNS1123_SUBDOMAIN.fullmatch(value):
            errors.append("must not contain dots")
        else:
            errors.append(DNS1123_LABEL_MESSAGE)
    return errors


# --------------------------------------------------------------------------- parameter specs
#
# A spec is an ordered mapping param name -> kind, kind one of "string", "uint", "quantity",
# "list" (the order is the Go struct's: it decides which bad value is reported first and the
# text of `--help`'s "Supported parameters").

Spec = Mapping[str, str]

_GO_TYPE_NAMES = {"string": "string", "uint": "uint", "quantity": "resource.Quantity", "list": "[]string"}


def supported(spec: Spec) -> str:
    """virtctl's `params.Supported`: `name:string,src:string,bootorder:uint`."""
    return ",".join(f"{name}:{_GO_TYPE_NAMES[kind]}" for name, kind in spec.items())


def split_params(text: str) -> dict[str, str]:
    """`a:1,b:2` -> {"a": "1", "b": "2"} (a repeated key keeps its last value). Unprefixed errors."""
    if text == "":
        raise ManifestError("params may not be empty")
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition(":")
        if not sep:
            raise ManifestError(f"params need to have at least one colon: {part}")
        out.pop(key, None)
        out[key] = value
    return out


def _parse_uint32(text: str) -> int:
    from pyvirtctl.gotext import go_quote

    if not text or not text.isascii() or not text.isdigit():
        raise ValueError(f"strconv.ParseUint: parsing {go_quote(text)}: invalid syntax")
    value = int(text)
    if value > 0xFFFFFFFF:
        raise ValueError(f"strconv.ParseUint: parsing {go_quote(text)}: value out of range")
    return value


def map_params(flag: str, text: str, spec: Spec) -> dict[str, Any]:
    """virtctl's `params.Map`: the known params converted; unknown ones are an error.

    Values: "string" -> str, "uint" -> int, "quantity" -> Quantity, "list" -> list[str]. Params not
    given are absent from the result.
    """
    try:
        raw = split_params(text)
    except ManifestError as e:
        raise flag_error(flag, e.message) from None
    out: dict[str, Any] = {}
    for name, kind in spec.items():
        if name not in raw:
            continue
        value = raw.pop(name)
        try:
            if kind == "uint":
                out[name] = _parse_uint32(value)
            elif kind == "quantity":
                out[name] = Quantity.parse(value)
            elif kind == "list":
                out[name] = value.split(";")
            else:
                out[name] = value
        except (ValueError, CLIError) as e:
            raise flag_error(flag, f'failed to parse param "{name}": {e}') from None
    if raw:
        # Go lists the leftovers in map order (random); one unknown param reads the same either way
        raise flag_error(flag, "unknown param(s): " + ",".join(f"{k}:{v}" for k, v in raw.items()))
    return out


def param_by_name(name: str, text: str) -> str | None:
    """virtctl's `params.GetParamByName`: the raw value, None when absent; split errors raise (unprefixed)."""
    return split_params(text).get(name)


def split_prefixed_name(text: str) -> tuple[str, str]:
    """`prefix/name` -> (prefix, name); `name` -> ("", name). Unprefixed errors."""
    parts = text.split("/")
    if len(parts) == 1:
        prefix, name = "", parts[0]
    elif len(parts) == 2:
        prefix, name = parts
    else:
        raise ManifestError(f"invalid count {len(parts) - 1} of slashes in prefix/name")
    if name == "":
        raise ManifestError("name cannot be empty")
    return prefix, name
