"""`pods/portforward` of the simulated kube-apiserver: SPDY/3.1 port-forwarding tunnelled in a websocket.

`GET /api/v1/namespaces/{ns}/pods/{name}/portforward` upgraded to a websocket with the subprotocol
`SPDY/3.1+portforward.k8s.io` (what client-go >= 1.30 - kubectl, virtctl's `vmexport --port-forward`
- dials first) carries a SPDY session (`pyvirtctl.sim.spdy`). The client opens two streams per
forwarded connection, both with headers `port` and `requestid`: `streamtype: error` and
`streamtype: data`. Once both are there the simulator connects to the pod's port - the annotation
`sim.pyvirtctl.io/portforward` on the Pod maps container ports to real addresses
(`{"8443": "127.0.0.1:40123"}`; the export controller sets it on exporter pods) - and copies bytes
both ways; a failed connection is reported on the error stream as kubelet words it. When the pod's
side ends, the data stream is finished (FIN) and so is the error stream.

Anything but such an upgrade (plain GET, SPDY upgrade via POST) gets kube-apiserver's 400
`Upgrade request required`; a missing pod 404, a pod not running 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import WSMsgType, web

from pyvirtctl.sim import kstatus, spdy

PROTOCOL = "SPDY/3.1+portforward.k8s.io"
PF_ANNOTATION = "sim.pyvirtctl.io/portforward"
ROUTE = "/api/v1/namespaces/{namespace}/pods/{name}/portforward"
READ = 64 * 1024


def target_of(pod: dict, port: str) -> str | None:
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(PF_ANNOTATION)
    if not raw:
        return None
    try:
        table = json.loads(raw)
    except ValueError:
        return None
    value = table.get(str(port)) if isinstance(table, dict) else None
    return str(value) if value else None


class _Pair:
    def __init__(self) -> None:
        self.error = 0
        self.data = 0
        self.port = ""
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task | None = None
        self.client_done = False
        self.early: list[bytes] = []  # bytes the client sent before the pod's port was connected


class Session:
    def __init__(self, ws: web.WebSocketResponse, pod: dict) -> None:
        self.ws = ws
        self.pod = pod
        self.codec = spdy.Codec()
        self.lock = asyncio.Lock()
        self.pairs: dict[str, _Pair] = {}
        self.by_stream: dict[int, _Pair] = {}
        self.closed = False

    async def send(self, frame: bytes) -> None:
        if self.closed:
            return
        async with self.lock:
            try:
                await self.ws.send_bytes(frame)
            except (ConnectionError, RuntimeError):
                self.closed = True

    async def run(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY:
                    if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                        break
                    continue
                try:
                    frames = self.codec.feed(msg.data)
                except spdy.ProtocolError:
                    break
                for f in frames:
                    if await self.handle(f) is False:
                        return
        finally:
            self.closed = True
            for pair in self.pairs.values():
                if pair.task is not None:
                    pair.task.cancel()
                if pair.writer is not None:
                    pair.writer.close()

    async def handle(self, f: spdy.Frame) -> bool:
        if not f.control:
            pair = self.by_stream.get(f.stream_id)
            if pair is None or f.stream_id != pair.data:
                return True
            if pair.writer is None:
                if f.payload:
                    pair.early.append(f.payload)
            elif f.payload:
                pair.writer.write(f.payload)
                with contextlib.suppress(ConnectionError):
                    await pair.writer.drain()
            if f.fin:
                pair.client_done = True
                if pair.writer is not None and pair.writer.can_write_eof():
                    with contextlib.suppress(OSError):
                        pair.writer.write_eof()
            return True
        if f.kind == spdy.SYN_STREAM:
            await self.send(self.codec.syn_reply(f.stream_id))
            rid = f.headers.get("requestid", "")
            pair = self.pairs.setdefault(rid, _Pair())
            pair.port = f.headers.get("port", "")
            if f.headers.get("streamtype") == "error":
                pair.error = f.stream_id
            elif f.headers.get("streamtype") == "data":
                pair.data = f.stream_id
            else:
                await self.send(self.codec.rst(f.stream_id, spdy.RST_PROTOCOL_ERROR))
                return True
            self.by_stream[f.stream_id] = pair
            if pair.error and pair.data and pair.task is None:
                pair.task = asyncio.get_running_loop().create_task(self.forward(rid, pair))
        elif f.kind == spdy.RST_STREAM:
            pair = self.by_stream.get(f.stream_id)
            if pair is not None and f.stream_id == pair.data and pair.writer is not None:
                pair.writer.close()
        elif f.kind == spdy.PING:
            await self.send(self.codec.ping(f.status))
        elif f.kind == spdy.GOAWAY:
            return False
        return True

    async def forward(self, rid: str, pair: _Pair) -> None:
        md = self.pod.get("metadata") or {}
        target = target_of(self.pod, pair.port)
        try:
            if target is None:
                raise OSError(f"dial tcp 127.0.0.1:{pair.port}: connect: connection refused")
            host, _, port = target.rpartition(":")
            reader, writer = await asyncio.open_connection(host, int(port))
        except (OSError, ValueError) as e:
            text = (f"error forwarding port {pair.port} to pod {md.get('name', '')}, uid {md.get('uid', '')}: "
                    f"{e}")
            await self.send(self.codec.data(pair.error, text.encode()))
            await self.send(self.codec.data(pair.error, fin=True))
            await self.send(self.codec.data(pair.data, fin=True))
            return
        pair.writer = writer
        for early in pair.early:
            writer.write(early)
        pair.early.clear()
        if pair.client_done and writer.can_write_eof():
            with contextlib.suppress(OSError):
                writer.write_eof()
        try:
            while True:
                chunk = await reader.read(READ)
                if not chunk:
                    break
                await self.send(self.codec.data(pair.data, chunk))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
        await self.send(self.codec.data(pair.data, fin=True))
        await self.send(self.codec.data(pair.error, fin=True))
        self.pairs.pop(rid, None)


async def portforward(request: web.Request) -> web.StreamResponse:
    sim = request.app["sim"]
    ns, name = request.match_info["namespace"], request.match_info["name"]
    pod = sim.store.get(sim.res("Pod"), ns, name)
    if pod is None:
        e = kstatus.not_found("pods", name)
        return sim.status_response(e.code, e.reason, e.message, e.details)
    upgrade = request.headers.get("Upgrade", "").lower()
    wanted = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    if request.method != "GET" or upgrade != "websocket" or PROTOCOL not in wanted:
        return sim.status_response(400, "BadRequest", "Upgrade request required")
    if (pod.get("status") or {}).get("phase") != "Running":
        return sim.status_response(400, "BadRequest",
                                   f"pod {name} does not have a host assigned" if not (pod.get("status") or {})
                                   .get("podIP") else f"unable to upgrade connection: pod {name} is not running")
    ws = web.WebSocketResponse(protocols=(PROTOCOL,), autoping=True, max_msg_size=0)
    await ws.prepare(request)
    session = Session(ws, pod)
    await session.run()
    with contextlib.suppress(Exception):
        await ws.close()
    return ws


def register_routes(app: web.Application, sim: Any) -> None:
    app.router.add_route("*", ROUTE, portforward)
