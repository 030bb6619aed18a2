"""The simulator's virt-template stand-in: processing, stable names, discovery, the request controller."""

from __future__ import annotations

import asyncio
import re

import pytest

from pyvirtctl.sim import resources, templates
from pyvirtctl.sim.kstatus import StatusError
from pyvirtctl.sim.state import SimState


def tpl(params: list[dict], vm: object, message: str = "") -> dict:
    return {"metadata": {"name": "t", "namespace": "default"},
            "spec": {"parameters": params, "virtualMachine": vm, "message": message}}


VM = {"metadata": {"name": "${NAME}", "namespace": "fixed"}, "spec": {"runStrategy": "${RUN}"}}


def test_process_substitutes_and_warns() -> None:
    vm, message, warnings = templates.process_template(
        tpl([{"name": "NAME", "generate": "expression", "from": "vm-[a-z]{4}"}, {"name": "RUN", "value": "Halted"},
             {"name": "EXTRA", "value": "x"}], VM, "made ${NAME}"), {})
    assert re.fullmatch(r"vm-[a-z]{4}", vm["metadata"]["name"])
    assert list(vm)[:2] == ["kind", "apiVersion"] and "namespace" not in vm["metadata"]
    assert message == f"made {vm['metadata']['name']}"
    assert warnings == ["spec.parameters[2].name: EXTRA is defined but never referenced"]


@pytest.mark.parametrize(("params", "given", "vm", "code", "message"), [
    ([{"name": "NAME"}, {"name": "RUN"}], {"NOPE": "1"}, VM, 409,
     'Operation cannot be fulfilled on  "t": parameter NOPE not found in template'),
    ([{"name": "NAME"}], {}, VM, 422,
     ' "t" is invalid: spec.virtualMachine: Invalid value: "RUN": references undefined parameter RUN'),
    ([{"name": "NAME", "required": True}, {"name": "RUN"}], {}, VM, 422,
     " \"t\" is invalid: spec.parameters[0].value: Required value: parameter 'NAME' is required and a value must "
     "be specified"),
    ([{"name": "NAME", "generate": "expression", "from": "[z-a]{3}"}, {"name": "RUN"}], {}, VM, 422,
     ' "t" is invalid: spec.parameters[0].from: Invalid value: "[z-a]{3}": invalid range specified: z-a'),
    ([{"name": "NAME"}], {}, None, 422,
     ' "t" is invalid: spec.virtualMachine: Invalid value: null: virtualMachine is required and cannot be empty'),
    ([{"name": "NAME", "value": "null"}], {}, {"metadata": {"name": "${{NAME}}"}}, 422,
     ' "t" is invalid: spec.parameters: Invalid value: [{"name":"NAME","value":"null"}]: error processing template: '
     "cannot assign nil value to target type interface {}"),
])
def test_process_errors(params: list[dict], given: dict, vm: object, code: int, message: str) -> None:
    with pytest.raises(StatusError) as e:
        templates.process_template(tpl(params, vm), given)
    assert (e.value.code, e.value.message) == (code, message)


def test_stable_names_are_fnv32a() -> None:
    assert templates.stable_name("a") == "a-e40c292c"  # FNV-1a 32 of "a"
    assert templates.stable_name("", "a") == "x-e40c292c"  # a name must start with a letter
    assert re.fullmatch(r"obj-[0-9a-f]{8}", templates.stable_name("My-Template", "uid"))  # not a DNS-1035 label
    long = templates.stable_name("a" * 80, "uid", "vol")
    assert len(long) == 63 and long.startswith("a" * 54 + "-")


def test_discovery_lists_the_subresources() -> None:
    doc = resources.resource_list(resources.TEMPLATE_SUBRESOURCE_GROUP, "v1beta1")
    assert doc is not None
    assert [r["name"] for r in doc["resources"]] == [
        "virtualmachinetemplates", "virtualmachinetemplates/create", "virtualmachinetemplates/process"]
    assert resources.TEMPLATE_SUBRESOURCE_GROUP in resources.groups()
    assert resources.by_kind("vmtr").kind == "VirtualMachineTemplateRequest"


def test_request_controller_steps() -> None:
    state = SimState()
    store = state.store

    async def run() -> None:
        state.ensure_namespace("default")
        store.create(state.res("VirtualMachine"), {
            "metadata": {"name": "src", "namespace": "default"},
            "spec": {"runStrategy": "Halted", "template": {"spec": {"volumes": [
                {"name": "root", "dataVolume": {"name": "src-root"}}]}}}})
        req = store.create(state.res("VirtualMachineTemplateRequest"), {
            "metadata": {"name": "r1", "namespace": "default"},
            "spec": {"virtualMachineRef": {"namespace": "default", "name": "src"}, "templateName": "tpl",
                     "templateLabels": {"team": "a", "template.kubevirt.io/x": "dropped"}}})
        templates.reconcile(state, lambda key: True)
        step1 = store.get(state.res("VirtualMachineTemplateRequest"), "default", "r1")
        ready = templates._find(step1, "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "Waiting")
        templates.reconcile(state, lambda key: True)
        done = store.get(state.res("VirtualMachineTemplateRequest"), "default", "r1")
        assert done["status"]["templateRef"] == {"name": "tpl"}
        assert templates._find(done, "Progressing")["status"] == "False"
        made = store.get(state.res("VirtualMachineTemplate"), "default", "tpl")
        assert made["metadata"]["labels"] == {"team": "a", templates.REQUEST_UID_LABEL: req["metadata"]["uid"]}
        spec = made["spec"]["virtualMachine"]["spec"]
        assert spec["template"]["spec"]["volumes"] == [{"name": "root", "dataVolume": {"name": "src-root-${NAME}"}}]
        assert spec["dataVolumeTemplates"][0]["metadata"] == {"name": "src-root-${NAME}"}

    asyncio.run(run())
