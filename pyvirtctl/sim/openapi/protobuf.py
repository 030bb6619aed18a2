"""The Swagger 2.0 document as the protocol buffer client-go downloads from `/openapi/v2`
(`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`).

The message layout is gnostic's `openapi_v2.Document` (OpenAPIv2.proto); only the parts a
Kubernetes API document uses are written: info, paths with their operations and parameters,
definitions with their schemas, and vendor extensions (as YAML text, which JSON is).
"""

from __future__ import annotations

import json
from typing import Any

# what client-go asks for, and what kube-apiserver answers with (a media type Go's mime package parses)
CONTENT_TYPES = ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
                 "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")


def _varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _bytes(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _str(field: int, s: str | None) -> bytes:
    return _bytes(field, s.encode()) if s else b""


def _bool(field: int, v: bool | None) -> bytes:
    return _varint(field << 3) + b"\x01" if v else b""


def _strs(field: int, values: list[str] | None) -> bytes:
    return b"".join(_bytes(field, v.encode()) for v in values or [])


def _any(value: Any) -> bytes:
    """gnostic `Any` with its `yaml` field (2)."""
    return _str(2, json.dumps(value, separators=(",", ":")))


def _extensions(field: int, obj: dict) -> bytes:
    out = b""
    for k, v in obj.items():
        if k.startswith("x-"):
            out += _bytes(field, _str(1, k) + _bytes(2, _any(v)))
    return out


def schema(s: dict) -> bytes:
    out = _str(1, s.get("$ref")) + _str(2, s.get("format")) + _str(3, s.get("title")) + _str(4, s.get("description"))
    out += _strs(19, s.get("required"))
    for e in s.get("enum") or []:
        out += _bytes(20, _any(e))
    ap = s.get("additionalProperties")
    if isinstance(ap, dict):
        out += _bytes(21, _bytes(1, schema(ap)))
    elif isinstance(ap, bool):
        out += _bytes(21, _varint(2 << 3) + (b"\x01" if ap else b"\x00"))
    if s.get("type"):
        out += _bytes(22, _strs(1, [s["type"]]))
    if isinstance(s.get("items"), dict):
        out += _bytes(23, _bytes(1, schema(s["items"])))
    for sub in s.get("allOf") or []:
        out += _bytes(24, schema(sub))
    if s.get("properties"):
        props = b"".join(_bytes(1, _str(1, k) + _bytes(2, schema(v))) for k, v in s["properties"].items())
        out += _bytes(25, props)
    return out + _extensions(31, s)


def _parameter(p: dict) -> bytes:
    if "$ref" in p:
        return _bytes(2, _str(1, p["$ref"]))  # ParametersItem.json_reference
    if p.get("in") == "body":
        body = (_str(1, p.get("description")) + _str(2, p.get("name")) + _str(3, "body") + _bool(4, p.get("required"))
                + (_bytes(5, schema(p["schema"])) if p.get("schema") else b""))
        return _bytes(1, _bytes(1, body))  # ParametersItem.parameter -> Parameter.body_parameter
    if p.get("in") == "path":
        sub = (_bool(1, p.get("required")) + _str(2, "path") + _str(3, p.get("description")) + _str(4, p.get("name"))
               + _str(5, p.get("type")) + _bool(19, p.get("uniqueItems")))
        nb = _bytes(4, sub)
    else:
        sub = (_bool(1, p.get("required")) + _str(2, p.get("in") or "query") + _str(3, p.get("description"))
               + _str(4, p.get("name")) + _str(6, p.get("type")) + _bool(20, p.get("uniqueItems")))
        nb = _bytes(3, sub)
    return _bytes(1, _bytes(2, nb))  # ParametersItem.parameter -> Parameter.non_body_parameter


def _operation(op: dict) -> bytes:
    out = _strs(1, op.get("tags")) + _str(3, op.get("description")) + _str(5, op.get("operationId"))
    out += _strs(6, op.get("produces")) + _strs(7, op.get("consumes"))
    for p in op.get("parameters") or []:
        out += _bytes(8, _parameter(p))
    codes = b""
    for code, resp in (op.get("responses") or {}).items():
        r = _str(1, resp.get("description"))
        if isinstance(resp.get("schema"), dict):
            r += _bytes(2, _bytes(1, schema(resp["schema"])))
        codes += _bytes(1, _str(1, code) + _bytes(2, _bytes(1, r)))
    if codes:
        out += _bytes(9, codes)
    return out + _extensions(13, op)


_METHODS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def _path_item(item: dict) -> bytes:
    out = b""
    for method, field in _METHODS.items():
        if isinstance(item.get(method), dict):
            out += _bytes(field, _operation(item[method]))
    for p in item.get("parameters") or []:
        out += _bytes(9, _parameter(p))
    return out + _extensions(10, item)


def encode_document(doc: dict) -> bytes:
    """A Swagger 2.0 document (a dict) as a gnostic openapi_v2.Document message."""
    info = doc.get("info") or {}
    out = _str(1, doc.get("swagger", "2.0")) + _bytes(2, _str(1, info.get("title")) + _str(2, info.get("version")))
    paths = b"".join(_bytes(2, _str(1, p) + _bytes(2, _path_item(v))) for p, v in (doc.get("paths") or {}).items())
    out += _bytes(8, paths)
    defs = b"".join(_bytes(1, _str(1, n) + _bytes(2, schema(s))) for n, s in (doc.get("definitions") or {}).items())
    out += _bytes(9, defs)
    return out
