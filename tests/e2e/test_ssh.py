"""ssh and scp end to end: a real OpenSSH sshd on loopback behind the simulated VMI's port 22.

The test starts `sshd` (Debian openssh-server) on a free loopback port with a generated host key and
an authorized key, maps the VMI's port 22 to it, and drives `pyvirtctl ssh` / `pyvirtctl scp`, whose
ProxyCommand is `pyvirtctl port-forward --stdio=true` through the simulator.
A recording stand-in for `ssh` checks the exact command line virtctl would run.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.pfhelpers import vmi

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SFTP_SERVER = next(
    (p for p in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/libexec/sftp-server")
     if os.path.exists(p)),
    "internal-sftp",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SSHServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.user = getpass.getuser()
        self.key = root / "id_ed25519"
        host_key = root / "host_ed25519"
        for path in (self.key, host_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
        authorized = root / "authorized_keys"
        authorized.write_text((root / "id_ed25519.pub").read_text())
        authorized.chmod(0o600)
        self.host_pub = (root / "host_ed25519.pub").read_text().split()[1]
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        self.proc: subprocess.Popen | None = None
        for _ in range(5):  # the free port may be taken between probing and binding
            self.port = _free_port()
            config = root / "sshd_config"
            config.write_text(
                f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {root / 'sshd.pid'}\n"
                f"AuthorizedKeysFile {authorized}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                "UsePAM no\nPermitRootLogin prohibit-password\nStrictModes no\nLogLevel ERROR\n"
                f"Subsystem sftp {SFTP_SERVER}\n"
            )
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=open(root / "sshd.log", "wb"))
            if self._wait_listening():
                return
            self.stop()
        raise RuntimeError(f"sshd did not start: {(root / 'sshd.log').read_text()}")

    def _wait_listening(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as c:
                    return c.recv(4).startswith(b"SSH-")
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    server = SSHServer(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def ssh_vmi(sim, sshd: SSHServer) -> SSHServer:
    sim.apply(vmi("testvmi", {"22": f"127.0.0.1:{sshd.port}"}))
    return sshd


def _ssh_flags(server: SSHServer, known_hosts: Path) -> list[str]:
    return ["-i", str(server.key), "--known-hosts", str(known_hosts), "-t", "-o StrictHostKeyChecking=accept-new",
            "-t", "-o BatchMode=yes"]


def test_ssh_command_through_real_sshd(sim, cli, ssh_vmi: SSHServer, tmp_path: Path) -> None:
    known = tmp_path / "kubevirt_known_hosts"
    r = cli("ssh", *_ssh_flags(ssh_vmi, known), "-c", "echo ok", f"{ssh_vmi.user}@vmi/testvmi", input="")
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    # --known-hosts is honoured: the VMI's host key was recorded under virtctl's host alias
    found = subprocess.run(["ssh-keygen", "-F", "vmi.testvmi.default", "-f", str(known)], capture_output=True,
                           text=True)
    assert found.returncode == 0 and ssh_vmi.host_pub in found.stdout
    pf = [q for q in sim.requests() if "/portforward/" in q["path"]]
    assert [q["path"] for q in pf] == [
        "/apis/subresources.kubevirt.io/v1/namespaces/default/virtualmachineinstances/testvmi/portforward/22/tcp"
    ]
    # a second run checks the recorded key (StrictHostKeyChecking=yes would refuse an unknown host)
    r = cli("ssh", "-i", str(ssh_vmi.key), "--known-hosts", str(known), "-t", "-o StrictHostKeyChecking=yes",
            "-t", "-o BatchMode=yes", "-l", ssh_vmi.user, "-c", "echo again", "vmi/testvmi/default", input="")
    assert (r.returncode, r.stdout) == (0, "again\n"), r.stderr


def test_ssh_remote_exit_status(sim, cli, ssh_vmi: SSHServer, tmp_path: Path) -> None:
    r = cli("ssh", *_ssh_flags(ssh_vmi, tmp_path / "kh"), "-c", "exit 3", f"{ssh_vmi.user}@vmi/testvmi", input="")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == "exit status 3"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_scp_10mib_both_ways(sim, cli, ssh_vmi: SSHServer, tmp_path: Path) -> None:
    known = tmp_path / "kh"
    local = tmp_path / "upload.bin"
    local.write_bytes(os.urandom(10 << 20))
    remote = tmp_path / "remote-side" / "copy.bin"
    remote.parent.mkdir()
    r = cli("scp", *_ssh_flags(ssh_vmi, known), str(local), f"{ssh_vmi.user}@vmi/testvmi:{remote}", input="")
    assert r.returncode == 0, r.stderr
    assert _sha(remote) == _sha(local)
    back = tmp_path / "download.bin"
    r = cli("scp", *_ssh_flags(ssh_vmi, known), "--preserve", f"{ssh_vmi.user}@vmi/testvmi/default:{remote}",
            str(back), input="")
    assert r.returncode == 0, r.stderr
    assert _sha(back) == _sha(local)
    assert len([q for q in sim.requests() if "/portforward/22/tcp" in q["path"]]) == 2


def test_scp_recursive(sim, cli, ssh_vmi: SSHServer, tmp_path: Path) -> None:
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.txt").write_text("beta")
    dst = tmp_path / "remote-tree"
    r = cli("scp", *_ssh_flags(ssh_vmi, tmp_path / "kh"), "-r", str(src), f"{ssh_vmi.user}@vmi/testvmi:{dst}",
            input="")
    assert r.returncode == 0, r.stderr
    assert (dst / "sub" / "b.txt").read_text() == "beta" and (dst / "a.txt").read_text() == "alpha"


# ------------------------------------------------------------------ the command line, with a recording ssh


@pytest.fixture
def recording_bin(tmp_path: Path) -> Path:
    """A directory with `ssh` and `scp` stand-ins that record argv and the proxy credential variables."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = (
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "env = {k: v for k, v in os.environ.items() if k.startswith('PYVIRTCTL_PROXY_')}\n"
        f"open({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps({{'argv': sys.argv, 'env': env}}))\n"
        "sys.exit(int(os.environ.get('FAKE_EXIT', '0')))\n"
    )
    for name in ("ssh", "scp"):
        (bindir / name).write_text(script)
        (bindir / name).chmod(0o755)
    return bindir


def _recorded(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "argv.json").read_text())


def _path_env(bindir: Path) -> dict[str, str]:
    return {"PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}


def test_default_command_line_is_virtctls(sim, cli, recording_bin: Path, tmp_path: Path) -> None:
    r = cli("ssh", "vmi/testvmi", env=_path_env(recording_bin), input="")
    assert r.returncode == 0, r.stderr
    argv = _recorded(tmp_path)["argv"]
    assert len(argv) == 4
    assert argv[0].endswith("/ssh") and argv[1] == "-o" and argv[3] == "vmi.testvmi.default"
    proxy = argv[2]
    assert proxy.startswith("ProxyCommand=")
    assert proxy.endswith(" port-forward --stdio=true vmi/testvmi/default 22")
    words = shlex.split(proxy[len("ProxyCommand="):])
    assert words[:3] == [sys.executable, "-m", "pyvirtctl"]
    assert words[3] == f"--kubeconfig={sim.kubeconfig}"  # the connection flag travels along
    assert sim.requests() == []  # ssh makes no API call itself


def test_flags_on_the_command_line(sim, cli, recording_bin: Path, tmp_path: Path) -> None:
    r = cli("--context", "sim", "-n", "ignored", "--token", "s3cr3t-value", "ssh", "-p", "2222", "-i", "/k/id",
            "--known-hosts", "/k/kh", "-t", "-o StrictHostKeyChecking=no", "-l", "flaguser", "-c", "uname -a",
            "jdoe@vm/testvm/ns1", env=_path_env(recording_bin), input="")
    assert r.returncode == 0, r.stderr
    rec = _recorded(tmp_path)
    argv = rec["argv"]
    assert argv[1:] == [
        "-o",
        argv[2],
        "-o",
        "UserKnownHostsFile=/k/kh",
        "-o StrictHostKeyChecking=no",
        "-i",
        "/k/id",
        "jdoe@vm.testvm.ns1",
        "uname -a",
    ]
    words = shlex.split(argv[2][len("ProxyCommand="):])
    assert words[3:] == [f"--kubeconfig={sim.kubeconfig}", "--context=sim", "port-forward", "--stdio=true",
                         "vm/testvm/ns1", "2222"]
    assert "s3cr3t-value" not in json.dumps(argv)
    assert rec["env"] == {"PYVIRTCTL_PROXY_TOKEN": "s3cr3t-value"}


def test_scp_command_line(sim, cli, recording_bin: Path, tmp_path: Path) -> None:
    r = cli("scp", "-r", "--preserve", "vmi/testvmi:/remote/path", "local", env=_path_env(recording_bin), input="")
    assert r.returncode == 0, r.stderr
    argv = _recorded(tmp_path)["argv"]
    assert argv[1] == "-o" and argv[2].endswith(" port-forward --stdio=true vmi/testvmi/default 22")
    assert argv[3:] == ["-r", "-p", "vmi.testvmi.default:/remote/path", "local"]


def test_client_exit_status(sim, cli, recording_bin: Path) -> None:
    r = cli("ssh", "vmi/testvmi", env={**_path_env(recording_bin), "FAKE_EXIT": "255"}, input="")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == "exit status 255"


@pytest.mark.parametrize("cmd,args", [("ssh", ["vmi/testvmi"]), ("scp", ["a", "vmi/testvmi:b"])])
def test_missing_client_binary(sim, cli, tmp_path: Path, cmd: str, args: list[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    r = cli(cmd, *args, env={"PATH": str(empty)}, input="")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == f'exec: "{cmd}": executable file not found in $PATH'


@pytest.mark.parametrize(
    "args,message",
    [
        (["ssh", "@vmi/x"], "expected username before '@'"),
        (["ssh", "user@"], "expected target after '@'"),
        (["ssh", "testvmi"], "target must contain type and name separated by '/'"),
        (["ssh"], "accepts 1 arg(s), received 0"),
        (["scp", "a", "b"], 'none of the two provided locations seems to be a remote location: "a" to "b"'),
        (["scp", "vmi/a:x", "vmi/b:y"],
         'copying from a remote location to another remote location is not supported: "vmi/a:x" to "vmi/b:y"'),
        (["scp", "a"], "accepts 2 arg(s), received 1"),
    ],
)
def test_usage_errors(sim, cli, args: list[str], message: str) -> None:
    r = cli(*args, input="")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == message


def test_token_flag_reaches_the_proxy_command(sim, run_cli_raw, ssh_vmi: SSHServer, tmp_path: Path) -> None:
    """A kubeconfig without credentials plus --token: the ProxyCommand child gets the token too."""
    import yaml

    config = yaml.safe_load(Path(sim.kubeconfig).read_text())
    for user in config["users"]:
        user["user"].pop("token", None)
    bare = tmp_path / "kubeconfig-without-token"
    bare.write_text(yaml.safe_dump(config))
    args = ["--kubeconfig", str(bare), "--token", sim.token, "ssh", *_ssh_flags(ssh_vmi, tmp_path / "kh"), "-t", "-v", "-c", "echo ok",
            f"{ssh_vmi.user}@vmi/testvmi"]
    r = run_cli_raw(args, input="")
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    assert "Executing proxy command" in r.stderr and sim.token not in r.stderr  # ssh -v shows the command
    denied = run_cli_raw(["--kubeconfig", str(bare), "port-forward", "--stdio", "vmi/testvmi", "22"], input="")
    assert denied.returncode == 1  # without the token the same port-forward is refused
