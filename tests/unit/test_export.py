"""The vmexport flow's pure parts: flag checks (virtctl's own test table), bodies, link and format choice,
port lookup, bounded gunzip, the output file's rules, and SPDY framing (client and simulator agree)."""

from __future__ import annotations

import gzip
import io
import os
import struct
import sys
import zlib

import pytest

from pyvirtctl.commands import vmexport as cmd
from pyvirtctl.errors import CLIError
from pyvirtctl.kubevirt import export as vx
from pyvirtctl.sim import spdy as sim_spdy
from pyvirtctl.streams import spdy

# --------------------------------------------------------------------------- flags (vmexport_test.go's table)


@pytest.mark.parametrize(("fn", "flags", "message"), [
    ("create", {}, cmd.ERR_KIND_REQUIRED),
    ("create", {"pvc": "test", "insecure": True}, "the '--insecure' flag is incompatible with 'create'"),
    ("create", {"vm": "v", "local_port": "5"}, "the '--local-port' flag is incompatible with 'create'"),
    ("delete", {"pvc": "test"}, "should not specify export kind"),
    ("delete", {"vmtemplate": "test"}, "should not specify export kind"),
    ("delete", {"insecure": True}, "the '--insecure' flag is incompatible with 'delete'"),
    ("delete", {"annotations": ["a=b"]}, "the '--annotations' flag is incompatible with 'delete'"),
    ("download", {"manifest": True, "pvc": "test"}, "the '--pvc' flag is incompatible with '--manifest'"),
    ("download", {"manifest": True, "vm": "test", "volume": "volume"},
     "the '--volume' flag is incompatible with '--manifest'"),
    ("download", {"manifest": True, "manifest_output_format": "invalid"},
     "--manifest-output-format is not a valid value, acceptable values are json/yaml"),
    ("download", {"port_forward": True, "local_port": "test", "output": "f"},
     "--local-port is not a valid value, acceptable values are valid port numbers"),
    ("download", {"format": "test", "output": "f"}, "--format is not a valid value, acceptable values are gzip/raw/oci"),
    ("download", {"format": "oci", "volume": "vol"}, "the '--volume' flag is incompatible with '--format=oci'"),
    ("download", {"format": "oci", "manifest": True}, "the '--manifest' flag is incompatible with '--format=oci'"),
    ("download", {"format": "oci", "pvc": "mypvc"}, "the '--pvc' flag is incompatible with '--format=oci'"),
    ("download", {}, cmd.ERR_BINARY),
    ("Upload", {}, "invalid function 'upload'"),
])
def test_flag_checks(fn, flags, message):
    with pytest.raises(CLIError) as e:
        cmd.validate(fn, cmd.Flags(**flags))
    assert str(e.value) == message


@pytest.mark.parametrize(("fn", "flags"), [
    ("CREATE", {"vm": "v", "ttl": "1h", "labels": ["a=b"], "readiness_timeout": "1m"}),
    ("delete", {"ttl": "1h", "manifest": True}),
    ("download", {"manifest": True, "manifest_output_format": "JSON"}),
    ("download", {"output": "-", "port_forward": True, "local_port": "65535", "retry": 3}),
])
def test_flags_virtctl_accepts(fn, flags):
    assert cmd.validate(fn, cmd.Flags(**flags)) == fn.lower()


def test_export_info_from_flags():
    info = cmd.export_info("download", "e", cmd.Flags(pvc="p", port_forward=True, local_port="0", format="raw",
                                                      ttl="1.5h", readiness_timeout="90s",
                                                      labels=["a=b", "c=d=e"]), "ns")
    assert (info.should_create, info.insecure, info.decompress, info.service_url, info.ttl, info.readiness_timeout) \
        == (True, False, True, "127.0.0.1:0", 5400.0, 90.0)
    assert info.labels == {"a": "b", "c": "d=e"} and info.source == vx.Source.pvc("p")
    with pytest.raises(CLIError, match='^time: invalid duration "x"$'):
        cmd.export_info("create", "e", cmd.Flags(vm="v", ttl="x"), "ns")
    with pytest.raises(CLIError, match='^invalid --labels entry "junk": expected key=value$'):
        cmd.export_info("create", "e", cmd.Flags(vm="v", labels=["a=b", "junk"]), "ns")


# --------------------------------------------------------------------------- bodies


def test_export_body_in_go_order():
    info = vx.ExportInfo("e1", "ns", source=vx.Source.snapshot("s"), ttl=3600.0, labels={"a": "b"})
    body = vx.export_body(info)
    assert list(body) == ["kind", "apiVersion", "metadata", "spec"]
    assert body["metadata"] == {"name": "e1", "namespace": "ns", "labels": {"a": "b"}}
    assert body["spec"] == {"source": {"apiGroup": "snapshot.kubevirt.io", "kind": "VirtualMachineSnapshot",
                                       "name": "s"}, "tokenSecretRef": "secret-e1", "ttlDuration": "1h0m0s"}
    assert "ttlDuration" not in vx.export_body(vx.ExportInfo("e", "ns", source=vx.Source.vm("v")))["spec"]
    assert vx.export_create_request(info).path == "/apis/export.kubevirt.io/v1/namespaces/ns/virtualmachineexports"
    assert vx.pods_list_request("ns", {"z": "1", "a": "2"}).query == [("labelSelector", "a=2,z=1")]


# --------------------------------------------------------------------------- links and formats


def _vme(volumes: list, manifests: list | None = None, internal: list | None = None) -> dict:
    links = {"external": {"cert": "EXT", "volumes": volumes, "manifests": manifests or []},
             "internal": {"cert": "INT", "volumes": internal or [], "manifests": [
                 {"type": "all", "url": "https://virt-export-e.ns.svc/internal/manifests/all"}]}}
    return {"metadata": {"name": "e", "namespace": "ns"}, "status": {"links": links}}


def _fmt(*pairs: str) -> list:
    return [{"format": f, "url": f"https://h/{f}"} for f in pairs]


@pytest.mark.parametrize(("formats", "decompress", "url", "gunzip"), [
    (("raw", "gzip"), False, "https://h/gzip", False),
    (("gzip", "raw"), True, "https://h/gzip", True),  # the loop stops at the first gzip
    (("raw",), True, "https://h/raw", False),  # nothing to gunzip
    (("dir", "tar.gz"), True, "https://h/tar.gz", True),
    (("tar.gz", "dir"), False, "https://h/tar.gz", False),
])
def test_volume_url_prefers_gzip(formats, decompress, url, gunzip):
    info = vx.ExportInfo("e", "ns", decompress=decompress)
    assert vx.volume_url(_vme([{"name": "v", "formats": _fmt(*formats)}]), info) == (url, gunzip)


def test_volume_url_errors_and_volume_choice():
    two = _vme([{"name": "a", "formats": _fmt("gzip")}, {"name": "b", "formats": [{"format": "raw", "url": "https://h/b"}]}])
    with pytest.raises(CLIError, match="detected more than one downloadable volume in 'ns/e' VirtualMachineExport: "
                                       "Select the expected volume using the --volume flag"):
        vx.volume_url(two, vx.ExportInfo("e", "ns"))
    assert vx.volume_url(two, vx.ExportInfo("e", "ns", volume="b")) == ("https://h/b", False)
    with pytest.raises(CLIError, match="^unable to get a valid URL from 'ns/e' VirtualMachineExport$"):
        vx.volume_url(two, vx.ExportInfo("e", "ns", volume="c"))
    with pytest.raises(CLIError, match="^unable to access the volume info from 'ns/e' VirtualMachineExport$"):
        vx.volume_url(_vme([]), vx.ExportInfo("e", "ns"))
    with pytest.raises(CLIError, match="^unable to get a valid URL"):
        vx.volume_url(_vme([{"name": "v", "formats": _fmt("dir")}]), vx.ExportInfo("e", "ns"))


def test_service_url_uses_the_internal_link_with_its_host():
    vme = _vme([{"name": "v", "formats": _fmt("gzip")}],
               internal=[{"name": "v", "formats": [{"format": "gzip",
                                                    "url": "https://virt-export-e.ns.svc/volumes/v/disk.img.gz"}]}])
    info = vx.ExportInfo("e", "ns", service_url="127.0.0.1:5410")
    assert vx.volume_url(vme, info)[0] == "https://127.0.0.1:5410/volumes/v/disk.img.gz"
    assert vx.manifest_urls(vme, info) == {"all": "https://127.0.0.1:5410/internal/manifests/all"}
    assert (vx.link_cert(vme, info), vx.link_cert(vme, vx.ExportInfo("e", "ns"))) == ("INT", "EXT")
    assert vx.internal_host(vme) == "virt-export-e.ns.svc"
    with pytest.raises(CLIError, match="^unable to access the manifest info from 'ns/e' VirtualMachineExport$"):
        vx.manifest_urls(vme, vx.ExportInfo("e", "ns"))


@pytest.mark.parametrize(("manifest", "delete", "create", "keep", "expected"), [
    (False, False, True, False, True),  # created here: deleted
    (False, False, True, True, False),  # --keep-vme
    (False, False, False, False, False),  # an existing export is kept
    (False, True, False, False, True),  # --delete-vme
    (True, True, True, False, False),  # never after a manifest
])
def test_should_delete(manifest, delete, create, keep, expected):
    info = vx.ExportInfo("e", "ns", manifest=manifest, delete_vme=delete, should_create=create, keep_vme=keep)
    assert vx.should_delete(info) is expected


def test_target_port_lookup():
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"ports": [{"name": "export", "containerPort": 8443}]}]}}

    def svc(target: object, cluster_ip: str = "10.0.0.1") -> dict:
        return {"metadata": {"name": "s"}, "spec": {"clusterIP": cluster_ip,
                                                    "ports": [{"port": 443, "targetPort": target}]}}

    assert vx.target_port(svc(8443), pod) == 8443
    assert vx.target_port(svc(0), pod) == 443
    assert vx.target_port(svc("export"), pod) == 8443
    assert vx.target_port(svc(9999, "None"), pod) == 443
    with pytest.raises(CLIError, match="^Pod 'p' does not have a named port 'web'$"):
        vx.target_port(svc("web"), pod)
    with pytest.raises(CLIError, match="^Service s does not have a service port 443$"):
        vx.target_port({"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}, pod)


# --------------------------------------------------------------------------- bytes


@pytest.fixture(params=["zlib_ng.zlib_ng", "zlib"])
def inflater(request, monkeypatch):
    """Gunzip with zlib-ng (a dependency) and with the standard zlib it falls back to without it."""
    if request.param == "zlib":
        monkeypatch.setitem(sys.modules, "zlib_ng", None)  # import fails as if not installed
    assert vx.inflate_module().__name__ == request.param
    return request.param


def test_gunzip_members_with_bounded_steps(inflater):
    pieces: list[int] = []
    out = bytearray()

    def sink(data: bytes) -> None:
        pieces.append(len(data))
        out.extend(data)

    big = b"\0" * (64 << 20)  # 64 MiB of zeros gzip to ~64 KiB: the output must still come in bounded pieces
    data = gzip.compress(big, 6) + gzip.compress(b"tail")
    g = vx.Gunzip(sink)
    for i in range(0, len(data), 8192):
        g.feed(data[i : i + 8192])
    assert bytes(out) == big + b"tail" and not g.inside
    assert max(pieces) <= vx.INFLATE_CAP
    cut = vx.Gunzip(lambda d: None)
    cut.feed(data[:1000])
    assert cut.inside  # a member was cut short: the caller reports unexpected EOF
    with pytest.raises(CLIError, match="^gzip: invalid header$"):
        vx.Gunzip(lambda d: None).feed(b"not gzip at all")


@pytest.mark.parametrize(("damage", "text"), [
    (lambda gz: gz[:-8] + bytes(4) + gz[-4:], "gzip: invalid checksum"),  # CRC-32
    (lambda gz: gz[:-4] + b"\1\0\0\0", "gzip: invalid checksum"),  # ISIZE
    (lambda gz: gz[:10] + b"\xff" * 20, "flate: corrupt input"),
])
def test_gunzip_errors_are_gos_words_with_either_inflater(inflater, damage, text):
    gz = gzip.compress(os.urandom(100_000) + bytes(100_000))
    with pytest.raises(CLIError) as err:
        vx.Gunzip(lambda d: None).feed(damage(gz))
    assert err.value.message == text


def test_output_file_keeps_an_existing_file_until_the_first_byte(tmp_path):
    path = tmp_path / "out.img"
    path.write_bytes(b"old content")
    f = vx.OutputFile.open(str(path))
    f.discard()  # failed before any byte: an existing file is left alone
    assert path.read_bytes() == b"old content"
    f = vx.OutputFile.open(str(path))
    f.write(b"new")
    f.restart()  # a retry
    f.write(b"again")
    f.close()
    assert path.read_bytes() == b"again"
    f = vx.OutputFile.open(str(path))
    f.write(b"partial")
    f.discard()
    assert not path.exists()  # a partial download is removed
    fresh = tmp_path / "fresh.img"
    vx.OutputFile.open(str(fresh)).discard()
    assert not fresh.exists()  # made by this run and never written: removed
    with pytest.raises(CLIError, match=f"^open {tmp_path}: is a directory$"):
        vx.OutputFile.open(str(tmp_path))
    devnull = vx.OutputFile.open(os.devnull)
    devnull.write(b"x")
    devnull.discard()
    assert os.path.exists(os.devnull)  # only regular files are ever removed


def test_output_file_writes_at_most_32_kib_at_a_time(tmp_path):
    """Like Go's io.Copy: larger writes make ext4 take large page-cache folios, which on a VM with free page
    reporting must be faulted in from the host (1-3 s more kernel time per GiB in one run out of two)."""
    sizes: list[int] = []

    class Recorder(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b) -> int:  # type: ignore[override]
            sizes.append(len(b))
            return len(b)

    out = vx.OutputFile(Recorder())
    data = bytes(range(256)) * 1024 + b"tail"  # 256 KiB and 4 bytes
    out.write(data)
    out.write(memoryview(data)[:100])
    assert sizes == [32768] * 8 + [4, 100]
    assert out.written == len(data) + 100
    path = tmp_path / "out.img"
    f = vx.OutputFile.open(str(path))
    f.write(memoryview(data))
    f.close()
    assert path.read_bytes() == data


def test_output_file_truncates_only_a_file_with_content(tmp_path):
    """ext4 writes a truncated file's dirty pages back when it is closed (~0.5 s per GiB at exit), so a
    new, empty file is never truncated; one with content is emptied at the first byte and at a retry."""
    truncated = []

    class Spy(io.FileIO):
        def truncate(self, size=None):
            truncated.append(self.tell())
            return super().truncate(size)

    fresh = tmp_path / "fresh.img"
    f = vx.OutputFile(Spy(str(fresh), "w"), str(fresh), regular=True, created=True)
    f.write(b"first try")
    assert truncated == []
    f.restart()  # a retry: what the first try wrote goes
    f.write(b"2nd")
    f.close()
    assert (truncated, fresh.read_bytes()) == ([0], b"2nd")
    old = tmp_path / "old.img"
    old.write_bytes(b"old content")
    f = vx.OutputFile(Spy(str(old), "r+"), str(old), regular=True)
    f.write(b"new")
    f.close()
    assert (truncated, old.read_bytes()) == ([0, 0], b"new")


# --------------------------------------------------------------------------- SPDY


def test_spdy_dictionary_is_the_protocols():
    assert spdy.DICTIONARY == sim_spdy.DICTIONARY
    assert (len(spdy.DICTIONARY), zlib.adler32(spdy.DICTIONARY)) == (1423, 3821447106)


def test_spdy_client_frames_read_by_the_simulator_and_back():
    deflate = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, spdy.DICTIONARY)
    headers = {"streamtype": "error", "port": "8443", "requestid": "0"}
    syn1 = spdy.control_frame(spdy.SYN_STREAM, 0, struct.pack(">IIBB", 1, 0, 0, 0) + spdy.encode_headers(deflate, headers))
    syn3 = spdy.control_frame(spdy.SYN_STREAM, 0, struct.pack(">IIBB", 3, 0, 0, 0) + spdy.encode_headers(
        deflate, {**headers, "streamtype": "data"}))
    data = spdy.data_frame(3, b"hello", fin=True)
    codec = sim_spdy.Codec()
    wire = syn1 + syn3 + data
    frames = [f for i in range(0, len(wire), 7) for f in codec.feed(wire[i : i + 7])]  # boundaries mean nothing
    assert [(f.control, f.kind, f.stream_id) for f in frames] == [(True, 1, 1), (True, 1, 3), (False, 0, 3)]
    assert frames[0].headers == headers and frames[1].headers["streamtype"] == "data"
    assert (frames[2].payload, frames[2].fin) == (b"hello", True)

    reply = codec.syn_reply(3)
    inflate = zlib.decompressobj(zdict=spdy.DICTIONARY)
    assert struct.unpack(">HHI", reply[:8])[1] == spdy.SYN_REPLY
    assert spdy.decode_headers(inflate, reply[12:]) == {}
    assert codec.data(3, b"", fin=True) == spdy.data_frame(3, b"", fin=True)


class _Pipe:
    """A fake websocket: what the session sends is recorded, what it receives is queued."""

    def __init__(self, incoming: list[bytes]) -> None:
        import threading

        self.incoming = list(incoming)
        self.sent: list[bytes] = []
        self.opened = threading.Event()

    def send(self, data: bytes) -> None:
        self.sent.append(data)
        self.opened.set()

    def recv(self) -> bytes | None:
        self.opened.wait(5)  # the server answers once the client has opened its stream
        return self.incoming.pop(0) if self.incoming else None

    def close(self) -> None:
        pass


def test_spdy_session_delivers_data_and_answers_server_pings():
    codec = sim_spdy.Codec()
    got: list[bytes] = []
    session = spdy.Session(_Pipe([codec.syn_reply(1) + codec.data(1, b"abc"), codec.ping(2) + codec.data(1, fin=True)]))
    import threading

    reader = threading.Thread(target=session.run)
    stream_holder: list = []

    def create() -> None:
        stream_holder.append(session.create_stream({"streamtype": "data", "port": "1", "requestid": "0"}, got.append))

    creator = threading.Thread(target=create)
    creator.start()
    reader.start()
    creator.join(5)
    reader.join(5)
    assert got == [b"abc", b""]  # the data, then the end of the server's half
    pong = session.conn.sent[-1]
    assert pong == sim_spdy.Codec().ping(2)  # an even (server) ping id is echoed
    assert session.closed.is_set()  # the connection ended
