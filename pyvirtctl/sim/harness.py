"""Run the simulator as a subprocess and talk to its admin API (used by tests and the demo).

    sim = SimProcess.start(workdir, seed=["default"], delay=0)
    sim.url, sim.kubeconfig, sim.token, sim.ca_file, sim.upload_proxy_url
    sim.apply(obj_or_list); sim.get(kind, ns, name); sim.list(kind, ns=None); sim.delete(kind, ns, name)
    sim.volume(ns, pvc); sim.seed_volume(ns, pvc, size)
    sim.fault(spec); sim.clear_faults(); sim.reset(); sim.config(**kw)
    sim.requests(); sim.clear_log(); sim.stop()
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = str(Path(__file__).resolve().parents[2])


class SimError(RuntimeError):
    pass


class SimProcess:
    def __init__(self, proc: subprocess.Popen, ready: dict, workdir: str, stderr_path: str) -> None:
        self.proc = proc
        self.url: str = ready["url"]
        self.port: int = ready["port"]
        self.kubeconfig: str = ready.get("kubeconfig", "")
        self.token: str = ready["token"]
        self.ca_file: str | None = ready.get("ca_file")
        self.upload_proxy_url: str = ready.get("upload_proxy_url", "")
        self.workdir = workdir
        self.stderr_path = stderr_path
        self._ctx: ssl.SSLContext | None = None
        if self.url.startswith("https"):
            self._ctx = ssl.create_default_context(cafile=self.ca_file)

    # -- lifecycle
    @classmethod
    def start(cls, workdir: str | os.PathLike, seed: list[str] | None = None, delay: float = 0,
              extra_args: list[str] | None = None, timeout: float = 20.0) -> SimProcess:
        workdir = str(workdir)
        os.makedirs(workdir, exist_ok=True)
        ready_file = os.path.join(workdir, "sim-ready.json")
        if os.path.exists(ready_file):
            os.unlink(ready_file)
        kubeconfig = os.path.join(workdir, "kubeconfig")
        args = [sys.executable, "-m", "pyvirtctl.sim", "--port", "0", "--kubeconfig-out", kubeconfig,
                "--ready-file", ready_file, "--delay", str(delay)]
        for s in seed or []:
            args += ["--seed", s]
        args += list(extra_args or [])
        env = dict(os.environ)
        env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.pop("KUBECONFIG", None)
        stderr_path = os.path.join(workdir, "sim-stderr.log")
        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env,
                                    cwd=workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(ready_file):
                with open(ready_file, encoding="utf-8") as f:
                    ready = json.load(f)
                return cls(proc, ready, workdir, stderr_path)
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        proc.kill()
        proc.wait(5)
        with open(stderr_path, encoding="utf-8", errors="replace") as f:
            raise SimError(f"simulator did not start: {f.read()[-2000:]}")

    def stop(self, timeout: float = 5.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- raw HTTP
    def request(self, method: str, path: str, body: Any = None, headers: dict | None = None,
                token: str | None = None, timeout: float = 10.0) -> tuple[int, dict, bytes]:
        """Any request to the server (API or admin); returns (status, headers, body bytes)."""
        data = None
        hdrs = {"Authorization": f"Bearer {self.token if token is None else token}"}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        if token == "":
            hdrs.pop("Authorization")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._ctx) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        status, _, raw = self.request(method, path, body)
        if status >= 300:
            raise SimError(f"{method} {path}: {status} {raw.decode(errors='replace')}")
        return json.loads(raw) if raw else None

    # -- admin API
    def apply(self, obj: dict | list | str) -> Any:
        if isinstance(obj, str):
            status, _, raw = self.request("POST", "/_sim/objects", obj.encode(),
                                          headers={"Content-Type": "application/yaml"})
            if status >= 300:
                raise SimError(raw.decode(errors="replace"))
            out = json.loads(raw)
        else:
            out = self._admin("POST", "/_sim/objects", obj)
        return out[0] if isinstance(obj, dict) and isinstance(out, list) and len(out) == 1 else out

    def get(self, kind: str, ns: str | None, name: str) -> dict | None:
        for o in self.list(kind, ns):
            if o["metadata"]["name"] == name:
                return o
        return None

    def list(self, kind: str, ns: str | None = None) -> list[dict]:
        q = {"kind": kind}
        if ns:
            q["namespace"] = ns
        return self._admin("GET", "/_sim/objects?" + urllib.parse.urlencode(q))

    def delete(self, kind: str, ns: str | None, name: str) -> dict:
        return self._admin("DELETE", f"/_sim/objects/{kind}/{ns or '-'}/{name}")

    def fault(self, spec: dict) -> Any:
        return self._admin("POST", "/_sim/faults", spec)

    def clear_faults(self) -> None:
        self._admin("DELETE", "/_sim/faults")

    def reset(self) -> None:
        self._admin("POST", "/_sim/reset")

    def config(self, **kw: Any) -> dict:
        return self._admin("POST", "/_sim/config", kw)

    def vmi(self, ns: str, name: str, **patch: Any) -> dict:
        """Admin patch of a VMI: phase/reason/message, agentConnected, guestAgent data, paused, status."""
        return self._admin("POST", f"/_sim/vmi/{ns}/{name}", patch)

    def requests(self) -> list[dict]:
        return self._admin("GET", "/_sim/log")

    def volume(self, namespace: str, claim: str) -> dict | None:
        """What the simulator stores for a PVC (`size`, `sha256`), or None when nothing was written."""
        status, _, body = self.request("GET", f"/_sim/volumes/{namespace}/{claim}")
        return json.loads(body) if status == 200 else None

    def seed_volume(self, namespace: str, claim: str, size: int) -> dict:
        """Fill a PVC's bytes with `size` bytes of deterministic content (pyvirtctl.sim.volumes.seed_bytes)."""
        status, _, body = self.request("PUT", f"/_sim/volumes/{namespace}/{claim}?size={size}")
        if status != 200:
            raise SimError(f"seeding volume {namespace}/{claim}: {status} {body[:200]!r}")
        return json.loads(body)

    def clear_log(self) -> None:
        self._admin("DELETE", "/_sim/log")

    def wait_for(self, kind: str, ns: str | None, name: str, predicate, timeout: float = 10.0) -> dict | None:
        """Poll until predicate(obj_or_None) is true; returns the last object seen (fails on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            obj = self.get(kind, ns, name)
            if predicate(obj):
                return obj
            if time.monotonic() > deadline:
                raise SimError(f"timed out waiting for {kind} {ns}/{name}; last: {json.dumps(obj)[:500]}")
            time.sleep(0.02)
