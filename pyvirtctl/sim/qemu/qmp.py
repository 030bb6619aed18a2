"""QEMU's monitor protocol (QMP) over a connection QEMU opens to the simulator.

JSON objects, one per line: a greeting, then `qmp_capabilities`, then commands answered in order
(`{"return": ...}` or `{"error": {"class", "desc"}}`) with asynchronous events in between
(`{"event": "SHUTDOWN", "data": {...}}`), which go to the ``on_event`` callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any


class QMPError(RuntimeError):
    pass


class QMP:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 on_event: Callable[[str, dict[str, Any]], None]) -> None:
        self.reader, self.writer = reader, writer
        self.on_event = on_event
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._next = 1
        self._task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    async def start(self) -> None:
        greeting = json.loads(await asyncio.wait_for(self.reader.readline(), 30) or b"{}")
        if "QMP" not in greeting:
            raise QMPError(f"not a QMP greeting: {greeting!r}")
        self._task = asyncio.ensure_future(self._read())
        await self.command("qmp_capabilities")

    async def _read(self) -> None:
        try:
            while True:
                line = await self.reader.readline()
                if not line:
                    break
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if "event" in msg:
                    try:
                        self.on_event(msg["event"], msg.get("data") or {})
                    except Exception as e:  # a broken handler must not stop the monitor
                        print(f"sim: QMP event handler failed: {e!r}")
                    continue
                fut = self._pending.pop(msg.get("id"), None)
                if fut is not None and not fut.done():
                    if "error" in msg:
                        err = msg["error"]
                        fut.set_exception(QMPError(f"{err.get('class')}: {err.get('desc')}"))
                    else:
                        fut.set_result(msg.get("return"))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.closed.set()
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(QMPError("QEMU's monitor closed"))
            self._pending.clear()

    async def command(self, name: str, timeout: float = 30, **arguments: Any) -> Any:
        if self.closed.is_set():
            raise QMPError("QEMU's monitor closed")
        ident = self._next
        self._next += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = fut
        msg: dict[str, Any] = {"execute": name, "id": ident}
        if arguments:
            msg["arguments"] = arguments
        self.writer.write(json.dumps(msg).encode() + b"\n")
        return await asyncio.wait_for(fut, timeout)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        with contextlib.suppress(Exception):
            self.writer.close()
