"""Go encoding/json output and the URL builders."""

from __future__ import annotations

import pytest

from pyvirtctl.kube import gojson, paths


@pytest.mark.parametrize(
    ("obj", "text"),
    [
        ({"a": 1, "b": [True, None]}, '{"a":1,"b":[true,null]}'),
        ({"s": "<b>&</b>"}, '{"s":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e"}'),
        ({"s": "héllo ☃"}, '{"s":"héllo ☃"}'),
        ({"s": "\u2028\u2029"}, '{"s":"\\u2028\\u2029"}'),
        ({"s": 'q"\\\n'}, '{"s":"q\\"\\\\\\n"}'),
        ({}, "{}"),
        ([], "[]"),
        ({"dryRun": ["All"]}, '{"dryRun":["All"]}'),
    ],
)
def test_compact(obj: object, text: str) -> None:
    assert gojson.dumps(obj) == text


def test_indent() -> None:
    assert gojson.dumps({"a": {}, "b": [1], "c": "<"}, indent="  ") == (
        '{\n  "a": {},\n  "b": [\n    1\n  ],\n  "c": "\\u003c"\n}'
    )
    assert gojson.dumps({"x": 1}, indent=" ") == '{\n "x": 1\n}'


def test_paths() -> None:
    assert paths.vm_path("default", "vm1", "start") == (
        "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/vm1/start"
    )
    assert paths.vm_path("ns", "vm1") == "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm1"
    assert paths.vmi_path("ns", "v", "portforward/22/tcp") == (
        "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachineinstances/v/portforward/22/tcp"
    )
    assert paths.vmi_path("ns", "v") == "/apis/kubevirt.io/v1/namespaces/ns/virtualmachineinstances/v"
    assert (
        paths.migrations_path("ns") == "/apis/kubevirt.io/v1/namespaces/ns/virtualmachineinstancemigrations"
    )
    assert paths.kubevirts_path() == "/apis/kubevirt.io/v1/kubevirts"
    assert paths.core_path("ns", "services") == "/api/v1/namespaces/ns/services"
    assert paths.group_path("cdi.kubevirt.io", "v1beta1", "ns", "datavolumes", "dv") == (
        "/apis/cdi.kubevirt.io/v1beta1/namespaces/ns/datavolumes/dv"
    )
    assert paths.version_path("subresources.kubevirt.io/v1") == "/apis/subresources.kubevirt.io/v1/version"


@pytest.mark.parametrize(
    ("query", "encoded"),
    [
        ({"labelSelector": "kubevirt.io/vmi-name==vm1"}, "labelSelector=kubevirt.io%2Fvmi-name%3D%3Dvm1"),
        ({"preserveSession": False}, "preserveSession=false"),
        ({"b": "2", "a": "1 x"}, "a=1+x&b=2"),
        ([("k", ["x", "y"])], "k=x&k=y"),
        (None, ""),
    ],
)
def test_encode_query(query: object, encoded: str) -> None:
    assert paths.encode_query(query) == encoded
