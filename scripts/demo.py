#!/usr/bin/env python3
"""A tour of pyvirtctl against the built-in KubeVirt simulator (`make demo`).

It starts `python -m pyvirtctl.sim` with the project's CentOS 7 VM (the founding guide's
centos7-1905), points KUBECONFIG at the kubeconfig the simulator writes, and runs the commands a
user types on a typical day, printing each command line and its output. Nothing outside the
temporary folder is touched. `--fast` removes the simulator's delays (used by the test suite).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyvirtctl.app import COMMANDS  # noqa: E402
from pyvirtctl.sim.harness import SimProcess  # noqa: E402

BOLD = "\x1b[1m" if sys.stdout.isatty() and not os.environ.get("NO_COLOR") else ""
RESET = "\x1b[0m" if BOLD else ""


def step(env: dict, title: str, args: list[str], stdin: str | None = None, expect: int = 0,
         cwd: str | None = None) -> str:
    if title:
        print(f"\n{BOLD}# {title}{RESET}")
    shown = " ".join(shlex.quote(a) for a in args)
    if stdin is not None:
        print(f"{BOLD}$ printf '{stdin.encode('unicode_escape').decode()}' | pyvirtctl {shown}{RESET}")
    else:
        print(f"{BOLD}$ pyvirtctl {shown}{RESET}")
    r = subprocess.run([sys.executable, "-m", "pyvirtctl", *args], env=env, input=stdin, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, cwd=cwd)
    if r.stdout:
        print(r.stdout, end="" if r.stdout.endswith("\n") else "\n")
    if r.returncode != expect:
        raise SystemExit(f"demo step failed (exit {r.returncode}, expected {expect}): pyvirtctl {shown}")
    return r.stdout


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="no simulated delays (for tests)")
    opts = parser.parse_args()
    delay = 0.0 if opts.fast else 0.4
    with tempfile.TemporaryDirectory(prefix="pyvirtctl-demo-") as tmp:
        sim = SimProcess.start(tmp, seed=["default"], delay=delay)
        try:
            env = {**os.environ, "KUBECONFIG": sim.kubeconfig, "PYTHONPATH": str(ROOT)}
            env.pop("NO_COLOR", None)
            print(f"KubeVirt simulator listening on {sim.url} (kubeconfig: {sim.kubeconfig})")
            step(env, "The client and the (simulated) cluster", ["version"])
            # the seeded VM has `running: true`: let the simulated cluster bring it up
            sim.wait_for("VirtualMachineInstance", "default", "centos7-1905",
                         lambda o: o and o.get("status", {}).get("phase") == "Running", timeout=30)
            step(env, "Our virtual machines", ["list"])
            step(env, "Stop it and wait until it is really down", ["stop", "centos7-1905", "--wait"])
            step(env, "Start it again and wait until it is running and ready",
                 ["start", "centos7-1905", "--wait"])
            step(env, "Everything about one VM", ["status", "centos7-1905"])
            if "expose" in COMMANDS:
                step(env, "Expose port 8100 of the VM as a Service (the founding guide's command)",
                     ["expose", "vm", "centos7-1905", "--name", "vmiservice-centos7", "--port", "8100",
                      "--target-port", "8100"])
            if "console" in COMMANDS:
                step(env, "A scripted session on the serial console (Ctrl+] ends an interactive one)",
                     ["console", "centos7-1905"], stdin="\nroot\n123456\nhostname\nuname -a\nexit\n")
            step(env, "Live-migrate it to another node and wait for the migration",
                 ["migrate", "centos7-1905", "--wait"])
            step(env, "Pause and unpause", ["pause", "vm", "centos7-1905", "--wait"])
            step(env, "", ["unpause", "vm", "centos7-1905", "--wait"])
            step(env, "The wide table", ["list", "-o", "wide"])
            if "image-upload" in COMMANDS and "vmexport" in COMMANDS:
                disk = os.path.join(tmp, "disk.img")
                with open(disk, "wb") as f:
                    f.write(os.urandom(8 << 20))
                step(env, "Put a disk image into the cluster (a DataVolume, through CDI's upload proxy)",
                     ["image-upload", "dv", "demo-disk", "--size=64Mi", "--image-path=disk.img"], cwd=tmp)
                copy = os.path.join(tmp, "disk-copy.img")
                step(env, "And take it out again (a VirtualMachineExport, deleted after the download)",
                     ["vmexport", "download", "demo-export", "--pvc=demo-disk", "--format=raw",
                      "--output=disk-copy.img"], cwd=tmp)
                same = _sha256(disk) == _sha256(copy)
                print(f"sha256 of the image and of the downloaded copy: {'identical' if same else 'DIFFERENT'}")
                if not same:
                    raise SystemExit("demo step failed: the downloaded copy differs from the uploaded image")
            step(env, "Errors read like virtctl's, one line, exit status 1", ["start", "no-such-vm"], expect=1)
            step(env, "And stop it for the night", ["stop", "centos7-1905", "--wait"])
            time.sleep(0.1)
        finally:
            sim.stop()
    print(f"\n{BOLD}Tour finished.{RESET} Try it yourself: python -m pyvirtctl.sim --seed default "
          "--kubeconfig-out ./kubeconfig, then KUBECONFIG=./kubeconfig pyvirtctl list")
    return 0


if __name__ == "__main__":
    sys.exit(main())
