#!/bin/sh
# Install the Debian packages the test suite uses for real terminals, ssh/scp, VNC, USB redirection
# (usbredirect), shell completion, kubectl (tests/e2e/test_kubectl.py drives the real kubectl against
# the simulator) and real guests (QEMU and a static BusyBox: pyvirtctl-sim --guests qemu,
# tests/e2e/test_real_guest.py).
# Does nothing when everything is already there; needs root (CI runs as root) otherwise.
# The guest's kernel, sshd and libraries are not installed: the simulator fetches them with
# `apt-get download` into the user's cache, which needs the package lists (refreshed here when
# they do not know the cloud kernel).
set -e
need=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
[ -f /usr/share/doc/busybox-static/copyright ] || need="$need busybox-static"
command -v tmux >/dev/null 2>&1 || need="$need tmux"
[ -x /usr/sbin/sshd ] || need="$need openssh-server"
command -v ssh >/dev/null 2>&1 || need="$need openssh-client"
command -v scp >/dev/null 2>&1 || need="$need openssh-client"
command -v xtigervncviewer >/dev/null 2>&1 || command -v vncviewer >/dev/null 2>&1 || need="$need tigervnc-viewer"
command -v Xvfb >/dev/null 2>&1 || need="$need xvfb"
command -v xwd >/dev/null 2>&1 || need="$need x11-apps"
command -v kubectl >/dev/null 2>&1 || need="$need kubectl"
[ -f /usr/share/bash-completion/bash_completion ] || need="$need bash-completion"
command -v zsh >/dev/null 2>&1 || need="$need zsh"
command -v fish >/dev/null 2>&1 || need="$need fish"
command -v usbredirect >/dev/null 2>&1 || need="$need usbredirect"
lists_ok=1
apt-cache show --no-all-versions linux-image-cloud-amd64 >/dev/null 2>&1 || lists_ok=0
# lists older than a week may name package versions the mirror no longer has
[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mtime -7 2>/dev/null | head -n 1)" ] || lists_ok=0
[ -z "$need" ] && [ "$lists_ok" = 1 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  if [ -n "$need" ]; then
    echo "sysdeps: not root; install these yourself (apt-get install --no-install-recommends):$need" >&2
    exit 1
  fi
  echo "sysdeps: the package lists are old or lack the cloud kernel; run apt-get update (real guests fetch packages with apt-get download)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
[ -z "$need" ] && exit 0
echo "installing system packages:$need"
apt-get install -y -q --no-install-recommends $need >/dev/null
