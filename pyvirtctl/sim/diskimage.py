"""What CDI's upload server does with the bytes of an upload, as far as the simulator can tell.

`ImageSink` takes an upload as it arrives, chunk by chunk (nothing is held in memory), and:

* recognises the format from the first bytes, with CDI's magic numbers (pkg/image/filefmt.go): gzip, xz,
  zstd, qcow2, vmdk, vdi, vhd, vhdx; anything else is a raw image;
* decompresses gzip and xz on the fly (CDI does, then looks at what is inside), so the claim ends up
  holding the image itself; zstd, qcow2 and the other container formats are stored as received (the
  simulator has no qemu-img to convert them);
* knows the virtual size of a qcow2 image (its header, offset 24) or of a raw one (its length) and
  refuses one larger than the space of the claim with CDI's words: `virtual image size N is larger than
  the reported available storage M. A larger PVC is required`;
* for an archive upload (content type `archive`), checks that the bytes are a tar stream.

`close()` raises `ImageError` (with `no_capacity` for the size check, which CDI answers with 400 and
every other failure with 500) or returns the summary.
"""

from __future__ import annotations

import lzma
import zlib
from typing import IO, Any

_MAGIC = (  # (format, offset, magic)
    ("gz", 0, b"\x1f\x8b"),
    ("zst", 0, b"\x28\xb5\x2f\xfd"),
    ("qcow2", 0, b"QFI\xfb"),
    ("xz", 0, b"\xfd7zXZ\x00"),
    ("vmdk", 0, b"KDMV"),
    ("vdi", 0x40, b"\x7f\x10\xda\xbe"),
    ("vhd", 0, b"conectix"),
    ("vhdx", 0, b"vhdxfile"),
)
HEADER_BYTES = 512  # CDI reads this much to tell the format (the size of a tar header)
TAR_MAGIC = b"ustar"
WRITE_SLICE = 32 * 1024  # bytes per write into the claim's file: larger writes make ext4 take large page-cache
# folios, which on a VM with free page reporting come back from the host on first touch (seconds per GiB, in
# one upload out of two), noise that hit whichever client's upload was running


class ImageError(Exception):
    def __init__(self, message: str, no_capacity: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.no_capacity = no_capacity


def sniff(header: bytes) -> str:
    """The format CDI would see in the first bytes of a stream ("raw" when none matches)."""
    for name, offset, magic in _MAGIC:
        if header[offset : offset + len(magic)] == magic:
            return name
    return "raw"


def qcow2_virtual_size(header: bytes) -> int | None:
    if len(header) < 32 or header[:4] != b"QFI\xfb":
        return None
    return int.from_bytes(header[24:32], "big")


class _Inner:
    """The decompressed (or plain) stream: its first bytes, its length, where it goes."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.head = bytearray()
        self.length = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        if len(self.head) < HEADER_BYTES:
            self.head += data[: HEADER_BYTES - len(self.head)]
        self.length += len(data)
        if len(data) <= WRITE_SLICE:
            self.out.write(data)
            return
        view = memoryview(data)
        for i in range(0, len(view), WRITE_SLICE):
            self.out.write(view[i : i + WRITE_SLICE])


class ImageSink:
    """One upload's bytes on their way into a claim's file (see the module docstring)."""

    def __init__(self, out: IO[bytes], available: int | None, archive: bool = False) -> None:
        self.available = available
        self.archive = archive
        self.received = 0
        self.format = ""  # of the bytes as sent
        self.inner_format = ""  # of the image inside (after gzip/xz)
        self._outer = bytearray()  # the first bytes as sent, until the format is known
        self._inner = _Inner(out)
        self._decoder: Any = None
        self._mid = False  # inside a compressed member that has not ended yet

    def write(self, data: bytes) -> None:
        self.received += len(data)
        if not self.format:
            self._outer += data
            if len(self._outer) < HEADER_BYTES:
                return
            self._start(bytes(self._outer))
            self._outer = bytearray()
            return
        self._feed(data)

    def _start(self, first: bytes) -> None:
        self.format = "archive" if self.archive else sniff(first)
        if self.format == "gz":
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.format == "xz":
            self._decoder = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        self._feed(first)

    def _feed(self, data: bytes) -> None:
        d = self._decoder
        if d is None:
            self._inner.write(data)
            return
        try:
            if isinstance(d, lzma.LZMADecompressor):
                if d.eof:
                    return
                self._inner.write(d.decompress(data))
                return
            while data:  # gzip: any number of members, like Go's gzip.Reader
                self._mid = True
                self._inner.write(d.decompress(data))
                if d.eof:
                    self._mid = False
                    data = d.unused_data
                    d = self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
                else:
                    data = b""
        except (zlib.error, lzma.LZMAError) as e:
            raise ImageError(f"Unable to transfer source data to target file: {self._reader_error(e)}") from None

    def _reader_error(self, e: Exception) -> str:
        if self.format == "gz":
            return "gzip: invalid header" if "header" in str(e) else "flate: corrupt input"
        return "xz: data is corrupt"

    def close(self) -> dict[str, Any]:
        """Finish the stream; the summary, or ImageError with CDI's message."""
        if not self.format:
            self._start(bytes(self._outer))
            self._outer = bytearray()
        d = self._decoder
        if isinstance(d, lzma.LZMADecompressor) and not d.eof:
            raise ImageError("Unable to transfer source data to target file: unexpected EOF")
        if self._mid:  # a gzip member was cut short
            raise ImageError("Unable to transfer source data to target file: unexpected EOF")
        head = bytes(self._inner.head)
        if self.archive:
            if self.received and head[257 : 257 + len(TAR_MAGIC)] != TAR_MAGIC and any(head):
                raise ImageError("Unable to transfer source data to target file: archive/tar: invalid tar header")
            self.inner_format = "tar"
            return self.summary(None)
        self.inner_format = sniff(head) if self._decoder is not None else self.format
        virtual: int | None
        if self.inner_format == "qcow2":
            virtual = qcow2_virtual_size(head)
        elif self.inner_format == "raw":
            virtual = self._inner.length
        else:
            virtual = None  # vmdk, vdi, vhd, vhdx, zstd: the simulator cannot read their sizes
        if virtual is not None and self.available is not None and virtual > self.available:
            raise ImageError(f"virtual image size {virtual} is larger than the reported available storage "
                             f"{self.available}. A larger PVC is required", no_capacity=True)
        return self.summary(virtual)

    def summary(self, virtual: int | None) -> dict[str, Any]:
        return {"received": self.received, "stored": self._inner.length, "format": self.format,
                "image_format": self.inner_format, "virtual_size": virtual}
