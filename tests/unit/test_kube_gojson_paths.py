"""Go encoding/json output and the URL builders."""

from __future__ import annotations

import pytest

from pyvirtctl.errors import InputError
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
    assert paths.vm("default", "vm1", "start").path == (
        "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachines/vm1/start"
    )
    assert paths.vm("ns", "vm1").path == "/apis/kubevirt.io/v1/namespaces/ns/virtualmachines/vm1"
    assert paths.vmi("ns", "v", "portforward", "22", "tcp").path == (
        "/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachineinstances/v/portforward/22/tcp"
    )
    assert paths.vmi("ns", "v").path == "/apis/kubevirt.io/v1/namespaces/ns/virtualmachineinstances/v"
    assert paths.collection(paths.MIGRATIONS, "ns").path == (
        "/apis/kubevirt.io/v1/namespaces/ns/virtualmachineinstancemigrations"
    )
    assert paths.collection(paths.VMS, None).path == "/apis/kubevirt.io/v1/virtualmachines"
    assert paths.collection(paths.KUBEVIRTS, None).path == "/apis/kubevirt.io/v1/kubevirts"
    assert paths.collection(paths.SERVICES, "ns").path == "/api/v1/namespaces/ns/services"
    assert paths.ref(paths.DATAVOLUMES, "ns", "dv").path == "/apis/cdi.kubevirt.io/v1beta1/namespaces/ns/datavolumes/dv"
    assert paths.ref(paths.CDICONFIGS, None, "config").path == "/apis/cdi.kubevirt.io/v1beta1/cdiconfigs/config"
    assert paths.collection(paths.EXPAND_VM_SPEC, "ns").path == (
        "/apis/subresources.kubevirt.io/v1/namespaces/ns/expand-vm-spec"
    )
    assert paths.version_path("subresources.kubevirt.io/v1") == "/apis/subresources.kubevirt.io/v1/version"
    assert paths.group_path("subresources.kubevirt.io") == paths.SUBRESOURCES_GROUP_PATH


@pytest.mark.parametrize(
    ("build", "message"),
    [
        # client-go's IsValidPathSegmentName and its words (what virtctl v1.9.0 prints)
        (lambda: paths.vm("default", "a/b", "start"), "invalid resource name \"a/b\": [may not contain '/']"),
        (lambda: paths.vm("default", ".."), "invalid resource name \"..\": [may not be '..']"),
        (lambda: paths.vm("default", "."), "invalid resource name \".\": [may not be '.']"),
        (lambda: paths.vm("default", "50%"), "invalid resource name \"50%\": [may not contain '%']"),
        (lambda: paths.vm("default", "a/%"), "invalid resource name \"a/%\": [may not contain '/' may not contain '%']"),
        (lambda: paths.vm("default", ""), "resource name may not be empty"),
        (lambda: paths.vm("../x", "vm", "stop"), "invalid namespace \"../x\": [may not contain '/']"),
        (lambda: paths.vm("..", "a/b"), "invalid namespace \"..\": [may not be '..']"),  # namespace first
        (lambda: paths.vmi("ns", "v", "portforward", "22", ".."), "invalid subresource \"..\": [may not be '..']"),
        (lambda: paths.ref(paths.PVCS, "ns", "../../x"), "invalid resource name \"../../x\": [may not contain '/']"),
        (lambda: paths.version_path("a/b/c"), "invalid version \"b/c\": [may not contain '/']"),
        (lambda: paths.group_path(".."), "invalid group \"..\": [may not be '..']"),
    ],
)
def test_hostile_parts_are_refused(build, message: str) -> None:
    with pytest.raises(InputError) as info:
        build()
    assert info.value.message == message


@pytest.mark.parametrize(
    ("name", "segment"),
    [
        ("vm?x=1#y z", "vm%3Fx=1%23y%20z"),  # cannot end the path early
        ("ünï", "%C3%BCn%C3%AF"),
        ("a:b@c$d&e+f,g;h=i~j_k-l.m", "a:b@c$d&e+f,g;h=i~j_k-l.m"),  # Go keeps these in a path segment
        (b"vm-\xff".decode("utf-8", "surrogateescape"), "vm-%FF"),  # the bytes the user typed
        ("...", "..."),
    ],
)
def test_parts_are_escaped_like_go(name: str, segment: str) -> None:
    assert paths.vm("default", name).path == f"/apis/kubevirt.io/v1/namespaces/default/virtualmachines/{segment}"


def test_empty_namespace_is_the_cluster_scope_as_in_client_go() -> None:
    assert paths.collection(paths.VMS, "").path == "/apis/kubevirt.io/v1/virtualmachines"


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
