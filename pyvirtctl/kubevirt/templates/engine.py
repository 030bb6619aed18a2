"""Processing a VirtualMachineTemplate into a VirtualMachine, as virt-template's engine does.

The steps (and the order of their errors) are virtctl's `template process` with a local template:

1. `merge_parameters`: values given on the command line replace the template's (`parameter X not
   found in template` for a name the template does not define);
2. `validate_references`: warnings for parameters nothing references, errors for references to
   parameters that are not defined (the template's message counts as a reference too);
3. `process`: generated values (`generate: expression`, `from: "[a-z0-9]{5}"`), required values,
   the template's hard-coded `metadata.namespace` dropped (kept when it holds a parameter),
   `${NAME}` substituted inside strings and `${{NAME}}` (a whole string) replaced by the value read
   as JSON (`2` becomes a number, `true` a bool, anything that is not JSON stays a string) - in map
   keys too - then the result converted into Go's typed VirtualMachine (`typed`), and the message
   substituted.

Errors carry apimachinery's field-error texts (`spec.parameters[0].value: Required value: ...`),
joined as an aggregate (`[a, b]`) when there are several. The template is the decoded
VirtualMachineTemplate (`decode_template`): `spec.virtualMachine` is the object's JSON text.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable
from typing import Any

from pyvirtctl.errors import CLIError
from pyvirtctl.gotext import go_quote
from pyvirtctl.kubevirt.manifests.decode import Schema, decode
from pyvirtctl.kubevirt.manifests.template import OBJECT_META, PARAMETER, parameters_json
from pyvirtctl.kubevirt.templates import typed
from pyvirtctl.output import go_json

API_VERSION = "template.kubevirt.io/v1beta1"
VM_API_VERSION = "kubevirt.io/v1"

STRING_PARAM = re.compile(r"\$\{([a-zA-Z0-9_]+)\}")
NON_STRING_PARAM = re.compile(r"\$\{\{([a-zA-Z0-9_]+)\}\}")  # the whole string, nothing around it

VM_TEMPLATE: Schema = (
    "struct",
    {
        "kind": "string",
        "apiVersion": "string",
        "metadata": OBJECT_META,
        "spec": (
            "struct",
            {"virtualMachine": "raw", "parameters": ("list", PARAMETER, "[]v1beta1.Parameter"), "message": "string"},
            "v1beta1.VirtualMachineTemplateSpec",
        ),
    },
    "v1beta1.VirtualMachineTemplate",
)


class TemplateError(CLIError):
    """Processing failed; the message is virt-template's text (without virtctl's prefix)."""


def decode_template(data: bytes) -> dict[str, Any]:
    """A VirtualMachineTemplate from a file's bytes (YAML or JSON), as Go's YAMLOrJSONDecoder decodes it.

    Errors read `error decoding VirtualMachineTemplate: ...`."""
    return decode(data, VM_TEMPLATE, "VirtualMachineTemplate")


def template_from_api(obj: dict[str, Any]) -> dict[str, Any]:
    """A VirtualMachineTemplate read from the API (JSON already parsed) in the shape `decode_template` gives."""
    from pyvirtctl.output import go_json as dump

    return decode(dump(obj).encode(), VM_TEMPLATE, "VirtualMachineTemplate")


def parameters(tpl: dict[str, Any]) -> list[dict[str, Any]]:
    return list(((tpl.get("spec") or {}).get("parameters")) or [])


# --------------------------------------------------------------------------- field errors


def _bad_value(value: Any) -> str:
    """How apimachinery's field.Error prints a bad value."""
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return go_json(value)
    return go_json(value)


def invalid(path: str, value: Any, detail: str) -> str:
    return f"{path}: Invalid value: {_bad_value(value)}: {detail}"


def required(path: str, detail: str) -> str:
    return f"{path}: Required value: {detail}"


def duplicate(path: str, value: Any) -> str:
    return f"{path}: Duplicate value: {_bad_value(value)}"


def aggregate(errors: list[str]) -> str:
    """utilerrors.Aggregate's text: duplicates dropped, several joined in brackets."""
    unique: list[str] = []
    for e in errors:
        if e not in unique:
            unique.append(e)
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def merge_parameters(params: list[dict[str, Any]], given: dict[str, str]) -> list[dict[str, Any]]:
    """The template's parameters with the given values set (virt-template's MergeParameters)."""
    merged = [dict(p) for p in params]
    for key, value in given.items():
        for p in merged:
            if (p.get("name") or "") == key:
                p["value"] = value
                break
        else:
            raise TemplateError(f"parameter {key} not found in template")
    return merged


def _vm_object(tpl: dict[str, Any]) -> dict[str, Any]:
    """The template's VirtualMachine as an unstructured object (numbers are float64, as in Go)."""
    raw = (tpl.get("spec") or {}).get("virtualMachine")
    if raw is None or raw == "":
        raise TemplateError(invalid("spec.virtualMachine", None, "virtualMachine is required and cannot be empty"))
    try:
        obj = _json_any(str(raw))
    except ValueError:
        obj = None
    if obj is not None and not isinstance(obj, dict):
        import base64

        kind = {bool: "bool", str: "string", float: "number", list: "array"}[type(obj)]
        encoded = base64.b64encode(str(raw).encode("utf-8", "surrogateescape")).decode()
        raise TemplateError(invalid("spec.virtualMachine.raw", encoded,
                                    f"error decoding virtualMachine: json: cannot unmarshal {kind} into Go value "
                                    "of type map[string]interface {}"))
    return obj or {}


def _json_any(text: str) -> Any:
    """json.Unmarshal into interface{}: numbers become float64; an invalid document is a ValueError."""
    import json

    def constant(name: str) -> Any:
        raise ValueError(name)

    value = json.loads(text, parse_int=float, parse_float=float, parse_constant=constant)
    if _has_inf(value):
        raise ValueError("number out of range")
    return value


def _has_inf(value: Any) -> bool:
    if isinstance(value, float):
        return math.isinf(value)
    if isinstance(value, dict):
        return any(_has_inf(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_inf(v) for v in value)
    return False


def referenced_in(text: str) -> list[str]:
    """Parameter names a string refers to (`${X}` anywhere, or `${{X}}` as the whole string)."""
    names: list[str] = []
    m = NON_STRING_PARAM.fullmatch(text)
    if m:
        names.append(m.group(1))
    for name in STRING_PARAM.findall(text):
        if name not in names:
            names.append(name)
    return names


def _strings(value: Any) -> list[str]:
    """Every string of an unstructured object, map keys included."""
    out: list[str] = []
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            out.append(k)
            out.extend(_strings(v))
    elif isinstance(value, list):
        for v in value:
            out.extend(_strings(v))
    return out


def validate_references(tpl: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(warnings, errors): parameters defined but never referenced, references to undefined ones."""
    try:
        obj = _vm_object(tpl)
    except TemplateError as e:
        return [], [e.message]
    referenced: list[str] = []
    for text in [*_strings(obj), (tpl.get("spec") or {}).get("message") or ""]:
        for name in referenced_in(text):
            if name not in referenced:
                referenced.append(name)
    defined: dict[str, int] = {}
    for i, p in enumerate(parameters(tpl)):
        defined[p.get("name") or ""] = i
    warnings = [f"spec.parameters[{i}].name: {name} is defined but never referenced"
                for name, i in defined.items() if name not in referenced]
    errors = [invalid("spec.virtualMachine", name, f"references undefined parameter {name}")
              for name in referenced if name not in defined]
    return warnings, errors


# --------------------------------------------------------------------------- the expression generator

_EXPRESSION = re.compile(r"\[([a-zA-Z0-9\-\\]+)\](\{(\w+)\})", re.ASCII)
_RANGE = re.compile(r"(\\w)|(\\d)|(\\a)|(\\A)|(.-.)|([a-zA-Z0-9]+)")
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"
_ALNUM = _LETTERS + _DIGITS
_SYMBOLS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


class GeneratorError(Exception):
    pass


def generate_expression(text: str) -> str:
    """virt-template's `expression` generator: each `[ranges]{length}` becomes random characters."""
    while True:
        m = _EXPRESSION.search(text)
        if m is None:
            return text
        expr = m.group(0)
        start = expr.rindex("{")
        ranges = expr[1 : start - 1]
        if not _RANGE.search(ranges):
            raise GeneratorError(f"malformed ranges syntax: {ranges}")
        length = _atoi(expr[start + 1 : -1])
        if length < 1 or length > 255:
            raise GeneratorError(f"range must be within [1-255] characters: {length}")
        alphabet = _alphabet(ranges)
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        text = text.replace(expr, value, 1)


def _atoi(text: str) -> int:
    if re.fullmatch(r"[+-]?[0-9]+", text):
        n = int(text)
        if -(1 << 63) <= n < (1 << 63):
            return n
        raise GeneratorError(f"malformed length syntax: strconv.Atoi: parsing {go_quote(text)}: value out of range")
    raise GeneratorError(f"malformed length syntax: strconv.Atoi: parsing {go_quote(text)}: invalid syntax")


def _alphabet(ranges: str) -> str:
    chars: list[str] = []
    for m in _RANGE.finditer(ranges):
        part = m.group(0)
        if part == "\\w":
            chars.append(_ALNUM + "_")
        elif part in ("\\d",):
            chars.append(_DIGITS)
        elif part == "\\a":
            chars.append(_ALNUM)
        elif part == "\\A":
            chars.append(_SYMBOLS)
        elif len(part) == 3 and part[1] == "-":
            left, right = _ALNUM.find(part[0]), _ALNUM.find(part[2])
            if left == -1:
                raise GeneratorError(f"invalid start character in range: {part[0]}")
            if right == -1:
                raise GeneratorError(f"invalid end character in range: {part[2]}")
            if left > right:
                raise GeneratorError(f"invalid range specified: {part[0]}-{part[2]}")
            chars.append(_ALNUM[left : right + 1])
        else:
            chars.append(part)
    return "".join(sorted(set("".join(chars))))


def _generate_values(params: list[dict[str, Any]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for i, p in enumerate(params):
        path = f"spec.parameters[{i}]"
        name = p.get("name") or ""
        if name == "":
            raise TemplateError(invalid(f"{path}.name", name, "parameter name is empty"))
        if name in values:
            raise TemplateError(duplicate(f"{path}.name", name))
        value = p.get("value") or ""
        generate = p.get("generate") or ""
        if value == "" and generate != "":
            if generate != "expression":
                raise TemplateError(invalid(f"{path}.generate", generate,
                                            f"unknown generator name '{generate}' for parameter '{name}'"))
            source = p.get("from") or ""
            if source == "":
                raise TemplateError(invalid(f"{path}.from", source,
                                            f"from cannot be empty for parameter '{name}' using generator '{generate}'"))
            try:
                value = generate_expression(source)
            except GeneratorError as e:
                raise TemplateError(invalid(f"{path}.from", source, str(e))) from None
        if value == "" and p.get("required"):
            raise TemplateError(required(f"{path}.value",
                                         f"parameter '{name}' is required and a value must be specified"))
        values[name] = value
    return values


# --------------------------------------------------------------------------- substitution


class _SubstitutionError(Exception):
    pass


def substitute(text: str, values: dict[str, str]) -> tuple[str, bool]:
    """(result, as_string): `${{X}}` as the whole string gives the raw value (as_string False)."""
    m = NON_STRING_PARAM.fullmatch(text)
    if m:
        if m.group(1) not in values:
            raise _SubstitutionError(f"found parameter '{m.group(1)}' but it was not defined")
        return text.replace(m.group(0), values[m.group(1)], 1), False
    out = text
    for match in STRING_PARAM.finditer(text):
        name = match.group(1)
        if name not in values:
            raise _SubstitutionError(f"found parameter '{name}' but it was not defined")
        out = out.replace(match.group(0), values[name], 1)
    return out, True


_GO_TYPE = {bool: "bool", str: "string", float: "float64", list: "[]interface {}", dict: "map[string]interface {}"}


def _substituted(value: Any, values: dict[str, str], target: str) -> Any:
    """visitUnsettableValues: a map key (target `string`) or a map/list element (`interface {}`)."""
    if isinstance(value, str):
        out, as_string = substitute(value, values)
        if as_string:
            return out
        try:
            data = _json_any(out)
        except ValueError:
            return out  # not JSON: kept as a string
        if data is None:
            raise _SubstitutionError(f"cannot assign nil value to target type {target}")
        if target == "string" and not isinstance(data, str):
            raise _SubstitutionError(f"substituted value type {_GO_TYPE[type(data)]} is not assignable to "
                                     f"target type {target}")
        return data
    if isinstance(value, dict):
        _substitute_map(value, values)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = _substituted(item, values, "interface {}")
    return value


def _substitute_map(obj: dict[str, Any], values: dict[str, str]) -> None:
    updates: dict[Any, Any] = {}
    deletes: list[str] = []
    for key in list(obj):
        new_key = _substituted(key, values, "string")
        updates[new_key] = _substituted(obj[key], values, "interface {}")
        if new_key != key:
            deletes.append(key)
    for key in deletes:
        del obj[key]
    obj.update(updates)


def _remove_hardcoded_namespace(obj: dict[str, Any]) -> None:
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        ns = meta.get("namespace")
        if isinstance(ns, str) and ns and not STRING_PARAM.search(ns):
            del meta["namespace"]


# --------------------------------------------------------------------------- process


def process(tpl: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(the VirtualMachine as json.Marshal writes it, the substituted message)."""
    params = parameters(tpl)
    values = _generate_values(params)
    obj = _vm_object(tpl)
    _remove_hardcoded_namespace(obj)
    try:
        _substitute_map(obj, values)
    except _SubstitutionError as e:
        raise TemplateError(invalid("spec.parameters", parameters_json(params),
                                    f"error processing template: {e}")) from None
    try:
        vm = typed.from_unstructured(obj)
    except typed.TypedError as e:
        raise TemplateError(invalid("spec.virtualMachine", _sorted_object(obj),
                                    f"failed to convert unstructured object to VirtualMachine: {e.message}")) from None
    vm["TypeMeta"] = {"Kind": "VirtualMachine", "APIVersion": VM_API_VERSION}
    message = (tpl.get("spec") or {}).get("message") or ""
    try:
        message, _ = substitute(message, values)
    except _SubstitutionError as e:
        raise TemplateError(invalid("spec.message", message, f"error processing message: {e}")) from None
    return typed.marshal(vm), message


def _sorted_object(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_object(value[k]) for k in sorted(value, key=lambda s: s.encode("utf-8", "surrogateescape"))}
    if isinstance(value, list):
        return [_sorted_object(v) for v in value]
    return value


def process_local(tpl: dict[str, Any], given: dict[str, str],
                  warn: Callable[[str], None]) -> tuple[dict[str, Any], str]:
    """virtctl's local processing: (vm, message); `warn` gets each reference warning first.

    Errors carry virtctl's prefixes (`error merging template parameters: ...`, `error validating
    template parameters: ...`, `error processing VirtualMachineTemplate locally: ...`)."""
    try:
        merged = merge_parameters(parameters(tpl), given)
    except TemplateError as e:
        raise TemplateError(f"error merging template parameters: {e.message}") from None
    tpl = {**tpl, "spec": {**(tpl.get("spec") or {}), "parameters": merged}}
    warnings, errors = validate_references(tpl)
    for w in warnings:
        warn(w)
    if errors:
        raise TemplateError(f"error validating template parameters: {aggregate(errors)}")
    try:
        return process(tpl)
    except TemplateError as e:
        raise TemplateError(f"error processing VirtualMachineTemplate locally: {e.message}") from None


def vm_from_api(obj: Any) -> dict[str, Any]:
    """A VirtualMachine answered by the server, as client-go decodes it and json.Marshal writes it."""
    return typed.marshal(typed.decode_json(obj))


