"""The simulator's volume bytes (uploads write them, exports serve them) and their admin API."""

from __future__ import annotations

import hashlib

import pytest

from pyvirtctl.sim.volumes import VolumeStore, seed_bytes


def test_store_writes_streams_and_digests(tmp_path):
    store = VolumeStore(str(tmp_path / "v"))
    assert store.info("default", "disk") is None
    with store.writer("default", "disk") as out:
        out.write(b"a" * 1000)
        out.write(b"b" * 24)
    data = b"a" * 1000 + b"b" * 24
    assert store.info("default", "disk") == {"namespace": "default", "name": "disk", "size": 1024,
                                             "sha256": hashlib.sha256(data).hexdigest()}
    with open(store.path("default", "disk"), "rb") as fh:
        assert fh.read() == data
    seeded = store.seed("ns2", "other", 100_000)
    assert seeded["sha256"] == hashlib.sha256(seed_bytes("ns2", "other", 100_000)).hexdigest()
    assert seed_bytes("ns2", "other", 10) != seed_bytes("ns2", "another", 10)
    store.delete("default", "disk")
    assert store.info("default", "disk") is None
    store.clear()
    assert store.info("ns2", "other") is None


@pytest.mark.parametrize("ns,claim", [("..", "x"), ("default", "../x"), ("default", "a/b"), ("Default", "x")])
def test_store_refuses_names_that_leave_its_folder(tmp_path, ns, claim):
    store = VolumeStore(str(tmp_path / "v"))
    with pytest.raises(ValueError):
        store.writer(ns, claim)


def test_temporary_root_is_removed_on_close():
    store = VolumeStore()
    store.seed("default", "x", 10)
    import os

    root = store.root
    assert os.path.isdir(root)
    store.close()
    assert not os.path.exists(root)


def test_admin_api_seeds_and_reports(sim):
    assert sim.seed_volume("default", "disk1", 4096)["size"] == 4096
    assert sim.volume("default", "disk1") == {
        "namespace": "default", "name": "disk1", "size": 4096,
        "sha256": hashlib.sha256(seed_bytes("default", "disk1", 4096)).hexdigest()}
    assert sim.volume("default", "nothing") is None
    assert sim.request("GET", "/_sim/volumes/default/..%2Fx")[0] == 400
    sim.reset()
    assert sim.volume("default", "disk1") is None


def test_upload_sink_writes_the_claim_in_32_kib_pieces():
    """Larger writes make ext4 take large page-cache folios, which a VM with free page reporting faults in from
    the host: seconds of noise per GiB in the upload benchmark, whichever client was uploading."""
    import io

    from pyvirtctl.sim.diskimage import ImageSink

    sizes: list[int] = []

    class Recorder(io.BytesIO):
        def write(self, b) -> int:  # type: ignore[override]
            sizes.append(len(b))
            return super().write(b)

    out = Recorder()
    sink = ImageSink(out, available=None)
    data = bytes(range(256)) * 1024  # 256 KiB of a raw image
    sink.write(data[:512])  # the header that tells the format
    sink.write(data[512:])
    sink.close()
    assert out.getvalue() == data
    assert sizes == [512] + [32768] * 7 + [32768 - 512]
