"""The guest end of a usbredir channel: what QEMU's usb-redir device says behind virt-handler.

virt-handler joins the websocket to the unix socket ``virt-usbredir-<slot>`` of the launcher pod,
where QEMU speaks the usbredir protocol (spice's USB network redirection, protocol 0.7) in the
*guest* role; the client (``usbredirect --device ... --to host:port``) is the *host* role, the side
that owns the USB device. This class is that guest end, as pure logic:

* ``hello()`` is the packet QEMU sends as soon as the channel opens: a header
  (``type``, ``length``, ``id`` as little-endian uint32s; ids are 32-bit until both sides have
  announced the 64-bit-ids capability) and a 64-byte NUL-terminated version string followed by
  one uint32 of capability bits.
* ``feed(bytes)`` parses what the client sends. The first packet must be a hello with a version
  string of at most 63 printable characters and its capabilities; anything else is a protocol
  error (``UsbRedirError``), on which the caller closes the connection, as QEMU drops a peer whose
  parser fails. After the hello, packets are framed by their header's length (16-byte headers
  once both sides support 64-bit ids) and recorded: a ``device_connect`` gives the redirected
  device's speed, class and vendor:product, ``device_disconnect`` removes it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

GUEST_VERSION = "qemu usb-redir guest 9.1.0"

HELLO, DEVICE_CONNECT, DEVICE_DISCONNECT = 0, 1, 2
PACKET_NAMES = {
    0: "hello", 1: "device_connect", 2: "device_disconnect", 3: "reset", 4: "interface_info", 5: "ep_info",
    6: "set_configuration", 7: "get_configuration", 8: "configuration_status", 9: "set_alt_setting",
    10: "get_alt_setting", 11: "alt_setting_status", 12: "start_iso_stream", 13: "stop_iso_stream",
    14: "iso_stream_status", 15: "start_interrupt_receiving", 16: "stop_interrupt_receiving",
    17: "interrupt_receiving_status", 18: "alloc_bulk_streams", 19: "free_bulk_streams",
    20: "bulk_streams_status", 21: "cancel_data_packet", 22: "filter_reject", 23: "filter_filter",
    24: "device_disconnect_ack", 25: "start_bulk_receiving", 26: "stop_bulk_receiving",
    27: "bulk_receiving_status", 100: "control_packet", 101: "bulk_packet", 102: "iso_packet",
    103: "interrupt_packet", 104: "buffered_bulk_packet",
}
CAP_NAMES = ("bulk_streams", "connect_device_version", "filter", "device_disconnect_ack",
             "ep_info_max_packet_size", "64bits_ids", "32bits_bulk_length", "bulk_receiving")
CAP_64BITS_IDS = 5
# what QEMU's usb-redir announces (everything but bulk streams)
GUEST_CAPS = sum(1 << i for i in (1, 2, 3, 4, 5, 6, 7))
VERSION_LEN = 64
MAX_PACKET = 128 * 1024 * 1024  # larger lengths are a broken peer, not a USB transfer
SPEEDS = {0: "low", 1: "full", 2: "high", 3: "super", 255: "unknown"}


class UsbRedirError(Exception):
    """The peer broke the protocol; the channel is closed."""


@dataclass
class UsbRedirGuest:
    version: str = GUEST_VERSION
    caps: int = GUEST_CAPS
    peer_version: str | None = None
    peer_caps: int = 0
    packets: list[str] = field(default_factory=list)
    device: dict[str, Any] | None = None
    _buf: bytearray = field(default_factory=bytearray)

    def hello(self) -> bytes:
        body = self.version.encode()[: VERSION_LEN - 1].ljust(VERSION_LEN, b"\0") + struct.pack("<I", self.caps)
        return struct.pack("<III", HELLO, len(body), 0) + body

    @property
    def ids_64bit(self) -> bool:
        return bool(self.caps & self.peer_caps & (1 << CAP_64BITS_IDS))

    def summary(self) -> dict[str, Any]:
        caps = [name for i, name in enumerate(CAP_NAMES) if self.peer_caps & (1 << i)]
        return {"version": self.peer_version, "caps": caps, "packets": list(self.packets), "device": self.device}

    def feed(self, data: bytes) -> list[bytes]:
        """Take the client's bytes; returns what the guest answers (nothing yet besides the hello)."""
        self._buf += data
        while True:
            header_len = 16 if self.peer_version is not None and self.ids_64bit else 12
            if len(self._buf) < header_len:
                return []
            ptype, length = struct.unpack_from("<II", self._buf)
            if self.peer_version is None:
                self._check_hello_header(ptype, length)
            elif length > MAX_PACKET:
                raise UsbRedirError(f"packet length {length} too large")
            if len(self._buf) < header_len + length:
                return []
            body = bytes(self._buf[header_len : header_len + length])
            del self._buf[: header_len + length]
            self._packet(ptype, body)

    @staticmethod
    def _check_hello_header(ptype: int, length: int) -> None:
        if ptype != HELLO:
            raise UsbRedirError(f"the first packet is {PACKET_NAMES.get(ptype, f'type {ptype}')}, not a hello")
        if length < VERSION_LEN:
            raise UsbRedirError(f"hello packet too short ({length} bytes)")
        if length > VERSION_LEN + 4 * 32:
            raise UsbRedirError(f"hello packet too long ({length} bytes)")

    def _packet(self, ptype: int, body: bytes) -> None:
        name = PACKET_NAMES.get(ptype, f"type {ptype}")
        if ptype == HELLO:
            if self.peer_version is not None:
                raise UsbRedirError("second hello")
            raw, _, _ = body[:VERSION_LEN].partition(b"\0")
            if len(raw) >= VERSION_LEN or not all(0x20 <= b < 0x7F for b in raw):
                raise UsbRedirError("hello version is not a NUL-terminated string")
            caps = body[VERSION_LEN:]
            if len(caps) % 4:
                raise UsbRedirError("hello capabilities are not whole uint32s")
            self.peer_caps = struct.unpack_from("<I", caps)[0] if caps else 0
            self.peer_version = raw.decode()
        elif ptype == DEVICE_CONNECT and len(body) >= 8:
            speed, cls, sub, proto, vendor, product = struct.unpack_from("<BBBBHH", body)
            self.device = {"speed": SPEEDS.get(speed, str(speed)), "class": cls, "subclass": sub,
                           "protocol": proto, "vendor": f"{vendor:04x}", "product": f"{product:04x}"}
        elif ptype == DEVICE_DISCONNECT:
            self.device = None
        self.packets.append(name)
