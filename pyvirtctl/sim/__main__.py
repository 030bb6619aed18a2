"""`pyvirtctl-sim` (or `python -m pyvirtctl.sim`): run the KubeVirt API simulator.

It serves a local HTTPS Kubernetes + KubeVirt API (see pyvirtctl/sim/server.py), writes a
kubeconfig for it and prints how to use it; kubectl, virtctl and pyvirtctl work against it.
Bad options and unusable seed/state files are one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
from typing import NoReturn

# seconds per controller step when --delay is not given: slow enough to watch a VM start
INTERACTIVE_DELAY = 0.4


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(1)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, not {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, not {text}")
    return value


def prog_name() -> str:
    base = os.path.basename(sys.argv[0] or "")
    return "python -m pyvirtctl.sim" if base in ("__main__.py", "", "-c") else base


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = _Parser(prog=prog_name(),
                description="A local KubeVirt API simulator: an HTTPS Kubernetes + KubeVirt API server with VMs, "
                            "VMIs, migrations, consoles and VNC, that kubectl, virtctl and pyvirtctl can use.",
                epilog="Example: pyvirtctl-sim --seed default --kubeconfig-out ./kubeconfig, then in another "
                       "shell: export KUBECONFIG=./kubeconfig; kubectl get vms; pyvirtctl console centos7-1905")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; the certificate is made for it)")
    p.add_argument("--port", type=_port, default=0,
                   help="port to listen on (default 0: any free port, shown at start)")
    p.add_argument("--kubeconfig-out", metavar="FILE",
                   help="write the kubeconfig (server URL, CA, token, namespace) to FILE; default: a file in a "
                        "private temporary directory, removed on exit")
    p.add_argument("--seed", action="append", default=[], metavar="FILE",
                   help="load the objects in a YAML/JSON file at start and on reset ('default': the packaged "
                        "CentOS 7 demo VM); repeatable")
    p.add_argument("--state", metavar="FILE",
                   help="keep every object in this JSON file: loaded at start (instead of the seeds), saved on "
                        "changes and on exit")
    p.add_argument("--log-requests", metavar="FILE", help="append one JSON line per API request to FILE")
    p.add_argument("--delay", type=_seconds, default=None, metavar="SECONDS",
                   help=f"seconds each controller step takes (VMI Pending -> Scheduling -> Scheduled -> Running, "
                        f"migration phases); default {INTERACTIVE_DELAY}, 0 makes every change immediate (tests)")
    p.add_argument("--namespace", default="default", help="the kubeconfig's namespace, created at start "
                                                           "(default: default)")
    p.add_argument("--token", help="the bearer token clients must send (default: a random one)")
    p.add_argument("--insecure-http", action="store_true", help="serve plain http instead of https")
    p.add_argument("--deny", metavar="FILE",
                   help="JSON list of RBAC deny patterns ({\"verb\", \"resource\", \"subresource\", \"namespace\", "
                        "\"name\"}), answered with 403 like kube-apiserver")
    p.add_argument("--upload-proxy-port", type=_port, default=0, metavar="N",
                   help="port of the CDI upload proxy (image-upload; default 0: any free port), published in the "
                        "CDIConfig's status.uploadProxyURL")
    p.add_argument("--guests", choices=("builtin", "qemu"), default="builtin",
                   help="what runs inside a VMI: the built-in guest (default: a simulated serial console, VNC test "
                        "pattern and port mapping) or 'qemu': a real QEMU virtual machine per running VMI (a Debian "
                        "kernel and BusyBox, built once into your cache folder). One VM opts in or out with the "
                        "annotation sim.pyvirtctl.io/guest: qemu|builtin")
    p.add_argument("--guest-accel", choices=("tcg", "kvm"), default="tcg",
                   help="how QEMU guests run: tcg (default: emulation, works everywhere) or kvm")
    p.add_argument("--ready-file", metavar="FILE",
                   help="write {url, port, pid, token, kubeconfig, ca_file, upload_proxy_url} as JSON to FILE once "
                        "serving (for scripts)")
    args = p.parse_args(argv)
    if args.token is not None and (not args.token or any(c.isspace() or not c.isprintable() for c in args.token)):
        p.error("argument --token: must be a non-empty string without spaces")
    if args.delay is None:
        args.delay = INTERACTIVE_DELAY
    return args


class StartError(Exception):
    """A problem found before serving: reported as one line, exit status 1."""


def _load_deny(path: str | None) -> list[dict]:
    if not path:
        return []
    try:
        with open(path, encoding="utf-8") as f:
            deny = json.load(f)
    except OSError as e:
        raise StartError(f"--deny {path}: {e.strerror or e}") from None
    except ValueError as e:
        raise StartError(f"--deny {path} is not JSON: {e}") from None
    if not isinstance(deny, list) or not all(isinstance(d, dict) for d in deny):
        raise StartError(f"--deny {path} must hold a JSON list of objects")
    return deny


async def serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from pyvirtctl.sim.server import Simulator, build_app, kubeconfig_text
    from pyvirtctl.sim.state import InputError

    deny = _load_deny(args.deny)
    if args.guests == "qemu":
        from pyvirtctl.sim.qemu.runtime import probe_environment

        problem = probe_environment()
        if problem:
            raise StartError(problem)
    token = args.token or secrets.token_hex(16)
    sim = Simulator(token=token, namespace=args.namespace, delay=args.delay, seeds=args.seed, deny=deny,
                    log_file=args.log_requests, state_file=args.state, guests=args.guests,
                    guest_accel=args.guest_accel)
    try:
        if not sim.load_state():
            sim.load_seeds()
    except InputError as e:
        raise StartError(str(e)) from None
    app = build_app(sim)
    tmpdir = None
    if args.kubeconfig_out:
        kubeconfig = os.path.abspath(args.kubeconfig_out)
    else:
        tmpdir = tempfile.mkdtemp(prefix="pyvirtctl-sim-")
        kubeconfig = os.path.join(tmpdir, "kubeconfig")
    workdir = os.path.dirname(kubeconfig)
    ssl_ctx = None
    proxy_ssl_ctx = None
    certs = None
    if not args.insecure_http:
        from pyvirtctl.sim.certs import issue, make_certs, ssl_context

        certs = make_certs([args.host])
        ssl_ctx = ssl_context(certs, workdir)
        # the CDI upload proxy has a certificate of its own, signed by the same CA
        proxy_ssl_ctx = ssl_context(issue(certs, ["127.0.0.1", "localhost", args.host], "cdi-uploadproxy"), workdir)
        sim.ca_pem = certs.ca_pem  # published as the export links' `cert` (pyvirtctl/sim/export/)
        sim.certs = certs  # the exporter pods' certificates come from the same CA
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, ssl_context=ssl_ctx, reuse_address=True)
    try:
        await site.start()
    except OSError as e:
        await runner.cleanup()
        raise StartError(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}") from None
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"{'http' if args.insecure_http else 'https'}://{host}:{port}"
    sim.url = url
    from pyvirtctl.sim import cdi, uploadproxy

    try:
        proxy_runner, sim.upload_proxy_url = await uploadproxy.start(sim, args.host, args.upload_proxy_port,
                                                                     proxy_ssl_ctx)
    except OSError as e:
        await runner.cleanup()
        raise StartError(f"cannot listen on {args.host}:{args.upload_proxy_port}: {e.strerror or e}") from None
    cdi.ensure_objects(sim)  # the CDIConfig names the proxy (a --state file may hold an older port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():  # a second Ctrl+C: leave now
            os._exit(130)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    ready: dict = {"url": url, "port": port, "pid": os.getpid(), "token": token, "kubeconfig": kubeconfig,
                   "upload_proxy_url": sim.upload_proxy_url}
    written: list[str] = []
    write_private(kubeconfig, kubeconfig_text(url, token, args.namespace, certs.ca_pem if certs else None))
    if certs is not None:
        # one CA file per kubeconfig, replaced on every start and removed on exit (no sim-ca-<port>.crt pile-up)
        ca_path = os.path.splitext(kubeconfig)[0] + "-ca.crt"
        with open(ca_path, "wb") as f:
            f.write(certs.ca_pem)
        ready["ca_file"] = ca_path
        written.append(ca_path)
    sim.controllers.start()
    if args.guests == "qemu":
        sim.guests.prepare()  # fetch and build the guest image in the background, before the first VM asks
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(ready, f)
        os.replace(tmp, args.ready_file)
    print(f"pyvirtctl.sim listening on {url}\n"
          f"Use it from another shell with:\n"
          f"    export KUBECONFIG={kubeconfig}\n"
          f"then kubectl, virtctl or pyvirtctl (namespace {args.namespace}). Ctrl+C stops it.",
          file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        for w in list(sim.store.watches):  # end open watch streams so the server can stop at once
            w.close()
        await sim.controllers.stop()
        await sim.guests.close()
        sim.save_state()
        await proxy_runner.cleanup()
        await runner.cleanup()
        sim.volumes.close()
        for path in written:
            try:
                os.unlink(path)
            except OSError:
                pass
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


def write_private(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    prog = prog_name()
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:
        return 0
    except StartError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{prog}: error: {e.strerror or e}" + (f": {e.filename}" if e.filename else ""), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
