"""What the streaming endpoints need from the simulator core, in one narrow interface.

Settings read from the simulator's config (``POST /_sim/config``):

* ``stream_close``: ``"abrupt"`` (default; end sessions by closing TCP without a close frame,
  as virt-api/virt-handler do) or ``"normal"`` (send a close frame with code 1000 first);
* ``portforward_ping_interval``: seconds between ``keep alive`` pings (default 1);
* ``portforward_pong_timeout``: seconds without a pong before the tunnel is cut (default 60);
* ``stream_fragment``: split messages longer than this into continuation frames (default 0:
  never; 10240 imitates virt-handler's write buffer).
"""

from __future__ import annotations

from typing import Any, Protocol


class Backend(Protocol):
    def get_vmi(self, ns: str, name: str) -> dict[str, Any] | None: ...

    def get_vm(self, ns: str, name: str) -> dict[str, Any] | None: ...

    def drop_after(self, kind: str, ns: str, name: str) -> int | None: ...

    def close_mode(self) -> str: ...

    def ping_interval(self) -> float: ...

    def pong_timeout(self) -> float: ...

    def fragment_size(self) -> int: ...

    # optional: ``guest_osinfo(ns, name) -> dict | None`` (the guest agent's guestosinfo), from which
    # the console's shell takes its kernel and OS (pyvirtctl/sim/streams/guest.py)


DEFAULTS: dict[str, Any] = {
    "stream_close": "abrupt",
    "portforward_ping_interval": 1.0,
    "portforward_pong_timeout": 60.0,
    "stream_fragment": 0,
}
