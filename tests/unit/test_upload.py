"""image-upload's pure parts: argument checks (virtctl's table), image inspection, bodies, URLs, the bar."""

from __future__ import annotations

import gzip
import io
import lzma
import struct
import tarfile

import pytest

from pyvirtctl.errors import CLIError, InputError
from pyvirtctl.kubevirt import upload as up
from pyvirtctl.progressbar import TransferBar, elapsed_text, format_bytes, go_seconds, render

QUANTITY_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


def parse(args: list[str], **flags) -> up.UploadOptions:
    return up.parse_args(args, **flags)


# virtctl's own "Bad args" table (pkg/virtctl/imageupload/imageupload_test.go), plus what pyvirtctl checks early
@pytest.mark.parametrize("args,flags,error", [
    ([], {}, "either image-path or archive-path must be provided"),
    (["targetName"], {"size": "500Mi", "image_path": "/dev/null"}, "expecting two args"),
    ([], {"size": "500Mi", "image_path": "/dev/null"}, "expecting two args"),
    (["dv", "t"], {"size": "500Zb", "image_path": "/dev/null"}, f"validation failed for size=500Zb: {QUANTITY_ERROR}"),
    (["dv", "t"], {"size": "500Mi"}, "either image-path or archive-path must be provided"),
    (["dv", "t"], {"image_path": "/dev/null", "archive_path": "/dev/null.tar"},
     "cannot handle both image-path and archive-path, provide only one"),
    (["dv", "t"], {"archive_path": "/dev/null.tar", "block_volume": True},
     "In archive upload the volume mode should always be filesystem"),
    (["dv", "t"], {"archive_path": "/dev/null.tar", "block_volume": True, "volume_mode": "filesystem"},
     "incompatible --volume-mode 'filesystem' and --block-volume"),
    (["dv", "t"], {"archive_path": "/dev/null.tar", "volume_mode": "foo"},
     "Invalid volume mode 'foo'. Valid values are 'block' and 'filesystem'."),
    (["foo"], {"pvc_name": "t", "image_path": "/dev/null"}, "cannot use --pvc-name and args"),
    (["foo", "t"], {"image_path": "/dev/null"}, "invalid resource type foo"),
    (["dv", "t"], {"size": "500G", "pvc_size": "50G", "image_path": "/dev/null"},
     "--pvc-size and --size can not be specified at the same time"),
    (["pvc", "t"], {"image_path": "/dev/null", "default_instancetype_kind": "foo"},
     "--default-instancetype must be provided with --default-instancetype-kind"),
    (["pvc", "t"], {"image_path": "/dev/null", "default_preference_kind": "foo"},
     "--default-preference must be provided with --default-preference-kind"),
    (["pvc", "t"], {"image_path": "/dev/null", "default_instancetype": "foo", "no_create": True},
     "--default-instancetype and --default-preference cannot be used with --no-create"),
    (["pvc", "t"], {"image_path": "/dev/null", "default_preference": "foo", "no_create": True},
     "--default-instancetype and --default-preference cannot be used with --no-create"),
    (["dv", "t"], {"image_path": "/dev/null", "access_mode": "ReadOnlyMany"},
     "cannot upload to a readonly volume, use either ReadWriteOnce or ReadWriteMany if supported"),
    (["dv", ".."], {"image_path": "/dev/null"}, "invalid resource name \"..\": [may not be '..']"),
    (["dv", "t"], {"image_path": "/dev/null", "storage_class": "a/b"},
     "invalid resource name \"a/b\": [may not contain '/']"),
])
def test_bad_arguments(args, flags, error):
    with pytest.raises(InputError) as e:
        parse(args, **flags)
    assert e.value.message == error


def test_good_arguments():
    o = parse(["DV", "disk"], image_path="a.img", pvc_size="1Gi", block_volume=True)
    assert (o.kind, o.name, o.size, o.volume_mode, o.archive, o.create_pvc) == ("dv", "disk", "1Gi", "block", False,
                                                                                 False)
    o = parse([], pvc_name="disk", block_volume=True)  # the deprecated spelling stops checking early, as virtctl
    assert (o.kind, o.name, o.volume_mode, o.image_path) == ("pvc", "disk", "", "")
    o = parse(["pvc", "disk"], archive_path="a.tar", no_create=True, access_mode="ReadOnlyMany")
    assert (o.archive, o.image_path, o.content_type, o.kind_name) == (True, "a.tar", "archive",
                                                                      "PersistentVolumeClaim")


# --------------------------------------------------------------------------- the proxy URL


@pytest.mark.parametrize("url,suffix,expected", [
    # virtctl's URL validation table
    ("http://localhost:12345/", up.UPLOAD_PATH_SYNC, "http://localhost:12345/v1beta1/upload"),
    ("http://localhost:12345/v1beta1/upload", up.UPLOAD_PATH_SYNC, "http://localhost:12345/v1beta1/upload"),
    ("http://localhost:12345", up.UPLOAD_PATH_SYNC, "http://localhost:12345/v1beta1/upload"),
    ("https://proxy.example.com/cdi/", up.UPLOAD_PATH_ASYNC, "https://proxy.example.com/cdi/v1beta1/upload-async"),
    ("https://p/v1beta1/upload", up.UPLOAD_PATH_ASYNC, "https://p/v1beta1/upload/v1beta1/upload-async"),
    ("https://p:8443?x=1", up.UPLOAD_PATH_ASYNC, "https://p:8443/v1beta1/upload-async?x=1"),
    ("localhost:8443", up.UPLOAD_PATH_ASYNC, "localhost:8443"),  # scheme "localhost", opaque: Go prints it as is
])
def test_with_path(url, suffix, expected):
    assert up.with_path(url, suffix) == expected


@pytest.mark.parametrize("url,error", [
    ("127.0.0.1:8443", 'parse "127.0.0.1:8443": first path segment in URL cannot contain colon'),
    (":8443", 'parse ":8443": missing protocol scheme'),
    ("https://h:port", 'parse "https://h:port": invalid port ":port" after host'),
    ("https://h\n", 'parse "https://h\\n": net/url: invalid control character in URL'),
])
def test_go_url_parse_errors(url, error):
    with pytest.raises(CLIError) as e:
        up.go_url_parse(url)
    assert e.value.message == error


def test_go_url_parse_schemes():
    assert up.go_url_parse("cdi-uploadproxy.example.com")[0] == ""
    assert up.go_url_parse("HTTPS://h:1/x")[0] == "https"
    assert up.go_url_parse("https://[::1]:8443/")[0] == "https"


# --------------------------------------------------------------------------- the image


def qcow2_header(virtual: int) -> bytes:
    return b"QFI\xfb" + struct.pack(">I", 3) + b"\0" * 16 + struct.pack(">Q", virtual) + b"\0" * 480


def inspect(tmp_path, data: bytes) -> up.ImageInfo:
    p = tmp_path / "img"
    p.write_bytes(data)
    with open(p, "rb") as fh:
        return up.inspect_image(fh, str(p))


def test_inspect_image(tmp_path):
    raw = b"\x01" * 70_000
    assert (inspect(tmp_path, raw).format, inspect(tmp_path, raw).virtual_size) == ("raw", 70_000)
    q = qcow2_header(10 << 30)
    info = inspect(tmp_path, q)
    assert (info.format, info.compression, info.virtual_size, info.size) == ("qcow2", "", 10 << 30, len(q))
    info = inspect(tmp_path, gzip.compress(q))
    assert (info.format, info.compression, info.virtual_size) == ("qcow2", "gzip", 10 << 30)
    info = inspect(tmp_path, lzma.compress(q))
    assert (info.format, info.compression, info.virtual_size) == ("qcow2", "xz", 10 << 30)
    info = inspect(tmp_path, gzip.compress(raw))  # only the whole stream could tell a raw image's length
    assert (info.format, info.compression, info.virtual_size) == ("unknown", "gzip", None)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        ti = tarfile.TarInfo("disk.img")
        ti.size = 3
        tar.addfile(ti, io.BytesIO(b"abc"))
    assert inspect(tmp_path, buf.getvalue()).format == "tar"
    iso = bytearray(0x9000)
    iso[0x8001:0x8006] = b"CD001"
    assert (inspect(tmp_path, bytes(iso)).format, inspect(tmp_path, bytes(iso)).virtual_size) == ("iso", 0x9000)
    assert inspect(tmp_path, b"KDMV" + b"\0" * 100).virtual_size is None


def test_open_image_errors(tmp_path):
    with pytest.raises(InputError) as e:
        up.open_image(str(tmp_path / "missing"))
    assert e.value.message == f"open {tmp_path / 'missing'}: no such file or directory"
    with pytest.raises(InputError) as e:
        up.open_image(str(tmp_path))
    assert e.value.message == f"read {tmp_path}: is a directory"


def test_check_fits():
    info = up.ImageInfo(path="f.qcow2", size=1000, format="qcow2", virtual_size=(10 << 30) + 1)
    up.check_fits(info, 20 << 30, "--size=20Gi")
    with pytest.raises(CLIError) as e:
        up.check_fits(info, 10 << 30, "--size=10Gi", "give --size=11Gi or more")
    assert e.value.message == ("f.qcow2: the qcow2 image's virtual size is 10.00 GiB (10737418241 bytes), more than "
                               "--size=10Gi (10737418240 bytes): CDI would refuse it after the upload; give "
                               "--size=11Gi or more")
    up.check_fits(up.ImageInfo(path="x", size=1, format="unknown", compression="gzip"), 0, "--size=0")
    assert up._at_least((10 << 30) + 1) == "11Gi"
    assert up.human_size(1) == "1 byte" and up.human_size(1536) == "1.50 KiB" and up.human_size(1 << 20) == "1Mi"


# --------------------------------------------------------------------------- bodies


def test_bodies():
    o = parse(["dv", "disk"], image_path="x", size="1.5Gi", access_mode="ReadWriteMany", volume_mode="filesystem",
              storage_class="fast", force_bind=True, default_instancetype="u1", default_preference="fedora")
    assert up.datavolume_body(o, "ns") == {
        "kind": "DataVolume", "apiVersion": "cdi.kubevirt.io/v1beta1",
        "metadata": {"name": "disk", "namespace": "ns",
                     "labels": {"instancetype.kubevirt.io/default-instancetype": "u1",
                                "instancetype.kubevirt.io/default-preference": "fedora"},
                     "annotations": {"cdi.kubevirt.io/storage.bind.immediate.requested": ""}},
        "spec": {"source": {"upload": {}},
                 "storage": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1536Mi"}},
                             "storageClassName": "fast", "volumeMode": "Filesystem"},
                 "contentType": "kubevirt"},
        "status": {}}
    o = parse(["pvc", "disk"], archive_path="x.tar", size="10G")
    assert up.pvc_body(o, "ns") == {
        "kind": "PersistentVolumeClaim", "apiVersion": "v1",
        "metadata": {"name": "disk", "namespace": "ns", "labels": {"cdi.kubevirt.io/applyStorageProfile": "true"},
                     "annotations": {"cdi.kubevirt.io/storage.contentType": "archive",
                                     "cdi.kubevirt.io/storage.upload.target": ""}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10G"}}},
        "status": {}}
    assert up.token_request_body("disk") == {
        "kind": "UploadTokenRequest", "apiVersion": "upload.cdi.kubevirt.io/v1beta1",
        "metadata": {"generateName": "token-for-virtctl-"}, "spec": {"pvcName": "disk"}, "status": {}}
    assert up.datasource_patch(o, "ns", {"b": "1"}) == [
        {"op": "replace", "path": "/metadata/labels", "value": {"b": "1"}},
        {"op": "replace", "path": "/spec/source/pvc", "value": {"name": "disk", "namespace": "ns"}}]


# --------------------------------------------------------------------------- the bar


def test_bar_texts():
    assert [format_bytes(n) for n in (0, 1023, 1024, 10 << 20, 3 << 30)] == [
        "0 B", "1023 B", "1.00 KiB", "10.00 MiB", "3.00 GiB"]
    assert [go_seconds(n) for n in (0, 45, 65, 7203)] == ["0s", "45s", "1m5s", "2h0m3s"]
    assert [elapsed_text(x) for x in (0, 0.4, 1.23, 2.0, 12.4)] == ["0s", "400ms", "1.2s", "2.0s", "12s"]


def test_bar_render():
    # 80 columns: 20 for the counters, the rest after the bar; the bar's inside is what is left (pb's Full)
    assert render(1 << 20, 4 << 20, 80, 0, False, 0.2) == (
        "1.00 MiB / 4.00 MiB [---------->________________________________] 25.00% ? p/s ?")
    assert render(1 << 20, 4 << 20, 80, 1 << 20, False, 1) == (
        "1.00 MiB / 4.00 MiB [------->_______________________] 25.00% 1.00 MiB p/s ETA 3s")
    assert render(4 << 20, 4 << 20, 80, 2 << 20, True, 2) == (
        "4.00 MiB / 4.00 MiB [--------------------------------] 100.00% 2.00 MiB p/s 2.0s")
    assert render(1, 4 << 20, 80, 0, False, 0).count(">") == 1  # any progress shows the arrow
    assert all(len(render(n, 4 << 20, 80, 0, False, 0)) == 80 for n in (0, 1, 4 << 20))
    assert render(1, 2, 10, 0, False, 0) == "1 B / 2 B "  # no room for the bar: cut at the width


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_transfer_bar_on_a_terminal_and_piped():
    clock = _Clock()
    out = io.StringIO()
    bar = TransferBar(out, terminal=True, width=60, clock=clock)
    bar.start(100)
    for sent in (10, 50, 100):
        clock.t += 0.6
        bar.update(sent)
    bar.finish()
    draws = out.getvalue().split("\r")[1:]
    assert len(draws) == 4 and all(len(d.rstrip("\n")) == 60 for d in draws)
    assert draws[-1].endswith("\n") and "100.00%" in draws[-1]
    out = io.StringIO()
    bar = TransferBar(out, terminal=False, width=60, clock=clock)
    bar.start(100)
    bar.update(50)
    assert out.getvalue() == ""
    bar.update(100)
    bar.finish()
    assert out.getvalue().startswith("100 B / 100 B [") and "\n" not in out.getvalue()
    out = io.StringIO()
    bar = TransferBar(out, terminal=True, width=60, clock=clock)
    bar.start(100)
    clock.t += 1
    bar.update(5)
    bar.abort()
    assert out.getvalue().endswith("\n")
