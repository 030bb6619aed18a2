"""adm log-verbosity: the operation, the lines shown and the JSON patch (pure), each row checked
against the reference virtctl on the simulator."""

from __future__ import annotations

import pytest

from pyvirtctl.errors import CLIError, InputError
from pyvirtctl.kubevirt import adm

Opts = adm.LogVerbosityOptions
LV = "/spec/configuration/developerConfiguration/logVerbosity"
DC = "/spec/configuration/developerConfiguration"


@pytest.mark.parametrize(
    ("levels", "reset", "result"),
    [
        ({"virt-handler": 10}, False, "show"),
        ({"all": 10, "virt-api": 10}, False, "show"),
        ({"virt-handler": 7}, False, "set"),
        ({"virt-handler": 0}, False, "set"),
        ({}, True, "set"),
        ({"virt-handler": 7}, True, "set"),
        ({"virt-handler": 12}, False, "virt-handler: log verbosity must be 0-9"),
        ({"virt-handler": 11}, False, "virt-handler: log verbosity must be 0-9"),  # typed 11 is not "not given"
        ({"all": 18446744073709551615}, False, "all: log verbosity must be 0-9"),
        # the first bad level in the flags' declaration order, before a show/set mix is seen
        ({"virt-operator": 12, "virt-api": 13}, False, "virt-api: log verbosity must be 0-9"),
        ({"virt-api": 10, "virt-handler": 12}, False, "virt-handler: log verbosity must be 0-9"),
        ({"virt-api": 10, "virt-handler": 3}, False, "only show or set is allowed"),
        ({"virt-api": 10}, True, "only show or set is allowed"),
        ({}, False, "no flag specified - expecting at least one flag"),
    ],
)
def test_operation(levels, reset, result):
    if result in ("show", "set"):
        assert adm.operation(Opts(levels, reset)) == result
        return
    with pytest.raises(InputError) as err:
        adm.operation(Opts(levels, reset))
    assert str(err.value) == result
    assert isinstance(err.value, adm.NoFlagError) == (result == adm.NO_FLAG)


def kv(lv: object = None, dc: bool = True) -> dict:
    config: dict = {}
    if dc:
        config["developerConfiguration"] = {"featureGates": ["X"]} if lv is None else {"logVerbosity": lv}
    return {"spec": {"configuration": config}}


def test_current_levels():
    assert adm.current_levels(kv(dc=False)) == ({}, False)
    assert adm.current_levels(kv()) == ({}, True)
    # zero levels vanish (omitempty), unknown fields are dropped, virtSynchronizationController is kept
    got = {"virtAPI": 0, "virtHandler": 6, "virtSynchronizationController": 5, "unknown": 3}
    assert adm.current_levels(kv(got)) == ({"virtHandler": 6, "virtSynchronizationController": 5}, True)
    with pytest.raises(CLIError, match=r"^json: cannot unmarshal object into Go struct field \.nodeVerbosity of "
                                       r"type uint$"):
        adm.current_levels(kv({"nodeVerbosity": {"node01": 3}}))


def test_show_lines():
    current = {"virtLauncher": 4}
    assert adm.show_lines(Opts({"virt-launcher": 10, "virt-api": 10}), current) == ["virt-api=2", "virt-launcher=4"]
    assert adm.show_lines(Opts({"all": 10}), current) == [
        "virt-api=2", "virt-controller=2", "virt-handler=2", "virt-launcher=4", "virt-operator=2"]


@pytest.mark.parametrize(
    ("levels", "reset", "current", "has_dc", "patch"),
    [
        ({"virt-handler": 7}, False, {"virtLauncher": 4}, True,
         [{"op": "add", "path": LV, "value": {"virtHandler": 7, "virtLauncher": 4}}]),
        ({"virt-handler": 7}, False, {}, False,
         [{"op": "add", "path": DC, "value": {}}, {"op": "add", "path": LV, "value": {"virtHandler": 7}}]),
        ({}, True, {"virtLauncher": 4}, True, [{"op": "add", "path": LV, "value": {}}]),
        ({}, True, {}, True, []),  # nothing to reset: no request at all
        ({}, True, {}, False, []),
        # the map a reset adds is the one the new levels go into: both operations show them
        ({"virt-handler": 7}, True, {"virtLauncher": 4}, True,
         [{"op": "add", "path": LV, "value": {"virtHandler": 7}}, {"op": "add", "path": LV, "value": {"virtHandler": 7}}]),
        ({"all": 3, "virt-handler": 7}, False, {"virtSynchronizationController": 5}, True,
         [{"op": "add", "path": LV, "value": {"virtAPI": 3, "virtController": 3, "virtHandler": 7, "virtLauncher": 3,
                                              "virtOperator": 3, "virtSynchronizationController": 5}}]),
        ({"virt-api": 0}, False, {}, True, [{"op": "add", "path": LV, "value": {"virtAPI": 0}}]),
    ],
)
def test_patch(levels, reset, current, has_dc, patch):
    ops = adm.verbosity_patch(Opts(levels, reset), current, has_dc)
    assert ops == patch
    for op in ops:  # Go writes map keys sorted
        assert list(op["value"]) == sorted(op["value"])
