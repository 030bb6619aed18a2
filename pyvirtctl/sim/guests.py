"""What runs inside a VMI: the built-in guest (default) or a real QEMU virtual machine.

Two small interfaces keep the rest of the simulator independent of the guest:

* `Guest` is what the stream endpoints (pyvirtctl/sim/streams/) talk to: a serial console, a VNC
  (RFB) byte stream, a screenshot and dialing a guest port, each as a `ByteStream`. The built-in
  guest (streams/builtin.py) and the QEMU guest (qemu/runtime.py) both provide it.
* `GuestHooks` is what the controllers and virt-api's subresources ask of the guests: may the VMI
  go Running yet, has a stopping VMI's guest powered off, how far is a live migration, pause,
  reset. With the built-in guest every answer is "at once"; for a QEMU guest the answers come
  from the QEMU process (see pyvirtctl/sim/qemu/runtime.py).

Which guest a VMI gets: the annotation ``sim.pyvirtctl.io/guest: qemu|builtin`` on the VMI (or its
VM, or the VM's template) wins; otherwise the simulator's ``--guests`` option (default builtin).
The QEMU runtime is created (and its package imported) only when the first VMI needs it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

GUEST_ANNOTATION = "sim.pyvirtctl.io/guest"
GUEST_KINDS = ("builtin", "qemu")


class GuestUnavailable(Exception):
    """A stream could not be opened; ``str()`` is what virt-handler would say."""


class ByteStream(Protocol):
    """One client's connection to a guest device (console, VNC, a TCP/UDP port)."""

    async def send(self, data: bytes) -> None:
        """Client -> guest (for a UDP port: one datagram)."""

    def received(self) -> AsyncIterator[bytes]:
        """Guest -> client, until the guest side ends."""

    def close(self) -> None:
        """The client went away."""


class Guest(Protocol):
    kind: str
    survives_migration: bool  # do port-forward tunnels outlive a live migration?

    async def console(self) -> ByteStream: ...

    async def vnc(self) -> ByteStream: ...

    async def screenshot(self, move_cursor: bool) -> bytes: ...

    async def dial(self, port: int, proto: str) -> ByteStream:
        """Connect to a guest port (raises GuestUnavailable with Go's dial error text)."""


def annotation_of(obj: dict[str, Any] | None) -> str | None:
    value = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(GUEST_ANNOTATION)
    return value.strip().lower() if isinstance(value, str) else None


class GuestHooks:
    """The simulator's guests: decides per VMI, and forwards to the QEMU runtime when one is used.

    ``factory(sim)`` makes the QEMU runtime; it is called at most once, when a VMI first needs it.
    """

    def __init__(self, sim: Any, default: str = "builtin", factory: Callable[[Any], Any] | None = None) -> None:
        self.sim = sim
        self.default = default
        self._factory = factory
        self.runtime: Any = None
        self.startup_error: str | None = None

    # -- which guest ---------------------------------------------------------------------------

    def kind_for(self, vmi: dict[str, Any]) -> str:
        found = annotation_of(vmi)
        if found is None:
            md = vmi.get("metadata") or {}
            vm = self.sim.store.get(self.sim.res("VirtualMachine"), md.get("namespace"), md.get("name", ""))
            owned = vm is not None and any(r.get("uid") == (vm.get("metadata") or {}).get("uid")
                                           for r in md.get("ownerReferences") or [])
            if owned:
                found = annotation_of(vm) or annotation_of(((vm.get("spec") or {}).get("template")) or {})
        return found if found in GUEST_KINDS else self.default

    def _runtime(self) -> Any:
        if self.runtime is None and self._factory is not None:
            self.runtime = self._factory(self.sim)
        return self.runtime

    def _managed(self, vmi: dict[str, Any]) -> Any:
        """The QEMU runtime when it runs (or should run) this VMI, else None."""
        if self.runtime is not None and self.runtime.has(vmi):
            return self.runtime
        if self.kind_for(vmi) == "qemu":
            return self._runtime()
        return None

    # -- the controllers' questions ------------------------------------------------------------

    def launch(self, vmi: dict[str, Any]) -> tuple[str, str]:
        """Before a Scheduled VMI goes Running: ("ready", ""), ("wait", "") or ("failed", reason message)."""
        rt = self._managed(vmi)
        return rt.launch(vmi) if rt is not None else ("ready", "")

    def lost(self, vmi: dict[str, Any]) -> bool:
        """A Running VMI that should be a QEMU guest but has none (the simulator restarted from --state).

        Only the VMI's own annotation and the default are looked at (cheap: it runs for every Running
        VMI on every controller pass); a VM's template annotations are copied onto its VMIs anyway."""
        found = annotation_of(vmi)
        if (found if found in GUEST_KINDS else self.default) != "qemu":
            return False
        return self.runtime is None or not self.runtime.has(vmi)

    def stopped(self, vmi: dict[str, Any]) -> bool:
        """A VMI being deleted: True once its guest is off (a QEMU guest is powered down first)."""
        rt = self.runtime
        return rt.stopped(vmi) if rt is not None and rt.has(vmi) else True

    def migration(self, vmi: dict[str, Any], mig: dict[str, Any], phase: str) -> tuple[str, str]:
        """Before a migration enters ``phase``: ("go", ""), ("wait", "") or ("failed", reason)."""
        rt = self.runtime
        return rt.migration(vmi, mig, phase) if rt is not None and rt.has(vmi) else ("go", "")

    def migration_report(self, vmi: dict[str, Any]) -> dict[str, Any]:
        """Fields for status.migrationState from what the hypervisor reported (QEMU's failure reason...)."""
        rt = self.runtime
        return rt.migration_report(vmi) if rt is not None and rt.has(vmi) else {}

    def keeps_address(self, vmi: dict[str, Any]) -> bool:
        """Does the guest keep its IP address across a migration (a real guest configured it itself)?"""
        rt = self.runtime
        return rt is not None and rt.has(vmi)

    async def action(self, vmi: dict[str, Any], what: str) -> str | None:
        """pause, unpause, reset, softreboot on the guest; an error message or None."""
        rt = self.runtime
        if rt is None or not rt.has(vmi):
            return None
        return await rt.action(vmi, what)

    def agent_data(self, ns: str, name: str) -> dict[str, Any] | None:
        rt = self.runtime
        return rt.agent_data(ns, name) if rt is not None else None

    # -- the stream endpoints' question --------------------------------------------------------

    def guest(self, vmi: dict[str, Any]) -> Guest | None:
        """The QEMU guest serving this VMI, or None (the endpoints then use the built-in guest)."""
        rt = self.runtime
        return rt.guest(vmi) if rt is not None and rt.has(vmi) else None

    # -- lifetime ------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the QEMU runtime now and let it build its image in the background."""
        rt = self._runtime()
        if rt is not None:
            rt.prepare()

    def reset(self) -> None:
        if self.runtime is not None:
            self.runtime.reset()

    async def close(self) -> None:
        if self.runtime is not None:
            await self.runtime.close()
