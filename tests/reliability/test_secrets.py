"""Secrets stay secret; TLS is verified unless the user turns it off; written files are private enough.

Every registered command runs at the highest verbosity against the simulator with a kubeconfig that
holds a bearer token, a basic-auth password and client-key data. Neither stdout, stderr, nor any file
the run leaves behind (HOME, the working directory, TMPDIR) may contain any of them, in clear or in
base64. Runs use umask 000, so a file the CLI creates without choosing its mode would show up as
group/world-writable.
"""

from __future__ import annotations

import base64
import datetime as _dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pyvirtctl.app import COMMANDS
from pyvirtctl.sim.harness import REPO_ROOT

VM = "testvm"
PASSWORD = "hunter2-Pa55word-xyzzy"
FLAG_TOKEN = "flag-token-0123456789abcdef"

# argv per command (after the global flags); commands not listed run with `--help` and one bare name
ARGV: dict[str, list[list[str]]] = {
    "version": [["version"], ["version", "--client"]],
    "list": [["list"], ["list", "-o", "json"], ["list", "-o", "yaml"], ["list", "--all-namespaces"]],
    "ls": [["ls"]],
    "status": [["status", VM], ["status", "ghost"]],
    "start": [["start", VM], ["start", "ghost"], ["start", "--dry-run", VM]],
    "stop": [["stop", VM], ["stop", "--force", "--grace-period=0", VM]],
    "restart": [["restart", VM]],
    "pause": [["pause", "vm", VM], ["pause", "vmi", "ghost"]],
    "unpause": [["unpause", "vm", VM]],
    "soft-reboot": [["soft-reboot", VM]],
    "reset": [["reset", VM]],
    "migrate": [["migrate", VM]],
    "migrate-cancel": [["migrate-cancel", VM]],
    "help": [["help"], ["help", "start"]],
    "options": [["options"]],
    "vmexport": [["vmexport", "create", "e1", "--vm", VM], ["vmexport", "download", "e1", "--manifest",
                                                             "--readiness-timeout=1s"], ["vmexport", "delete", "e1"]],
}
# long-running commands get their own bounded invocations in the stream tests
SKIP = {"console", "vnc", "port-forward", "ssh", "scp", "usbredir"}


def _client_cert() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "secret-user")])
    now = _dt.datetime.now(_dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - _dt.timedelta(hours=1))
            .not_valid_after(now + _dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.fixture(scope="module")
def secrets_setup(_sim_process, tmp_path_factory):
    sim = _sim_process
    root = tmp_path_factory.mktemp("secrets")
    cert, key = _client_cert()
    ca = base64.b64encode(Path(sim.ca_file).read_bytes()).decode()
    kc = root / "kubeconfig"
    kc.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: token\n"
        f"clusters:\n- name: sim\n  cluster:\n    server: {sim.url}\n    certificate-authority-data: {ca}\n"
        "contexts:\n"
        "- name: token\n  context: {cluster: sim, user: token, namespace: default}\n"
        "- name: basic\n  context: {cluster: sim, user: basic, namespace: default}\n"
        "- name: cert\n  context: {cluster: sim, user: cert, namespace: default}\n"
        "users:\n"
        f"- name: token\n  user:\n    token: {sim.token}\n"
        f"- name: basic\n  user:\n    username: admin\n    password: {PASSWORD}\n"
        f"- name: cert\n  user:\n    token: {sim.token}\n"
        f"    client-certificate-data: {base64.b64encode(cert).decode()}\n"
        f"    client-key-data: {base64.b64encode(key).decode()}\n",
        encoding="utf-8")
    kc.chmod(0o600)
    key_body = "".join(line for line in key.decode().splitlines() if not line.startswith("-----"))
    secrets = {
        "token": sim.token,
        "token (base64)": base64.b64encode(sim.token.encode()).decode(),
        "flag token": FLAG_TOKEN,
        "password": PASSWORD,
        "basic auth header": base64.b64encode(f"admin:{PASSWORD}".encode()).decode(),
        "client key (PEM body)": key_body[:40],
        "client key (kubeconfig data)": base64.b64encode(key).decode()[:40],
    }
    return sim, root, kc, secrets


def _run(root: Path, kc: Path, argv: list[str], timeout: float = 30,
         stdin: str = "") -> tuple[subprocess.CompletedProcess, list[Path]]:
    home, work, tmp = root / "home", root / "work", root / "tmp"
    for d in (home, work, tmp):
        d.mkdir(exist_ok=True)
    before = {p for d in (home, work, tmp) for p in d.rglob("*")}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "TMPDIR": str(tmp),
           "LANG": "C.UTF-8", "PYTHONPATH": REPO_ROOT, "PYTHONDONTWRITEBYTECODE": "1",
           "PYVIRTCTL_TRACEBACK": "1"}  # the most talkative error path too
    r = subprocess.run([sys.executable, "-m", "pyvirtctl", "--kubeconfig", str(kc), "--v=10", *argv],
                       capture_output=True, text=True, errors="replace", env=env, cwd=work, timeout=timeout,
                       input=stdin,
                       preexec_fn=lambda: os.umask(0))
    after = {p for d in (home, work, tmp) for p in d.rglob("*")}
    return r, sorted(after - before)


def _check(secrets: dict[str, str], argv: list[str], r: subprocess.CompletedProcess, new_files: list[Path]) -> None:
    for what, value in secrets.items():
        assert value not in r.stdout, f"{what} on stdout of {argv}"
        assert value not in r.stderr, f"{what} on stderr of {argv}"
    for path in new_files:
        if path.is_file():
            data = path.read_bytes()
            for what, value in secrets.items():
                assert value.encode() not in data, f"{what} in {path} written by {argv}"
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode & 0o022 == 0, f"{path} written by {argv} is group/world-writable ({oct(mode)})"
    assert "Traceback" not in r.stderr, (argv, r.stderr)


def _all_invocations() -> list[list[str]]:
    out: list[list[str]] = []
    for name in sorted(COMMANDS):
        if name.split(" ")[0] in SKIP:
            continue
        out.extend(ARGV.get(name, [name.split(" ") + ["--help"], name.split(" ") + [VM]]))
    return out


@pytest.fixture
def fresh_vm(secrets_setup):
    sim = secrets_setup[0]
    sim.reset()
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
               "metadata": {"name": VM, "namespace": "default"},
               "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}}}}})
    return sim


RUNS: list[int] = []


@pytest.mark.parametrize("argv", _all_invocations(), ids=lambda a: " ".join(a))
def test_no_secret_in_any_output_token_user(secrets_setup, fresh_vm, argv):
    _, root, kc, secrets = secrets_setup
    r, files = _run(root, kc, argv)
    _check(secrets, argv, r, files)
    RUNS.append(1)


@pytest.mark.parametrize("context", ["basic", "cert"])
@pytest.mark.parametrize("argv", [["start", VM], ["list"], ["version"], ["status", VM], ["bogus"]],
                         ids=lambda a: " ".join(a))
def test_no_secret_in_any_output_other_users(secrets_setup, fresh_vm, context, argv):
    _, root, kc, secrets = secrets_setup
    r, files = _run(root, kc, ["--context", context, *argv])
    _check(secrets, argv, r, files)
    if context == "basic" and argv != ["bogus"] and argv != ["version"]:
        assert r.returncode == 1 and "Unauthorized" in r.stderr  # the password really was sent and refused
    RUNS.append(1)


def test_secrets_given_as_flags_are_not_echoed(secrets_setup, fresh_vm):
    _, root, kc, secrets = secrets_setup
    for argv in (["--token", FLAG_TOKEN, "start", VM], ["--token", FLAG_TOKEN, "--password", PASSWORD, "list"],
                 ["--username", "u", "--password", PASSWORD, "list"], ["--token", FLAG_TOKEN, "bogus"]):
        r, files = _run(root, kc, argv)
        assert r.returncode == 1
        _check(secrets, argv, r, files)
        RUNS.append(1)


def test_tls_is_verified_unless_asked_off(secrets_setup):
    import ssl

    from pyvirtctl.kube.config import GlobalFlags, load_config

    _, _, kc, _ = secrets_setup
    ctx = load_config(GlobalFlags(kubeconfig=str(kc))).ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    off = load_config(GlobalFlags(kubeconfig=str(kc), insecure_skip_tls_verify=True, certificate_authority="")
                      ).ssl_context()
    assert off.verify_mode == ssl.CERT_NONE


def test_client_key_temp_files_do_not_outlive_the_run(secrets_setup, fresh_vm):
    _, root, kc, secrets = secrets_setup
    r, files = _run(root, kc, ["--context", "cert", "list"])
    assert r.returncode == 0, r.stderr
    assert [f for f in files if (root / "tmp") in f.parents] == []


@pytest.fixture
def running_vm(secrets_setup):
    sim = secrets_setup[0]
    sim.reset()
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
               "metadata": {"name": VM, "namespace": "default"},
               "spec": {"runStrategy": "Always", "template": {"spec": {"domain": {"devices": {}}}}}})
    assert sim.wait_for("VirtualMachineInstance", "default", VM,
                        lambda o: o and o.get("status", {}).get("phase") == "Running")
    return sim


@pytest.mark.parametrize(
    ("argv", "stdin", "code"),
    [
        (["console", VM, "--timeout=0"], "\nroot\n123456\nexit\n", 0),
        (["vnc", "screenshot", VM, "-f", "shot.png"], "", 0),
        (["vnc", "screenshot", VM, "-f", "-"], "", 0),
        (["port-forward", "--stdio=true", f"vmi/{VM}/default", "22"], "", 1),  # no service behind port 22
        (["--context", "basic", "console", VM, "--timeout=0"], "", 1),
        (["--context", "cert", "console", VM, "--timeout=0"], "\n", 0),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, list) else None,
)
def test_no_secret_in_streaming_commands(secrets_setup, running_vm, argv, stdin, code):
    """Streams at --v=10 too: the websocket handshake carries the same credentials as REST."""
    _, root, kc, secrets = secrets_setup
    r, files = _run(root, kc, argv, stdin=stdin)
    assert r.returncode == code, r.stderr
    _check(secrets, argv, r, files)
    if argv[1:2] == ["screenshot"] and argv[-1] != "-":
        shot = root / "work" / "shot.png"
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    RUNS.append(1)
