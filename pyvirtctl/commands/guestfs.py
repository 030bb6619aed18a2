"""guestfs PVC: a libguestfs-tools pod on the PVC with an interactive shell (pyvirtctl.kubevirt.guestfs).

Prints virtctl's lines on stdout (`Use image: ...`, `The PVC has been mounted at ...`, containers still
waiting), attaches the shell through pods/attach with the terminal in raw mode (Ctrl+] ends the
session, like `console`), and deletes the pod however the command ends. Differences from virtctl (for
the README):
- every flag is checked before anything is sent (virtctl checks --uid/--gid/--fsGroup after its reads);
- the terminal size is sent at the start and on every resize (virtctl sends none);
- the pod is read every second while it starts (virtctl: every 5 s);
- a PVC that cannot be read for another reason than NotFound reports that reason (virtctl says it
  does not exist), and the pod is deleted only when it was created;
- the hint `If you don't see a command prompt, try pressing enter.` is printed once the shell is
  attached, so an attach error stands on its own line;
- Ctrl+C while the pod starts deletes it and exits 0 without trying to attach; SIGTERM/SIGHUP delete
  the pod and restore the terminal before the process dies of the signal;
- at stdin EOF the session goes on until the shell has been quiet for a second (as `console`);
- the attach is offered v5.channel.k8s.io and v4.channel.k8s.io over the websocket; there is no SPDY
  fallback.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.kubevirt import guestfs as gfs
from pyvirtctl.runtime import session

LONG = (
    "Create a pod with libguestfs-tools, mount the pvc and attach a shell to it. The pvc is mounted under the "
    "/disks directory inside the pod for filesystem-based pvcs, or as /dev/vda for block-based pvcs"
)
EXAMPLE = (
    "  # Create a pod with libguestfs-tools, mount the pvc and attach a shell to it:\n"
    "  {{ProgramName}} guestfs <pvc-name>"
)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def attach_shell(s: Any, namespace: str, name: str) -> int:
    """The interactive part: raw terminal, the hint, the pump, window sizes; the terminal is restored."""
    from pyvirtctl.streams.console import pump
    from pyvirtctl.streams.terminal import is_tty, raw_terminal, window_changes

    stream = gfs.attach(s, namespace, name)
    with raw_terminal(0, is_tty(0), on_fail=stream.close):
        sys.stderr.write(gfs.PROMPT_HINT)
        sys.stderr.flush()
        with window_changes(1 if is_tty(1) else 0, stream.resize):
            try:
                result = pump(stream, 0, 1)
            except KeyboardInterrupt:  # an external SIGINT ends the session (virtctl: exit 0)
                return 0
    if result.error is not None:
        raise result.error
    return 0


def run_guestfs(o: gfs.GuestfsOptions, s: Any) -> int:
    from pyvirtctl.streams.terminal import Terminated, exit_signals

    flow = gfs.GuestfsShell(s, s.namespace, o, say=_say, attach=False)
    try:
        with exit_signals():
            try:
                flow.start()  # virtctl's lines, the pod created and running (deleted again if it fails)
            except KeyboardInterrupt:
                if not flow.posted:
                    raise
                return 0  # virtctl: Ctrl+C while the pod starts removes it
            return attach_shell(s, s.namespace, flow.pod_name)
    except Terminated as t:
        flow.stop()
        t.redeliver()
        time.sleep(1)  # the default action ends the process; never reached in practice
        return 1
    finally:
        flow.stop()


@go_command(
    "guestfs",
    use="guestfs",
    short="Start a shell into the libguestfs pod",
    long=LONG,
    example=EXAMPLE,
    args=exact_args(1),
)
def guestfs_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=comp.complete_pvc_names)],
    fs_group: Annotated[str, typer.Option("--fsGroup", help="Set the fsgroup for the libguestfs-tool container")] = "",
    gid: Annotated[str, typer.Option(
        "--gid", help="Set gid for the libguestfs-tool container. This works only combined when the uid is manually "
        "set")] = "",
    image: Annotated[str, typer.Option("--image", help="libguestfs-tools container image")] = "",
    kvm: Annotated[bool, typer.Option("--kvm", help="Use kvm for the libguestfs-tools container")] = True,
    pull_policy: Annotated[str, typer.Option(
        "--pull-policy", autocompletion=comp.complete_pull_policies,
        help="pull policy for the libguestfs image")] = gfs.DEFAULT_PULL_POLICY,
    root: Annotated[bool, typer.Option("--root", help="Set uid 0 for the libguestfs-tool container")] = False,
    uid: Annotated[str, typer.Option(
        "--uid", help="Set uid for the libguestfs-tool container. It doesn't work with root")] = "",
    vm: Annotated[str, typer.Option(
        "--vm", autocompletion=comp.complete_vm_name_values,
        help="Provide a VM to apply its scheduling constraints to the libguestfs-tool pod")] = "",
) -> None:
    o = gfs.GuestfsOptions(args[0], image, kvm, pull_policy, root, uid, gid, fs_group, vm)
    gfs.validate_guestfs(o)  # every flag before anything is sent
    code = run_guestfs(o, session(ctx))
    if code:
        raise typer.Exit(code)
