"""The simulator's end of a guest's network: Ethernet frames from QEMU and a small TCP/IP stack.

QEMU's `-netdev stream` connects the guest's virtio NIC to a unix socket the simulator listens on;
every frame travels as a 4-byte big-endian length and the frame. On this wire the simulator is the
guest's gateway (`host_ip`): it answers ARP and ping, and dials the guest's TCP and UDP ports for
port-forward, ssh and scp.

Why not QEMU's user-mode networking (slirp) with `hostfwd`: the TCP connections would live in
the QEMU process, and a live migration moves the guest to a new process, so an open ssh session
would break. Here the host side of every connection lives in the simulator and the guest side in
the guest's kernel (whose memory migrates): after the switch-over the target QEMU connects to the
same socket, the guest announces itself (QEMU sends RARP frames), and TCP retransmits whatever
was in flight, so the session goes on.

The TCP is deliberately small, for a lossless local wire that drops frames only while a guest
migrates: active open only (MSS and window-scale options), in-order receive (anything else is
answered with a duplicate ACK), go-back-N retransmission on a timer with exponential back-off,
zero-window probes, FIN/RST handling. No congestion control: the peer is a VM on the same host.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import struct
from collections.abc import Callable

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
PROTO_ICMP, PROTO_TCP, PROTO_UDP = 1, 6, 17
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
RCV_BUFFER = 4 << 20
RCV_SHIFT = 7
SND_BUFFER = 1 << 20
RTO_MIN, RTO_MAX = 0.25, 2.0


def checksum(data: bytes | bytearray | memoryview, initial: int = 0) -> int:
    """The Internet checksum (one's complement of the one's complement sum of 16-bit words)."""
    if len(data) % 2:
        data = bytes(data) + b"\0"
    total = int.from_bytes(data, "big") + initial
    r = total % 0xFFFF
    if r == 0 and total:
        r = 0xFFFF
    return (~r) & 0xFFFF


def mac_bytes(mac: str) -> bytes:
    return bytes(int(x, 16) for x in mac.split(":"))


def ip_bytes(ip: str) -> bytes:
    return bytes(int(x) for x in ip.split("."))


class DialError(OSError):
    """Connecting to the guest failed; ``str()`` is Go's wording (``connect: connection refused``)."""


class Link:
    """One guest's wire: the unix socket QEMU connects to, and the host's endpoint on it."""

    def __init__(self, path: str, host_mac: str, host_ip: str, guest_mac: str, guest_ip: str,
                 mtu: int = 1500, log: Callable[[str], None] = lambda _m: None) -> None:
        self.path = path
        self.host_mac, self.guest_mac = mac_bytes(host_mac), mac_bytes(guest_mac)
        self.host_ip, self.guest_ip = ip_bytes(host_ip), ip_bytes(guest_ip)
        self.guest_ip_text = guest_ip
        self.mtu = mtu
        self.log = log
        self._server: asyncio.AbstractServer | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self.tcp: dict[tuple[int, int], TcpConnection] = {}
        self.udp: dict[int, UdpSocket] = {}
        self._ip_id = random.randrange(1 << 16)
        self.frames_in = self.frames_out = 0
        self.connections = 0  # QEMU processes that connected (two per migration)

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self._server = await asyncio.start_unix_server(self._client, self.path)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.tcp.values()):
            conn.abort(send_rst=False)
        for writer in list(self._clients):
            writer.close()  # its reader sees the end and returns
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    # -- the wire --------------------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # the newest QEMU is the guest (a migration target connects while the source still runs, but
        # sends nothing until it takes over; frames go to whoever sent the last one)
        self._clients.add(writer)
        self.connections += 1
        if self._writer is None or self._writer.is_closing():
            self._writer = writer
        try:
            while True:
                head = await reader.readexactly(4)
                (n,) = struct.unpack(">I", head)
                frame = await reader.readexactly(n)
                if self._writer is not writer:
                    self._writer = writer
                self.frames_in += 1
                try:
                    self._frame(frame)
                except Exception as e:  # a malformed frame must not end the wire
                    self.log(f"guest network: bad frame dropped: {e!r}")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._clients.discard(writer)
            if self._writer is writer:
                self._writer = None
            writer.close()

    def send_frame(self, frame: bytes) -> None:
        w = self._writer
        if w is None or w.is_closing():
            return  # no guest attached (booting, migrating): TCP retransmits
        w.write(struct.pack(">I", len(frame)) + frame)
        self.frames_out += 1

    def _frame(self, frame: bytes) -> None:
        if len(frame) < 14:
            return
        (etype,) = struct.unpack_from(">H", frame, 12)
        if etype == ETH_ARP:
            self._arp(frame[14:])
        elif etype == ETH_IPV4:
            self._ipv4(frame[14:])

    def _arp(self, p: bytes) -> None:
        if len(p) < 28:
            return
        op = struct.unpack_from(">H", p, 6)[0]
        sha, spa, tpa = p[8:14], p[14:18], p[24:28]
        if op == 1 and tpa == self.host_ip:
            reply = struct.pack(">HHBBH", 1, ETH_IPV4, 6, 4, 2) + self.host_mac + self.host_ip + sha + spa
            self.send_frame(sha + self.host_mac + struct.pack(">H", ETH_ARP) + reply)

    def _ipv4(self, p: bytes) -> None:
        if len(p) < 20 or p[0] >> 4 != 4:
            return
        ihl = (p[0] & 0x0F) * 4
        (total,) = struct.unpack_from(">H", p, 2)
        if p[16:20] != self.host_ip or struct.unpack_from(">H", p, 6)[0] & 0x3FFF:
            return  # not for us, or a fragment (the guest sets DF and we announce our MSS)
        proto, src = p[9], p[12:16]
        payload = p[ihl:total]
        if proto == PROTO_TCP:
            self._tcp(src, payload)
        elif proto == PROTO_UDP and len(payload) >= 8:
            sport, dport = struct.unpack_from(">HH", payload)
            sock = self.udp.get(dport)
            if sock is not None and sport == sock.rport:
                sock.deliver(payload[8:])
        elif proto == PROTO_ICMP and len(payload) >= 8 and payload[0] == 8:  # echo request
            reply = b"\0\0\0\0" + payload[4:]
            reply = reply[:2] + struct.pack(">H", checksum(reply)) + reply[4:]
            self.send_ip(PROTO_ICMP, reply, dst=src)

    def send_ip(self, proto: int, payload: bytes, dst: bytes | None = None) -> None:
        dst = dst or self.guest_ip
        self._ip_id = (self._ip_id + 1) & 0xFFFF
        head = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), self._ip_id, 0x4000, 64, proto, 0,
                           self.host_ip, dst)
        head = head[:10] + struct.pack(">H", checksum(head)) + head[12:]
        self.send_frame(self.guest_mac + self.host_mac + struct.pack(">H", ETH_IPV4) + head + payload)

    def _pseudo(self, proto: int, length: int) -> int:
        return int.from_bytes(self.host_ip + self.guest_ip + struct.pack(">BBH", 0, proto, length), "big")

    def send_l4(self, proto: int, segment: bytearray, csum_at: int) -> None:
        segment[csum_at:csum_at + 2] = b"\0\0"
        c = checksum(segment, self._pseudo(proto, len(segment)))
        if proto == PROTO_UDP and c == 0:
            c = 0xFFFF
        segment[csum_at:csum_at + 2] = struct.pack(">H", c)
        self.send_ip(proto, bytes(segment))

    def _tcp(self, src: bytes, seg: bytes) -> None:
        if len(seg) < 20:
            return
        sport, dport = struct.unpack_from(">HH", seg)
        conn = self.tcp.get((dport, sport))
        if conn is not None:
            conn.input(seg)
        elif not seg[13] & RST:  # nobody here: reset, as a closed port does
            seq, ack = struct.unpack_from(">II", seg, 4)
            flags = seg[13]
            data_len = len(seg) - (seg[12] >> 4) * 4
            if flags & ACK:
                self._rst(dport, sport, ack, 0, RST)
            else:
                self._rst(dport, sport, 0, (seq + data_len + (1 if flags & SYN else 0)) & 0xFFFFFFFF, RST | ACK)

    def _rst(self, sport: int, dport: int, seq: int, ack: int, flags: int) -> None:
        seg = bytearray(struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 0, 0, 0))
        self.send_l4(PROTO_TCP, seg, 16)

    def _port(self, used: Callable[[int], bool]) -> int:
        for _ in range(1000):
            port = random.randrange(32768, 61000)
            if not used(port):
                return port
        raise DialError("no free local port")

    # -- dialing ---------------------------------------------------------------------------------

    async def connect(self, port: int, timeout: float = 10.0) -> TcpConnection:
        """An established TCP connection to the guest's ``port`` (DialError when refused or timed out)."""
        lport = self._port(lambda p: any(k[0] == p for k in self.tcp))
        conn = TcpConnection(self, lport, port)
        self.tcp[(lport, port)] = conn
        try:
            await asyncio.wait_for(conn.open(), timeout)
        except TimeoutError:
            conn.abort(send_rst=False)
            raise DialError(f"dial tcp {self.guest_ip_text}:{port}: i/o timeout") from None
        except DialError:
            conn.abort(send_rst=False)
            raise
        return conn

    def udp_socket(self, port: int) -> UdpSocket:
        lport = self._port(lambda p: p in self.udp)
        sock = UdpSocket(self, lport, port)
        self.udp[lport] = sock
        return sock


class UdpSocket:
    def __init__(self, link: Link, lport: int, rport: int) -> None:
        self.link, self.lport, self.rport = link, lport, rport
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1024)

    def deliver(self, data: bytes) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(data)

    def send(self, data: bytes) -> None:
        seg = bytearray(struct.pack(">HHHH", self.lport, self.rport, 8 + len(data), 0) + data)
        self.link.send_l4(PROTO_UDP, seg, 6)

    async def recv(self) -> bytes:
        return await self.queue.get()

    def close(self) -> None:
        self.link.udp.pop(self.lport, None)


class TcpConnection:
    """One connection from the simulator to a guest port (see the module docstring for what it does)."""

    def __init__(self, link: Link, lport: int, rport: int) -> None:
        self.link, self.lport, self.rport = link, lport, rport
        self.loop = asyncio.get_running_loop()
        self.state = "SYN_SENT"
        self.iss = random.randrange(1 << 32)
        self.snd_una = self.snd_nxt = self.iss  # unbounded integers; 32-bit only on the wire
        self.snd_wnd = 1024
        self.snd_shift = 0
        self.mss = 536
        self.sendbuf = bytearray()  # bytes from snd_una + (1 if SYN unacked) on
        self.fin_wanted = False
        self.fin_sent = False
        self.rcv_nxt = 0
        self.irs = 0
        self.received = bytearray()
        self.eof = False
        self.error: str | None = None
        self._opened: asyncio.Future[None] = self.loop.create_future()
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._timer: asyncio.TimerHandle | None = None
        self._rto = RTO_MIN
        self._ack_due = False
        self._advertised = 0
        self.closed = asyncio.Event()

    # -- sequence numbers ------------------------------------------------------------------------

    @staticmethod
    def _unwrap(x: int, ref: int) -> int:
        """The unbounded sequence number nearest ``ref`` whose low 32 bits are ``x``."""
        d = (x - ref) & 0xFFFFFFFF
        return ref + d - (1 << 32) if d >= 1 << 31 else ref + d

    def _window(self) -> int:
        return max(0, RCV_BUFFER - len(self.received)) >> RCV_SHIFT

    # -- output ----------------------------------------------------------------------------------

    def _segment(self, seq: int, flags: int, data: bytes | memoryview = b"", options: bytes = b"") -> None:
        window = min(self._window(), 0xFFFF) if not flags & SYN else min(RCV_BUFFER, 0xFFFF)
        ack = self.rcv_nxt & 0xFFFFFFFF if flags & ACK else 0
        head = struct.pack(">HHIIBBHHH", self.lport, self.rport, seq & 0xFFFFFFFF, ack,
                           ((20 + len(options)) // 4) << 4, flags, window, 0, 0)
        self._advertised = window
        self._ack_due = False
        self.link.send_l4(PROTO_TCP, bytearray(head + options + bytes(data)), 16)

    async def open(self) -> None:
        self._send_syn()
        await self._opened

    def _send_syn(self) -> None:
        mss = struct.pack(">BBH", 2, 4, self.link.mtu - 40)
        wscale = struct.pack(">BBBB", 1, 3, 3, RCV_SHIFT)  # NOP + window scale
        self._segment(self.iss, SYN, options=mss + wscale)
        self.snd_nxt = self.iss + 1
        self._arm()

    def _output(self) -> None:
        if self.state not in ("ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT_1", "LAST_ACK"):
            return
        base = self.snd_una + 1 if self.snd_una == self.iss else self.snd_una
        while True:
            offset = self.snd_nxt - base
            pending = len(self.sendbuf) - offset
            room = self.snd_una + self.snd_wnd - self.snd_nxt
            if pending <= 0 or room <= 0:
                break
            n = min(pending, room, self.mss)
            self._segment(self.snd_nxt, ACK | PSH, memoryview(self.sendbuf)[offset:offset + n])
            self.snd_nxt += n
        if self.fin_wanted and not self.fin_sent and self.snd_nxt - base == len(self.sendbuf):
            self._segment(self.snd_nxt, FIN | ACK)
            self.snd_nxt += 1
            self.fin_sent = True
            self.state = "LAST_ACK" if self.state == "CLOSE_WAIT" else "FIN_WAIT_1"
        if self.snd_nxt > self.snd_una or (self.sendbuf and self.snd_wnd == 0):
            self._arm()

    def _arm(self) -> None:
        if self._timer is None:
            self._timer = self.loop.call_later(self._rto, self._timeout)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timeout(self) -> None:
        self._timer = None
        if self.state == "CLOSED":
            return
        self._rto = min(self._rto * 2, RTO_MAX)
        if self.state == "SYN_SENT":
            self._send_syn()
            return
        if self.snd_nxt > self.snd_una:  # go back to the first unacknowledged byte
            self.snd_nxt = self.snd_una
            if self.fin_sent:
                self.fin_sent = False
                self.state = "CLOSE_WAIT" if self.state == "LAST_ACK" else "ESTABLISHED"
            self._output()
        elif self.sendbuf and self.snd_wnd == 0:  # zero window: probe with one byte
            base = self.snd_una + 1 if self.snd_una == self.iss else self.snd_una
            self._segment(self.snd_una, ACK, memoryview(self.sendbuf)[self.snd_una - base:self.snd_una - base + 1])
            self._arm()
        if self._timer is None and (self.snd_nxt > self.snd_una or self.sendbuf):
            self._arm()

    def _ack_soon(self) -> None:
        if not self._ack_due:
            self._ack_due = True
            self.loop.call_soon(self._flush_ack)

    def _flush_ack(self) -> None:
        if self._ack_due and self.state != "CLOSED":
            self._segment(self.snd_nxt, ACK)

    # -- input -----------------------------------------------------------------------------------

    def input(self, seg: bytes) -> None:
        seq32, ack32 = struct.unpack_from(">II", seg, 4)
        off = (seg[12] >> 4) * 4
        flags = seg[13]
        (win,) = struct.unpack_from(">H", seg, 14)
        data = seg[off:]
        if self.state == "SYN_SENT":
            if flags & RST:
                self._fail("connect: connection refused")
                return
            if flags & SYN and flags & ACK and self._unwrap(ack32, self.iss) == self.iss + 1:
                self._options(seg[20:off])
                self.irs = seq32
                self.rcv_nxt = self._unwrap(seq32, seq32) + 1
                self.snd_una = self.iss + 1
                self.snd_wnd = win << self.snd_shift
                self.state = "ESTABLISHED"
                self._disarm()
                self._rto = RTO_MIN
                self._segment(self.snd_nxt, ACK)
                if not self._opened.done():
                    self._opened.set_result(None)
                self._output()
            return
        if self.state == "CLOSED":
            return
        seq = self._unwrap(seq32, self.rcv_nxt)
        if flags & RST:
            if self.rcv_nxt - 1 <= seq <= self.rcv_nxt + (self._advertised << RCV_SHIFT):
                self._fail("connection reset by peer")
            return
        if flags & ACK:
            ack = self._unwrap(ack32, self.snd_una)
            if self.snd_una < ack <= self.snd_nxt:
                base = self.snd_una + 1 if self.snd_una == self.iss else self.snd_una
                acked_data = min(ack - base, len(self.sendbuf))
                if acked_data > 0:
                    del self.sendbuf[:acked_data]
                self.snd_una = ack
                self._disarm()
                self._rto = RTO_MIN
                if len(self.sendbuf) < SND_BUFFER:
                    self._writable.set()
                if self.fin_sent and ack == self.snd_nxt:
                    if self.state == "FIN_WAIT_1" and self.eof:
                        self._finish()
                        return
                    if self.state == "FIN_WAIT_1":
                        self.state = "FIN_WAIT_2"
                    elif self.state == "LAST_ACK":
                        self._finish()
                        return
            if ack >= self.snd_una:
                self.snd_wnd = win << self.snd_shift
        if data or flags & FIN:
            if seq < self.rcv_nxt:  # (partly) seen before
                data = data[self.rcv_nxt - seq:]
                seq = self.rcv_nxt
                if not data and not flags & FIN:
                    self._segment(self.snd_nxt, ACK)
                    return
            if seq != self.rcv_nxt:  # a gap: ask again for what we expect
                self._segment(self.snd_nxt, ACK)
                return
            if data and not self.eof:
                self.received += data
                self.rcv_nxt += len(data)
                self._readable.set()
            if flags & FIN and not self.eof:
                self.rcv_nxt += 1
                self.eof = True
                self._readable.set()
                if self.state == "ESTABLISHED":
                    self.state = "CLOSE_WAIT"
                elif self.state == "FIN_WAIT_2":
                    self._segment(self.snd_nxt, ACK)
                    self._finish()
                    return
            self._ack_soon()
        self._output()

    def _options(self, opts: bytes) -> None:
        i, shift = 0, None
        while i < len(opts):
            kind = opts[i]
            if kind == 0:
                break
            if kind == 1:
                i += 1
                continue
            if i + 1 >= len(opts):
                break
            length = opts[i + 1]
            if kind == 2 and length == 4:
                self.mss = min(struct.unpack_from(">H", opts, i + 2)[0], self.link.mtu - 40)
            elif kind == 3 and length == 3:
                shift = min(opts[i + 2], 14)
            i += max(length, 2)
        self.snd_shift = shift if shift is not None else 0

    def _fail(self, message: str) -> None:
        self.error = message
        if not self._opened.done():
            self._opened.set_exception(DialError(f"dial tcp {self.link.guest_ip_text}:{self.rport}: {message}"))
        self._finish()

    def _finish(self) -> None:
        self.state = "CLOSED"
        self._disarm()
        self.eof = True
        self._readable.set()
        self._writable.set()
        self.link.tcp.pop((self.lport, self.rport), None)
        self.closed.set()

    # -- the application's side ------------------------------------------------------------------

    async def read(self) -> bytes:
        """Some received bytes; b"" at the end of the stream (or after a reset)."""
        while not self.received and not self.eof:
            self._readable.clear()
            await self._readable.wait()
        data = bytes(self.received)
        self.received.clear()
        if self.state != "CLOSED" and self._advertised < (RCV_BUFFER >> RCV_SHIFT) // 2:
            self._segment(self.snd_nxt, ACK)  # the window opened again: say so
        return data

    async def write(self, data: bytes) -> None:
        if self.state not in ("ESTABLISHED", "CLOSE_WAIT"):
            raise ConnectionResetError(self.error or "connection closed")
        self.sendbuf += data
        self._output()
        while len(self.sendbuf) >= SND_BUFFER and self.state != "CLOSED":
            self._writable.clear()
            await self._writable.wait()

    def close(self) -> None:
        """Send FIN once everything written is sent (the peer's data may still arrive)."""
        if self.state in ("ESTABLISHED", "CLOSE_WAIT") and not self.fin_wanted:
            self.fin_wanted = True
            self._output()

    def abort(self, send_rst: bool = True) -> None:
        if self.state == "CLOSED":
            return
        if send_rst and self.state != "SYN_SENT":
            self._segment(self.snd_nxt, RST | ACK)
        self.error = self.error or "connection aborted"
        self._finish()
