"""credentials add-ssh-key | remove-ssh-key | set-password against the simulator.

The expected requests, bodies, output and messages are those of the reference virtctl v1.9.0 run on
the same simulator state (random `ssh-key-XXXXXX` names aside). Where pyvirtctl differs on purpose
(a key file that holds no public key, a key file's final newline, remove-ssh-key without a VM name)
the test says so.
"""

from __future__ import annotations

import base64
import re
import subprocess

import pytest

from tests.e2e.guestutil import api_requests, running_vm, vm_object

KV = "/apis/kubevirt.io/v1/namespaces/default"
CORE = "/api/v1/namespaces/default"
CREDS = "/spec/template/spec/accessCredentials"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPD5XIKPOeYB+KW6RKPJKKNeg337WQBxXb7yAAK4m5tQ user1@host\n"
RAND = re.compile(r"^ssh-key-[bcdfghjklmnpqrstvwxz2456789]{6}$")


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unb64(text: str) -> str:
    return base64.b64decode(text).decode()


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "id.pub"
    path.write_text(KEY)
    return path


def stopped_vm(sim, name: str = "vm1", credentials: list | None = None) -> dict:
    vm = vm_object(name, running=False)
    if credentials is not None:
        vm["spec"]["template"]["spec"]["accessCredentials"] = credentials
    return sim.apply(vm)


def ssh_cred(secret: str, *users: str) -> dict:
    return {"sshPublicKey": {"source": {"secret": {"secretName": secret}},
                             "propagationMethod": {"qemuGuestAgent": {"users": list(users)}}}}


def pw_cred(secret: str) -> dict:
    return {"userPassword": {"source": {"secret": {"secretName": secret}},
                             "propagationMethod": {"qemuGuestAgent": {}}}}


def secret(sim, name: str, owner: dict | None = None, data: dict | None = None) -> dict:
    meta: dict = {"name": name, "namespace": "default"}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}]
    obj: dict = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque"}
    if data is not None:
        obj["data"] = {k: b64(v) for k, v in data.items()}
    return sim.apply(obj)


VERSION_PROBE = ("/apis/subresources.kubevirt.io", "/apis/subresources.kubevirt.io/v1/version")


def api_log(sim) -> list[dict]:
    """The logged requests, without the version probe that follows an error."""
    return [r for r in sim.requests() if r["path"] not in VERSION_PROBE]


def calls(sim) -> list[tuple[str, str, int]]:
    return [(r["method"], r["path"], r["status"]) for r in api_log(sim)]


def bodies(sim, method: str) -> list:
    return [r["body"] for r in api_log(sim) if r["method"] == method]


def last_line(r: subprocess.CompletedProcess) -> str:
    return r.stderr.splitlines()[-1] if r.stderr else ""


# --------------------------------------------------------------------------- command line errors


def test_command_line_errors_send_nothing(sim, cli, key_file, tmp_path):
    private = tmp_path / "id_ed25519"
    private.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    cases = [
        (["add-ssh-key"], "accepts 1 arg(s), received 0"),
        (["add-ssh-key", "vm1"], 'required flag(s) "user" not set'),
        (["add-ssh-key", "vm1", "-u", "u"], "error getting ssh key: one of --file, or --value must be specified"),
        (["add-ssh-key", "vm1", "-u", "u", "-f", "/nonexistent"],
         "error getting ssh key: open /nonexistent: no such file or directory"),
        (["add-ssh-key", "vm1", "-u", "u", "-f", str(tmp_path)], f"error getting ssh key: read {tmp_path}: is a directory"),
        (["add-ssh-key", "vm1", "-u", "u", "-f", str(key_file), "--value", "x"],
         "if any flags in the group [file value] are set none of the others can be; [file value] were all set"),
        (["add-ssh-key", "vm1", "-u", "u", "--value", "x", "--create-secret", "--update-secret"],
         "if any flags in the group [create-secret update-secret] are set none of the others can be; "
         "[create-secret update-secret] were all set"),
        (["add-ssh-key", "vm1", "-u"], "flag needs an argument: 'u' in -u"),
        # pyvirtctl refuses a key file that holds no public key (virtctl would copy it into the Secret)
        (["add-ssh-key", "vm1", "-u", "u", "-f", str(private)],
         f"error getting ssh key: {private} holds a private key, not a public key "
         f"(the public key is usually {private}.pub)"),
        (["add-ssh-key", "vm1", "-u", "u", "-f", str(junk)],
         f'error getting ssh key: {junk} is not a public key file: line 1: expected "<key type> <base64 key> [comment]"'),
        (["remove-ssh-key", "vm1", "-u", "u", "-f", str(private)],
         f"error getting ssh key: {private} holds a private key, not a public key "
         f"(the public key is usually {private}.pub)"),
        # virtctl v1.9.0 panics (index out of range) and exits 2 here
        (["remove-ssh-key", "-u", "u", "--value", "x"], "accepts 1 arg(s), received 0"),
        (["remove-ssh-key", "vm1", "vm2", "-u", "u", "--value", "x"], "accepts 1 arg(s), received 2"),
        (["remove-ssh-key", "vm1", "--value", "x"], 'required flag(s) "user" not set'),
        (["set-password"], "accepts 1 arg(s), received 0"),
        (["set-password", "vm1"], 'required flag(s) "password", "user" not set'),
        (["set-password", "vm1", "-u", "root"], 'required flag(s) "password" not set'),
        (["set-password", "vm1", "-u", "root", "-p"], "flag needs an argument: 'p' in -p"),
    ]
    for args, message in cases:
        r = cli("credentials", *args)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", message + "\n"), args
    assert api_requests(sim) == []


def test_the_group_prints_its_usage(sim, cli):
    for args in ([], ["bogus"]):
        r = cli("credentials", *args)
        assert r.returncode == 0 and r.stderr == ""
        assert r.stdout == (
            "Usage:\n  pyvirtctl credentials [flags]\n  pyvirtctl credentials [command]\n\n"
            "Available Commands:\n"
            "  add-ssh-key    Add credentials to a virtual machine.\n"
            "  remove-ssh-key Remove credentials from a virtual machine.\n"
            "  set-password   Set password for a user\n\n"
            "Flags:\n  -h, --help   help for credentials\n\n"
            'Use "pyvirtctl options" for a list of global command-line options (applies to all commands).\n'
        )


# --------------------------------------------------------------------------- add-ssh-key: a new Secret


def test_add_creates_a_secret_and_the_credentials_list(sim, cli, key_file):
    vm = stopped_vm(sim)
    sim.clear_log()
    r = cli("credentials", "add-ssh-key", "--user", "fedora", "--file", str(key_file), "vm1")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")  # virtctl prints nothing on this path
    assert calls(sim) == [
        ("GET", f"{KV}/virtualmachines/vm1", 200),
        ("GET", f"{KV}/virtualmachineinstances/vm1", 404),  # the VM must not be running
        ("POST", f"{CORE}/secrets", 201),
        ("PATCH", f"{KV}/virtualmachines/vm1", 422),  # no accessCredentials list yet
        ("PATCH", f"{KV}/virtualmachines/vm1", 200),
    ]
    post = api_log(sim)[2]
    assert post["headers"]["content-type"] == "application/json"
    body = post["body"]
    (data_key,) = body["data"]
    assert RAND.match(data_key)
    assert body == {
        "kind": "Secret", "apiVersion": "v1",
        "metadata": {"generateName": "vm1-ssh-key-", "namespace": "default",
                     "ownerReferences": [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "name": "vm1",
                                          "uid": vm["metadata"]["uid"], "controller": True}]},
        "data": {data_key: b64(KEY)},
    }
    created = [s for s in sim.list("Secret", "default") if s["metadata"]["name"].startswith("vm1-ssh-key-")]
    assert len(created) == 1
    name = created[0]["metadata"]["name"]
    cred = {"sshPublicKey": {"source": {"secret": {"secretName": name}},
                             "propagationMethod": {"qemuGuestAgent": {"users": ["fedora"]}}}}
    patches = [r for r in api_log(sim) if r["method"] == "PATCH"]
    assert all(p["headers"]["content-type"] == "application/json-patch+json" for p in patches)
    assert patches[0]["body"] == [{"op": "add", "path": f"{CREDS}/-", "value": cred}]
    assert patches[1]["body"] == [{"op": "test", "path": CREDS, "value": None},
                                  {"op": "add", "path": CREDS, "value": []},
                                  {"op": "add", "path": f"{CREDS}/-", "value": cred}]
    assert sim.get("VirtualMachine", "default", "vm1")["spec"]["template"]["spec"]["accessCredentials"] == [cred]
    assert unb64(created[0]["data"][data_key]) == KEY

    # the VM has a list now: one patch appends to it
    sim.clear_log()
    r = cli("credentials", "add-ssh-key", "-u", "root", "--value", "ssh-rsa AAAA root@x", "--create-secret", "vm1")
    assert r.returncode == 0, r.stderr
    assert [c[0] for c in calls(sim)] == ["GET", "GET", "POST", "PATCH"]
    assert len(sim.get("VirtualMachine", "default", "vm1")["spec"]["template"]["spec"]["accessCredentials"]) == 2


def test_add_to_a_running_vm_needs_force(sim, cli, key_file):
    running_vm(sim, "vm1")
    r = cli("credentials", "add-ssh-key", "-u", "u", "-f", str(key_file), "vm1")
    assert (r.returncode, r.stdout) == (1, "")
    assert last_line(r) == ("virtual machine vm1 is running. Use --force flag to update a running VM, "
                            "it will take effect after restart")
    assert calls(sim) == [("GET", f"{KV}/virtualmachines/vm1", 200), ("GET", f"{KV}/virtualmachineinstances/vm1", 200)]
    sim.clear_log()
    r = cli("credentials", "add-ssh-key", "-u", "u", "-f", str(key_file), "--force", "vm1")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert [c[:2] for c in calls(sim)] == [("GET", f"{KV}/virtualmachines/vm1"), ("POST", f"{CORE}/secrets"),
                                           ("PATCH", f"{KV}/virtualmachines/vm1"), ("PATCH", f"{KV}/virtualmachines/vm1")]


def test_add_errors_from_the_cluster(sim, cli):
    r = cli("credentials", "add-ssh-key", "-u", "u", "--value", "k", "nosuch")
    assert last_line(r) == 'error getting virtual machine: virtualmachines.kubevirt.io "nosuch" not found'
    assert calls(sim) == [("GET", f"{KV}/virtualmachines/nosuch", 404)]
    stopped_vm(sim)
    cases = [
        ({"method": "GET", "path_regex": "virtualmachineinstances/vm1"}, "error when getting virtual machine instance: boom"),
        ({"method": "POST", "path_regex": "/secrets$"}, "error creating secret: boom"),
        ({"method": "PATCH", "path_regex": "virtualmachines/vm1"}, "error patching virtual machine: boom"),
    ]
    for match, message in cases:
        sim.clear_faults()
        sim.fault({"match": match, "action": "status", "status": 500, "message": "boom"})
        sim.clear_log()
        r = cli("credentials", "add-ssh-key", "-u", "u", "--value", "k", "vm1")
        assert (r.returncode, last_line(r)) == (1, message)
    assert [c[2] for c in calls(sim)] == [200, 404, 201, 500, 500]  # both patches tried
    sim.clear_faults()


# --------------------------------------------------------------------------- add-ssh-key: the user's Secret


def test_add_to_the_users_secret(sim, cli, key_file):
    vm = stopped_vm(sim, credentials=[ssh_cred("keys", "fedora"), ssh_cred("shared", "fedora", "root")])
    secret(sim, "keys", owner=vm, data={"old": "ssh-rsa AAAAold old@x"})
    secret(sim, "shared", data={"a": "ssh-rsa AAAAshared x"})
    sim.clear_log()
    r = cli("credentials", "add-ssh-key", "-u", "fedora", "-f", str(key_file), "--secret", "keys", "vm1")
    assert (r.returncode, r.stdout, r.stderr) == (0, 'Successfully added the key to secret "keys"', "")
    assert calls(sim) == [("GET", f"{KV}/virtualmachines/vm1", 200), ("GET", f"{CORE}/secrets/keys", 200),
                          ("PATCH", f"{CORE}/secrets/keys", 200)]
    (patch,) = bodies(sim, "PATCH")
    assert len(patch) == 1 and patch[0]["op"] == "add" and patch[0]["value"] == b64(KEY)
    assert RAND.match(patch[0]["path"].removeprefix("/data/"))

    cases = [
        (["-u", "fedora", "--value", "k"], "multiple secrets specified, use option --secret to specify which secret to modify"),
        (["-u", "fedora", "--value", "k", "--secret", "nope"], "secret nope was not assigned"),
        (["-u", "other", "--value", "k", "--update-secret"], "no secrets specified for user: other"),
        (["-u", "root", "--value", "k"], "secret shared does not have an owner reference pointing to VM vm1"),
    ]
    for args, message in cases:
        r = cli("credentials", "add-ssh-key", *args, "vm1")
        assert (r.returncode, r.stdout, last_line(r)) == (1, "", message), args
    sim.clear_log()
    r = cli("credentials", "add-ssh-key", "-u", "root", "--value", "ssh-rsa AAAAnew", "--force", "vm1")
    assert (r.returncode, r.stdout) == (0, 'Successfully added the key to secret "shared"')
    assert [c[0] for c in calls(sim)] == ["GET", "GET", "PATCH"]


def test_a_key_already_there_is_not_added_again(sim, cli, key_file):
    vm = stopped_vm(sim, credentials=[ssh_cred("keys", "fedora")])
    secret(sim, "keys", owner=vm, data={"k1": "ssh-rsa AAAAold old@x\n" + KEY})
    sim.clear_log()
    r = cli("credentials", "add-ssh-key", "-u", "fedora", "--value", "ssh-rsa AAAAold", "vm1")
    assert (r.returncode, r.stdout, r.stderr) == (0, 'Secret "keys" already contains this SSH key.', "")
    assert [c[0] for c in calls(sim)] == ["GET", "GET"]
    # the same from a key file: virtctl compares the file with its final newline and adds it again
    r = cli("credentials", "add-ssh-key", "-u", "fedora", "-f", str(key_file), "vm1")
    assert (r.returncode, r.stdout) == (0, 'Secret "keys" already contains this SSH key.')
    assert "PATCH" not in [c[0] for c in calls(sim)]


def test_add_to_a_secret_without_data(sim, cli):
    vm = stopped_vm(sim, credentials=[ssh_cred("keys", "fedora")])
    secret(sim, "keys", owner=vm)
    sim.clear_log()
    r = cli("credentials", "add-ssh-key", "-u", "fedora", "--value", "ssh-rsa AAAA", "vm1")
    assert (r.returncode, r.stdout) == (0, 'Successfully added the key to secret "keys"'), r.stderr
    assert [c[2] for c in calls(sim)] == [200, 200, 422, 200]
    first, second = bodies(sim, "PATCH")
    path = first[0]["path"]
    assert second == [{"op": "test", "path": "/data", "value": None}, {"op": "add", "path": "/data", "value": {}},
                      {"op": "add", "path": path, "value": b64("ssh-rsa AAAA")}]
    assert sim.get("Secret", "default", "keys")["data"] == {path.removeprefix("/data/"): b64("ssh-rsa AAAA")}


# --------------------------------------------------------------------------- remove-ssh-key


def test_remove_rewrites_the_secrets(sim, cli, key_file):
    vm = stopped_vm(sim, credentials=[ssh_cred("keys", "fedora")])
    secret(sim, "keys", owner=vm, data={"k1": KEY, "k2": "ssh-rsa AAAAother x\n\nssh-ed25519 AAAAthird y\n"})
    sim.clear_log()
    r = cli("credentials", "remove-ssh-key", "-u", "fedora", "--value", "ssh-rsa AAAAother", "vm1")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert calls(sim) == [("GET", f"{KV}/virtualmachines/vm1", 200), ("GET", f"{CORE}/secrets/keys", 200),
                          ("PUT", f"{CORE}/secrets/keys", 200)]
    put = api_log(sim)[-1]
    assert put["headers"]["content-type"] == "application/json"
    stored = sim.get("Secret", "default", "keys")
    meta = put["body"]["metadata"]
    assert list(put["body"]) == ["kind", "apiVersion", "metadata", "data", "type"]
    assert list(meta) == ["name", "namespace", "uid", "resourceVersion", "creationTimestamp", "ownerReferences"]
    # blank lines and the key go, the last newline too; other entries are rewritten without it
    assert put["body"]["data"] == {"k1": b64(KEY.rstrip("\n")), "k2": b64("ssh-ed25519 AAAAthird y")}
    assert stored["data"] == put["body"]["data"]

    # with the key file: virtctl matches nothing (its key ends in a newline); pyvirtctl removes it
    r = cli("credentials", "remove-ssh-key", "-u", "fedora", "-f", str(key_file), "vm1")
    assert r.returncode == 0, r.stderr
    assert sim.get("Secret", "default", "keys")["data"] == {"k2": b64("ssh-ed25519 AAAAthird y")}


def test_remove_refusals(sim, cli):
    vm = stopped_vm(sim, credentials=[ssh_cred("keys", "fedora"), ssh_cred("shared", "fedora"), ssh_cred("gone", "x")])
    secret(sim, "keys", owner=vm, data={"a": "ssh-rsa AAAA"})
    secret(sim, "shared", data={"a": "ssh-rsa AAAA"})
    sim.clear_log()
    r = cli("credentials", "remove-ssh-key", "-u", "nobody", "--value", "k", "vm1")
    assert (r.returncode, r.stdout, r.stderr) == (0, "No secrets associated with user nobody", "")
    assert calls(sim) == [("GET", f"{KV}/virtualmachines/vm1", 200)]
    r = cli("credentials", "remove-ssh-key", "-u", "fedora", "--value", "k", "--secret", "other", "vm1")
    assert (r.returncode, last_line(r)) == (1, "secret other is not associated with user fedora")
    sim.clear_log()
    r = cli("credentials", "remove-ssh-key", "-u", "fedora", "--value", "ssh-rsa AAAA", "vm1")
    assert (r.returncode, last_line(r)) == (1, "secret shared does not have an owner reference pointing to VM vm1")
    assert [c[:2] for c in calls(sim)] == [("GET", f"{KV}/virtualmachines/vm1"), ("GET", f"{CORE}/secrets/keys"),
                                           ("PUT", f"{CORE}/secrets/keys"), ("GET", f"{CORE}/secrets/shared")]
    r = cli("credentials", "remove-ssh-key", "-u", "fedora", "--value", "ssh-rsa AAAA", "--force", "vm1")
    assert r.returncode == 0 and "data" not in sim.get("Secret", "default", "shared")
    # a Secret that does not exist has nothing to remove
    sim.clear_log()
    r = cli("credentials", "remove-ssh-key", "-u", "x", "--value", "k", "vm1")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert calls(sim)[-1] == ("GET", f"{CORE}/secrets/gone", 404)


def test_remove_retries_conflicts_like_client_go(sim, cli):
    vm = stopped_vm(sim, credentials=[ssh_cred("keys", "fedora")])
    secret(sim, "keys", owner=vm, data={"a": "ssh-rsa AAAA\nssh-rsa BBBB"})
    sim.fault({"match": {"method": "PUT", "path_regex": "secrets/keys"}, "action": "status", "status": 409,
               "message": "conflict!", "times": 2})
    sim.clear_log()
    r = cli("credentials", "remove-ssh-key", "-u", "fedora", "--value", "ssh-rsa AAAA", "vm1")
    assert r.returncode == 0, r.stderr
    assert [c[:1] + c[2:] for c in calls(sim)] == [("GET", 200), ("GET", 200), ("PUT", 409), ("GET", 200),
                                                   ("PUT", 409), ("GET", 200), ("PUT", 200)]
    sim.clear_faults()
    sim.fault({"match": {"method": "PUT", "path_regex": "secrets/keys"}, "action": "status", "status": 409,
               "message": "conflict!"})
    sim.clear_log()
    r = cli("credentials", "remove-ssh-key", "-u", "fedora", "--value", "ssh-rsa BBBB", "vm1")
    assert (r.returncode, r.stderr) == (1, "conflict!\n")
    assert [c[0] for c in calls(sim)] == ["GET"] + ["GET", "PUT"] * 5
    sim.clear_faults()


# --------------------------------------------------------------------------- set-password


def test_set_password(sim, cli):
    vm = stopped_vm(sim, credentials=[pw_cred("pw"), ssh_cred("keys", "root")])
    secret(sim, "pw", owner=vm)  # no data yet: the second patch creates it
    sim.clear_log()
    r = cli("credentials", "set-password", "-u", "root", "-p", "s3cr3t", "vm1")
    assert (r.returncode, r.stdout, r.stderr) == (0, 'Successfully set password in secret "pw"', "")
    assert calls(sim) == [("GET", f"{KV}/virtualmachines/vm1", 200), ("GET", f"{CORE}/secrets/pw", 200),
                          ("PATCH", f"{CORE}/secrets/pw", 422), ("PATCH", f"{CORE}/secrets/pw", 200)]
    assert bodies(sim, "PATCH") == [
        [{"op": "add", "path": "/data/root", "value": "czNjcjN0"}],
        [{"op": "test", "path": "/data", "value": None}, {"op": "add", "path": "/data", "value": {}},
         {"op": "add", "path": "/data/root", "value": "czNjcjN0"}],
    ]
    assert sim.get("Secret", "default", "pw")["data"] == {"root": "czNjcjN0"}
    sim.clear_log()
    r = cli("credentials", "set-password", "--user=fedora", "--password=pa ss", "vm1")
    assert r.returncode == 0 and [c[2] for c in calls(sim)] == [200, 200, 200]
    assert sim.get("Secret", "default", "pw")["data"]["fedora"] == b64("pa ss")


def test_set_password_refusals(sim, cli):
    vm = stopped_vm(sim, credentials=[pw_cred("pw")])
    secret(sim, "pw", data={"root": b64("old")})  # not owned by the VM
    stopped_vm(sim, "bare")
    sim.clear_log()
    cases = [
        (["nosuch"], 'error getting virtual machine: virtualmachines.kubevirt.io "nosuch" not found'),
        (["bare"], "no secrets assigned to UserPassword AccessCredentials"),
        (["vm1", "--secret", "x"], "secret x was not assigned"),
        (["vm1"], "secret pw does not have an owner reference pointing to VM vm1"),
    ]
    for args, message in cases:
        r = cli("credentials", "set-password", "-u", "root", "-p", "new", *args)
        assert (r.returncode, r.stdout, last_line(r)) == (1, "", message), args
    assert "PATCH" not in [c[0] for c in calls(sim)]
    sim.clear_log()
    r = cli("credentials", "set-password", "-u", "root", "-p", "new", "--force", "vm1")
    assert (r.returncode, r.stdout) == (0, 'Successfully set password in secret "pw"')
    assert calls(sim) == [("GET", f"{KV}/virtualmachines/vm1", 200), ("PATCH", f"{CORE}/secrets/pw", 200)]
    assert vm["metadata"]["name"] == "vm1"


def test_client_errors_have_virtctls_prefix(sim, run_cli_raw):
    r = run_cli_raw(["credentials", "add-ssh-key", "--kubeconfig", "/nope", "-u", "u", "vm1"])
    assert (r.returncode, r.stderr) == (1, "error getting kubevirt client or namespace: stat /nope: no such file or directory\n")
