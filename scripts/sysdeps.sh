#!/bin/sh
# Install the Debian packages the test suite uses for real terminals, ssh/scp, VNC, USB redirection, shell completion and
# kubectl (tests/e2e/test_kubectl.py drives the real kubectl against the simulator).
# Does nothing when everything is already there; needs root (CI runs as root) otherwise.
set -e
need=""
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
[ -z "$need" ] && exit 0
echo "installing system packages:$need"
if [ "$(id -u)" != 0 ]; then
  echo "sysdeps: not root; install these yourself:$need" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $need >/dev/null
