"""Real guests: each running VMI as a QEMU virtual machine (``pyvirtctl-sim --guests qemu``).

Modules, lowest layer first:
  cpio, shadow, debs   an initramfs writer, SHA-512 crypt, Debian packages (apt-get download, ar/tar)
  image                the cached kernel + base initramfs, and the per-guest overlay
  netstack             the simulator's end of the guest's Ethernet: ARP, ping, TCP and UDP to the guest
  qmp, rfbclient       QEMU's monitor protocol; an RFB client for screenshots
  machine              one QEMU process: launch, serial fan-out, power-down, migration
  runtime              VMIs -> machines: the hooks the controllers and the stream endpoints call

Nothing here is imported unless a VMI runs as a QEMU guest, so the simulator starts as fast as
before with the built-in guest.
"""
