"""Every command that puts a user-typed name, namespace, volume, claim or target into a URL, run with
values that would change which resource the URL names. Nothing may reach the server - not even the
version probe, since the command line itself is wrong - and the error is virtctl's text (its command
prefix, then client-go's `invalid resource name "...": [...]`), exit status 1.

The expected lines were taken from the reference virtctl v1.9.0 run side by side on the simulator
(112 of these cases print the same line there, and the `template process`/`template create` ones). The rest are deliberate: where virtctl sends such a
path (console, vnc) pyvirtctl refuses with client-go's words; `addvolume BAD --volume-name=V` reports
the bad VM name where virtctl first looks V up; `memory-dump get VM --create-claim --claim-name=BAD`
refuses the claim before reading the VM. The README lists these.
"""

from __future__ import annotations

import pytest

SLASH = "x/../../../api/v1/namespaces/default/secrets/foo"
HOSTILE_NAMES = [
    (SLASH, "[may not contain '/']"),
    ("..", "[may not be '..']"),
    ("50%", "[may not contain '%']"),
]
NS = "../x"
NS_PROBLEM = f'invalid namespace "{NS}": [may not contain \'/\']'


def name_problem(name: str, why: str) -> str:
    return f'invalid resource name "{name}": {why}'


# (argv with {} for the name, the error line's prefix for that name: `prefix + problem`)
NAME_COMMANDS: list[tuple[list[str], str]] = [
    (["start", "{}"], "Error starting VirtualMachine "),
    (["start", "--paused", "{}"], "Error starting VirtualMachine "),
    (["stop", "{}"], "error stopping VirtualMachine "),
    (["stop", "{}", "--force", "--grace-period=0"], "error force stopping VirtualMachine: "),
    (["restart", "{}"], "error restarting VirtualMachine: "),
    (["migrate", "{}"], "Error migrating VirtualMachine "),
    (["pause", "vm", "{}"], "Error getting VirtualMachine {}: "),
    (["pause", "vmi", "{}"], "Error pausing VirtualMachineInstance {}: "),
    (["unpause", "vm", "{}"], "Error getting VirtualMachine {}: "),
    (["unpause", "vmi", "{}"], "Error unpausing VirtualMachineInstance {}: "),
    (["soft-reboot", "{}"], "Error soft rebooting VirtualMachineInstance {}: "),
    (["reset", "{}"], "Error reseting VirtualMachineInstance {}: "),
    (["expose", "vm", "{}", "--port", "80", "--name", "s"], "error fetching VirtualMachine: "),
    (["expose", "vmi", "{}", "--port", "80", "--name", "s"], "error fetching VirtualMachineInstance: "),
    (["expose", "vmirs", "{}", "--port", "80", "--name", "s"], "error fetching VirtualMachineInstanceReplicaSet: "),
    (["guestosinfo", "{}"], "Error getting guestosinfo of VirtualMachineInstance {}, "),
    (["userlist", "{}"], "Error listing users of VirtualMachineInstance {}, "),
    (["fslist", "{}"], "Error listing filesystems of VirtualMachineInstance {}, "),
    (["vnc", "screenshot", "{}", "-f", "shot.png"], "Can't access VMI {}: "),
    (["vnc", "{}", "--proxy-only"], "can't access VMI {}: "),
    (["console", "{}"], ""),
    (["addvolume", "{}", "--volume-name=v"], "error adding volume, "),
    (["removevolume", "{}", "--volume-name=v"], "error removing volume, "),
    (["expand", "--vm", "{}"], "error expanding VirtualMachine - {} in namespace - default: "),
    (["evacuate-cancel", "vm", "{}"], "error retrieving VMI for evacuation cancel for VM default/{}: "),
    (["evacuate-cancel", "vmi", "{}"], "error retrieving VMI for evacuation cancel for VMI default/{}: "),
    (["memory-dump", "get", "{}", "--claim-name=c"], "error dumping vm memory, "),
    (["memory-dump", "remove", "{}"], "error removing memory dump association, "),
    (["memory-dump", "download", "{}", "--output=dump.gz"], ""),
    (["template", "convert", "{}"], "error fetching remote Template default/{}: "),
    (["template", "process", "{}"], "error processing remote VirtualMachineTemplate default/{}: "),
    (["template", "process", "{}", "--create"],
     "error creating VirtualMachine from remote VirtualMachineTemplate default/{}: "),
    (["template", "process", "{}", "--local"], "error fetching remote VirtualMachineTemplate default/{}: "),
    (["template", "process", "--name", "{}", "--print-params"],
     "error printing template parameters: error fetching remote VirtualMachineTemplate default/{}: "),
    (["status", "{}"], "error fetching VirtualMachine {}: "),
    (["credentials", "add-ssh-key", "-u", "u", "--value", "k", "{}"], "error getting virtual machine: "),
    (["credentials", "remove-ssh-key", "-u", "u", "--value", "k", "{}"], "error getting virtual machine: "),
    (["credentials", "set-password", "-u", "u", "-p", "p", "{}"], "error getting virtual machine: "),
    (["objectgraph", "{}"], "error listing object graph of VirtualMachine {}: "),
    (["objectgraph", "--vmi", "{}"], "error listing object graph of VirtualMachineInstance {}: "),
]

# a name that is a volume, a claim or a port-forward target rather than the command's VM
OTHER_PARTS: list[tuple[list[str], str]] = [
    (["addvolume", "vm", "--volume-name={}"], "error adding volume, Volume {} is not a DataVolume or PersistentVolumeClaim"),
    (["memory-dump", "get", "vm", "--claim-name={}", "--create-claim"], "{problem}"),
    (["migrate-cancel", "{}"], "Found no migration to cancel for {}"),
]

PORT_FORWARD: list[tuple[list[str], str]] = [
    (["port-forward", "vm/../default", "22"], name_problem("..", "[may not be '..']")),
    (["port-forward", "vmi/50%", "22"], name_problem("50%", "[may not contain '%']")),
    (["port-forward", "vm/vm1/..", "22"], 'invalid namespace "..": [may not be \'..\']'),
    (["port-forward", "vm/vm1", "../22"], 'invalid subresource "..": [may not be \'..\']'),
]

# (argv, prefix) for `-n ../x`; {} is a valid name
NAMESPACE_COMMANDS: list[tuple[list[str], str]] = [
    *NAME_COMMANDS,
    (["migrate-cancel", "{}"], "Error fetching virtual machine instance migration list  "),
    (["list"], ""),
    (["template", "create", "--vm-name", "{}"], "error creating VirtualMachineTemplateRequest: "),
    (["permitted-devices"], ""),
]


def _argv(template: list[str], name: str) -> list[str]:
    return [a.replace("{}", name) for a in template]


def _id(value: object) -> str:
    return " ".join(value) if isinstance(value, list) else ""


def _refused(sim, cli, argv: list[str], expected: str) -> None:
    r = cli(*argv, timeout=20)
    assert r.returncode == 1, (argv, r.stdout, r.stderr)
    assert r.stderr.splitlines()[-1] == expected, argv
    assert sim.requests() == [], (argv, sim.requests())


@pytest.mark.parametrize(("name", "why"), HOSTILE_NAMES, ids=["slash", "dotdot", "percent"])
@pytest.mark.parametrize(("template", "prefix"), NAME_COMMANDS, ids=_id)
def test_hostile_names(sim, cli, template, prefix, name, why):
    _refused(sim, cli, _argv(template, name), prefix.replace("{}", name) + name_problem(name, why))


@pytest.mark.parametrize(("name", "why"), HOSTILE_NAMES, ids=["slash", "dotdot", "percent"])
@pytest.mark.parametrize(("template", "expected"), OTHER_PARTS, ids=_id)
def test_hostile_volumes_claims_and_migrations(sim, cli, template, expected, name, why):
    line = expected.replace("{problem}", name_problem(name, why)).replace("{}", name)
    _refused(sim, cli, _argv(template, name), line)


@pytest.mark.parametrize(("argv", "expected"), PORT_FORWARD, ids=_id)
def test_hostile_port_forward_targets(sim, cli, argv, expected):
    _refused(sim, cli, argv, expected)


@pytest.mark.parametrize(("template", "prefix"), NAMESPACE_COMMANDS, ids=_id)
def test_hostile_namespaces(sim, cli, template, prefix):
    argv = ["-n", NS, *_argv(template, "vm1")]
    expected = prefix.replace("{}", "vm1").replace("default/", f"{NS}/").replace("- default:", f"- {NS}:")
    expected += NS_PROBLEM
    if template[0] == "addvolume":  # virtctl looks the volume up first, and that lookup is what fails
        expected = "error adding volume, Volume v is not a DataVolume or PersistentVolumeClaim"
    _refused(sim, cli, argv, expected)


def test_names_after_the_first_are_checked_too(sim, cli):
    _refused(sim, cli, ["stop", "vm1", SLASH],
             "error stopping VirtualMachine " + name_problem(SLASH, "[may not contain '/']")
             + " (nothing was sent to any of the 2 VMs)")
