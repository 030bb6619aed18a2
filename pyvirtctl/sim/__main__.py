"""`python -m pyvirtctl.sim`: run the KubeVirt API simulator (see pyvirtctl/sim/server.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
import tempfile


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m pyvirtctl.sim", description="Local KubeVirt API simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--kubeconfig-out", metavar="FILE")
    p.add_argument("--seed", action="append", default=[], metavar="FILE",
                   help="YAML/JSON objects to load ('default' = the packaged demo VM); repeatable")
    p.add_argument("--state", metavar="FILE", help="persist objects to this JSON file")
    p.add_argument("--log-requests", metavar="FILE", help="append one JSON line per API request")
    p.add_argument("--delay", type=float, default=0.0, help="controller step delay in seconds")
    p.add_argument("--namespace", default="default")
    p.add_argument("--token")
    p.add_argument("--insecure-http", action="store_true", help="serve plain http instead of https")
    p.add_argument("--deny", metavar="FILE", help="JSON list of RBAC deny patterns")
    p.add_argument("--ready-file", metavar="FILE")
    return p.parse_args(argv)


async def serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from pyvirtctl.sim.server import Simulator, build_app, kubeconfig_text

    deny = []
    if args.deny:
        with open(args.deny, encoding="utf-8") as f:
            deny = json.load(f)
        if not isinstance(deny, list):
            raise SystemExit("sim: --deny file must hold a JSON list")
    token = args.token or secrets.token_hex(16)
    sim = Simulator(token=token, namespace=args.namespace, delay=args.delay, seeds=args.seed, deny=deny,
                    log_file=args.log_requests, state_file=args.state)
    if not sim.load_state():
        sim.load_seeds()
    app = build_app(sim)
    ssl_ctx = None
    certs = None
    workdir = os.path.dirname(os.path.abspath(args.kubeconfig_out)) if args.kubeconfig_out else tempfile.gettempdir()
    if not args.insecure_http:
        from pyvirtctl.sim.certs import make_certs, ssl_context

        certs = make_certs([args.host])
        ssl_ctx = ssl_context(certs, workdir)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, ssl_context=ssl_ctx, reuse_address=True)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"{'http' if args.insecure_http else 'https'}://{host}:{port}"
    sim.url = url
    ready: dict = {"url": url, "port": port, "pid": os.getpid(), "token": token}
    if args.kubeconfig_out:
        write_private(args.kubeconfig_out, kubeconfig_text(url, token, args.namespace,
                                                          certs.ca_pem if certs else None))
        ready["kubeconfig"] = os.path.abspath(args.kubeconfig_out)
    if certs is not None:
        ca_path = os.path.join(workdir, f"sim-ca-{port}.crt")
        with open(ca_path, "wb") as f:
            f.write(certs.ca_pem)
        ready["ca_file"] = ca_path
    sim.controllers.start()
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(ready, f)
        os.replace(tmp, args.ready_file)
    print(f"pyvirtctl.sim listening on {url}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await sim.controllers.stop()
    sim.save_state()
    await runner.cleanup()
    return 0


def write_private(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:
        return 0
    except OSError as e:
        print(f"sim: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
