"""adm log-verbosity and permitted-devices against the simulator's KubeVirt CR (the one of the
`default` seed). Outputs, requests and patch bodies are those of the reference virtctl v1.9.0 on the
same state; pyvirtctl checks every flag before it reads the CR (virtctl reads first)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from pyvirtctl.sim.harness import REPO_ROOT

KUBEVIRTS = "/apis/kubevirt.io/v1/kubevirts"
KV_CR = "/apis/kubevirt.io/v1/namespaces/kubevirt/kubevirts/kubevirt"
LV = "/spec/configuration/developerConfiguration/logVerbosity"
DC = "/spec/configuration/developerConfiguration"
VERSION_PROBE = ("/apis/subresources.kubevirt.io", "/apis/subresources.kubevirt.io/v1/version")
SEED_CR = yaml.safe_load(Path(REPO_ROOT, "pyvirtctl", "sim", "kubevirt-cr.yaml").read_text())


def install(sim, cr: dict | None = None) -> dict:
    sim.apply(copy.deepcopy(cr or SEED_CR))
    sim.clear_log()
    return cr or SEED_CR


def with_dc(dc: dict | None) -> dict:
    cr = copy.deepcopy(SEED_CR)
    if dc is None:
        del cr["spec"]["configuration"]["developerConfiguration"]
    else:
        cr["spec"]["configuration"]["developerConfiguration"] = dc
    return cr


def calls(sim) -> list[tuple]:
    return [(r["method"], r["path"], r["status"]) + ((r["body"],) if r["method"] == "PATCH" else ())
            for r in sim.requests() if r["path"] not in VERSION_PROBE]


READ = [("GET", KUBEVIRTS, 200), ("GET", KV_CR, 200)]


@pytest.mark.parametrize(
    ("args", "out"),
    [
        (["--virt-handler"], "virt-handler=2\n"),
        (["--virt-launcher", "--virt-api"], "virt-api=2\nvirt-launcher=4\n"),
        (["--virt-api=10"], "virt-api=2\n"),
        (["--all"], "virt-api=2\nvirt-controller=2\nvirt-handler=2\nvirt-launcher=4\nvirt-operator=2\n"),
        (["--all", "--virt-api"], "virt-api=2\nvirt-controller=2\nvirt-handler=2\nvirt-launcher=4\nvirt-operator=2\n"),
    ],
)
def test_show(sim, cli, args, out):
    install(sim)
    r = cli("adm", "log-verbosity", *args)
    assert (r.returncode, r.stdout, r.stderr) == (0, out, "")
    assert calls(sim) == READ


@pytest.mark.parametrize(
    ("cr", "args", "patch"),
    [
        (SEED_CR, ["--virt-handler=7"], [{"op": "add", "path": LV, "value": {"virtHandler": 7, "virtLauncher": 4}}]),
        (SEED_CR, ["--reset"], [{"op": "add", "path": LV, "value": {}}]),
        # the reset's empty map is the one the new level goes into: virtctl sends it twice
        (SEED_CR, ["--reset", "--virt-handler=7"],
         [{"op": "add", "path": LV, "value": {"virtHandler": 7}}, {"op": "add", "path": LV, "value": {"virtHandler": 7}}]),
        (SEED_CR, ["--all=3", "--virt-handler=0x7"],
         [{"op": "add", "path": LV, "value": {"virtAPI": 3, "virtController": 3, "virtHandler": 7, "virtLauncher": 3,
                                              "virtOperator": 3}}]),
        (SEED_CR, ["--virt-api=0"], [{"op": "add", "path": LV, "value": {"virtAPI": 0, "virtLauncher": 4}}]),
        (with_dc(None), ["--virt-handler=7"],
         [{"op": "add", "path": DC, "value": {}}, {"op": "add", "path": LV, "value": {"virtHandler": 7}}]),
        (with_dc(None), ["--reset", "--virt-api=1"],
         [{"op": "add", "path": DC, "value": {}}, {"op": "add", "path": LV, "value": {"virtAPI": 1}}]),
        # a zero level reads as unset (the API type omits it); levels without a flag are kept
        (with_dc({"logVerbosity": {"virtLauncher": 0, "virtSynchronizationController": 5, "virtHandler": 6}}),
         ["--virt-api=1"],
         [{"op": "add", "path": LV, "value": {"virtAPI": 1, "virtHandler": 6, "virtSynchronizationController": 5}}]),
    ],
)
def test_set_and_reset(sim, cli, cr, args, patch):
    install(sim, cr)
    r = cli("adm", "log-verbosity", *args)
    assert (r.returncode, r.stdout, r.stderr) == (0, "successfully set/reset the log verbosity\n", "")
    assert calls(sim) == [*READ, ("PATCH", KV_CR, 200, patch)]
    assert sim.requests()[-1]["headers"]["content-type"] == "application/json-patch+json"
    stored = sim.get("KubeVirt", "kubevirt", "kubevirt")["spec"]["configuration"]["developerConfiguration"]
    assert stored["logVerbosity"] == patch[-1]["value"]


def test_reset_with_nothing_to_reset_sends_no_patch(sim, cli):
    install(sim, with_dc(None))
    r = cli("adm", "log-verbosity", "--reset")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert calls(sim) == READ
    install(sim, with_dc({"logVerbosity": {"virtAPI": 0}}))
    r = cli("adm", "log-verbosity", "--reset")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = cli("adm", "log-verbosity", "--virt-api")
    assert r.stdout == "virt-api=2\n"


def test_flags_are_checked_before_anything_is_sent(sim, cli):
    install(sim)
    cases = [
        (["--virt-handler=12"], "virt-handler: log verbosity must be 0-9"),
        (["--virt-handler=11"], "virt-handler: log verbosity must be 0-9"),
        (["--virt-api=18446744073709551615"], "virt-api: log verbosity must be 0-9"),
        (["--virt-api", "--virt-handler=3"], "only show or set is allowed"),
        (["--virt-api", "--reset"], "only show or set is allowed"),
        (["--virt-handler", "7"], 'unknown command "7" for "pyvirtctl adm log-verbosity"'),
        (["--reset", "--all"],
         "if any flags in the group [reset all] are set none of the others can be; [all reset] were all set"),
        (["--virt-api=-1"], 'invalid argument "-1" for "--virt-api" flag: strconv.ParseUint: parsing "-1": invalid syntax'),
        (["--virt-api="], 'invalid argument "" for "--virt-api" flag: strconv.ParseUint: parsing "": invalid syntax'),
        (["--virt-api=99999999999999999999"], 'invalid argument "99999999999999999999" for "--virt-api" flag: '
                                              'strconv.ParseUint: parsing "99999999999999999999": value out of range'),
    ]
    for args, message in cases:
        r = cli("adm", "log-verbosity", *args)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", message + "\n"), args
    # no flag: the help on stdout, then the error
    r = cli("adm", "log-verbosity")
    assert (r.returncode, r.stderr) == (1, "no flag specified - expecting at least one flag\n")
    assert r.stdout.startswith("- To show the log verbosity of one or more components\n")
    assert "      --virt-api uint[=10]          show/set virt-api log verbosity (0-9) (default 11)\n" in r.stdout
    assert sim.requests() == []


def test_installation_problems(sim, cli):
    r = cli("adm", "log-verbosity", "--all")
    assert (r.returncode, r.stderr.splitlines()[-1]) == (1, "could not detect a KubeVirt installation")
    install(sim)
    second = copy.deepcopy(SEED_CR)
    second["metadata"] = {"name": "kv2", "namespace": "default"}
    sim.apply(second)
    sim.clear_log()
    r = cli("adm", "log-verbosity", "--all")
    assert (r.returncode, r.stderr.splitlines()[-1]) == (
        1, "invalid kubevirt installation, more than one KubeVirt resource found")
    assert calls(sim) == [("GET", KUBEVIRTS, 200)]
    sim.delete("KubeVirt", "default", "kv2")
    sim.fault({"match": {"method": "GET", "path_regex": "kubevirts$"}, "action": "status", "status": 403,
               "message": "nope", "times": 1})
    r = cli("adm", "log-verbosity", "--all")
    assert (r.returncode, r.stderr.splitlines()[-1]) == (1, "could not list KubeVirt CRs across all namespaces: nope")
    sim.clear_faults()
    install(sim, with_dc({"logVerbosity": {"nodeVerbosity": {"node01": 3}}}))
    r = cli("adm", "log-verbosity", "--virt-api=3")
    assert (r.returncode, r.stderr.splitlines()[-1]) == (
        1, "json: cannot unmarshal object into Go struct field .nodeVerbosity of type uint")
    assert calls(sim) == READ


def test_adm_prints_its_usage_with_an_extra_newline(sim, cli):
    for args in ([], ["bogus"]):
        r = cli("adm", *args)
        assert (r.returncode, r.stderr) == (0, "")
        assert r.stdout == (
            "Usage:\n  pyvirtctl adm [flags]\n  pyvirtctl adm [command]\n\nAvailable Commands:\n"
            "  log-verbosity Show, Set or Reset log verbosity. The verbosity value must be 0-9. "
            "The default cluster config is normally 2.\n\n\n"
            "Flags:\n  -h, --help   help for adm\n\n"
            'Use "pyvirtctl options" for a list of global command-line options (applies to all commands).\n\n'
        )


# --------------------------------------------------------------------------- permitted-devices


def test_permitted_devices(sim, cli):
    install(sim)
    r = cli("permitted-devices", "-n", "kubevirt")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == ("Permitted Devices: \nHost Devices: \nnvidia.com/TU104GL_Tesla_T4, intel.com/qat \n"
                        "GPU Devices: \nnvidia.com/GRID_T4-1Q\n")
    assert calls(sim) == [("GET", "/apis/kubevirt.io/v1/namespaces/kubevirt/kubevirts", 200)]
    cr = copy.deepcopy(SEED_CR)
    del cr["spec"]["configuration"]["permittedHostDevices"]
    install(sim, cr)
    r = cli("permitted-devices", "-n", "kubevirt")
    assert r.stdout == "Permitted Devices: \nHost Devices: \n \nGPU Devices: \n\n"


def test_permitted_devices_errors(sim, cli):
    install(sim)
    # only the client's namespace is searched
    r = cli("permitted-devices")
    assert (r.returncode, r.stdout, r.stderr.splitlines()[-1]) == (1, "", 'no KubeVirt resource in "default" namespace')
    r = cli("permitted-devices", "extra")
    assert (r.returncode, r.stderr) == (1, "accepts 0 arg(s), received 1\n")
    sim.fault({"match": {"method": "GET", "path_regex": "kubevirts$"}, "action": "status", "status": 403,
               "message": "nope", "times": 1})
    r = cli("permitted-devices", "-n", "kubevirt")
    assert (r.returncode, r.stderr.splitlines()[-1]) == (1, "nope")
    sim.clear_faults()


def test_permitted_devices_client_error(sim, run_cli_raw):
    r = run_cli_raw(["permitted-devices", "--kubeconfig", "/nope"])
    assert (r.returncode, r.stderr) == (1, "cannot obtain KubeVirt client: stat /nope: no such file or directory\n")
