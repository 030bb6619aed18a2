"""ssh [user@]type/name[/namespace] (virtctl.md §2.21, streaming.md §4.2): run the local OpenSSH client.

The argv is virtctl's: `ssh -o ProxyCommand=<self> port-forward --stdio=true <kind>/<name>/<ns> <port>
[<-t opts>...] [-i <identity>] [user@]<kind>.<name>.<ns> [<command>]`. Two differences, both fixes:

* the ProxyCommand re-invokes this very program with the connection flags the user typed
  (`--kubeconfig`, `--context`, `--server`...), so it reaches the same cluster; credentials given as flags
  (`--token`, `--username`/`--password` of the root) go through the environment, never the command line;
* `--known-hosts FILE`, when typed, becomes `-o UserKnownHostsFile=FILE` (virtctl ignores it). Left
  alone it adds nothing, so the default command line stays virtctl's.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.commands.portforward import Target, parse_target
from pyvirtctl.errors import CLIError
from pyvirtctl.goflags import exact_args, given, go_command
from pyvirtctl.kube.flags import credential_env, specs
from pyvirtctl.progname import self_command


def default_username() -> str:
    for var in ("USER", "USERNAME", "LOGNAME"):
        value = os.environ.get(var, "")
        if value:
            return value
    return ""


def _home() -> str:
    return os.path.expanduser("~") if os.environ.get("HOME") or os.name != "nt" else ""


DEFAULT_USERNAME = default_username()
DEFAULT_IDENTITY = os.path.join(_home(), ".ssh", "id_rsa")
DEFAULT_KNOWN_HOSTS = os.path.join(_home(), ".ssh", "kubevirt_known_hosts") if _home() else ""

USERNAME_HELP = (
    f"--username={DEFAULT_USERNAME}: Set this to the user you want to open the SSH connection as;"
    "If unassigned, this will be empty and the SSH default will apply"
)
IDENTITY_HELP = (
    "--identity-file=/home/jdoe/.ssh/id_rsa: Set the path to a private key used for authenticating to the "
    "server;If not provided, the client will try to use the local ssh-agent at $SSH_AUTH_SOCK"
)
KNOWN_HOSTS_HELP = "--known-hosts=/home/jdoe/.ssh/kubevirt_known_hosts: Set the path to the known_hosts file."
PORT_HELP = "--port=22: Specify a port on the VM to send SSH traffic to"
OPTS_HELP = '--local-ssh-opts="-o StrictHostKeyChecking=no" : Additional options to be passed to the local ssh client'
COMMAND_HELP = "--command='ls /': Specify a command to execute in the VM"

SSH_EXAMPLE = (
    "  # Connect to 'testvmi':\n"
    "  {{ProgramName}} ssh jdoe@vmi/testvmi [--identity-file]\n"
    "\n"
    "  # Connect to 'testvm' in 'mynamespace' namespace\n"
    "  {{ProgramName}} ssh jdoe@vm/testvm/mynamespace [--identity-file]\n"
    "\n"
    "  # Specify a username and namespace:\n"
    "  {{ProgramName}} ssh --namespace=mynamespace --username=jdoe vmi/testvmi"
)

# ---------------------------------------------------------------------------------------------
# Pure parts


@dataclass(frozen=True)
class SSHTarget:
    target: Target
    username: str  # "" when the argument has no user@


def parse_ssh_target(arg: str) -> SSHTarget:
    """`[user@]type/name[/namespace]` with virtctl's messages (split on every '@', parts 0 and 1 used)."""
    username = ""
    parts = arg.split("@")
    if len(parts) > 1:
        username = parts[0]
        if username == "":
            raise CLIError("expected username before '@'")
        arg = parts[1]
    if arg == "":
        raise CLIError("expected target after '@'")
    return SSHTarget(parse_target(arg), username)


@dataclass
class SSHOptions:
    port: int = 22
    username: str = ""
    identity_file: str = ""
    identity_given: bool = False
    known_hosts: str = ""
    known_hosts_given: bool = False
    local_opts: list[str] = field(default_factory=list)


def passthrough_args(params: dict[str, Any], typed: set[str]) -> list[str]:
    """The connection flags the user typed (kube/flags.py marks which), spelled `--flag=value` for the
    child command line; credentials never (they go through `secret_env`)."""
    out: list[str] = []
    for spec in specs():
        if not spec.passthrough or spec.name not in typed:
            continue
        value = params.get(spec.name)
        if spec.type is bool:
            out.append(f"{spec.long}={'true' if value else 'false'}")
        elif isinstance(value, list):
            out.extend(f"{spec.long}={v}" for v in value)
        elif spec.path and value:
            out.append(f"{spec.long}={os.path.abspath(os.path.expanduser(str(value)))}")
        else:
            out.append(f"{spec.long}={value}")
    return out


def secret_env(params: dict[str, Any], typed: set[str]) -> dict[str, str]:
    """Credential flags for the ProxyCommand child, as environment variables."""
    return {credential_env(spec.name): str(params[spec.name]) for spec in specs()
            if spec.credential and spec.name in typed and params.get(spec.name)}


def proxy_command_option(
    kind: str, namespace: str, name: str, port: int, program: str, global_args: list[str] | None = None
) -> str:
    words = [program, *[shlex.quote(a) for a in (global_args or [])], "port-forward", "--stdio=true"]
    words += [shlex.quote(f"{kind}/{name}/{namespace}"), str(port)]
    # ssh expands %-tokens in ProxyCommand; a literal % (in a path, say) must be doubled
    return "ProxyCommand=" + " ".join(words).replace("%", "%%")


def ssh_host(kind: str, namespace: str, name: str, username: str) -> str:
    host = f"{kind}.{name}.{namespace}"
    return f"{username}@{host}" if username else host


def local_client_args(
    command: str, kind: str, namespace: str, name: str, o: SSHOptions, client_args: list[str],
    program: str | None = None, global_args: list[str] | None = None,
) -> list[str]:
    """The full argv of the ssh/scp run (virtctl's LocalClientCmd plus our --known-hosts)."""
    program = self_command() if program is None else program
    argv = [command, "-o", proxy_command_option(kind, namespace, name, o.port, program, global_args)]
    if o.known_hosts_given:
        argv += ["-o", f"UserKnownHostsFile={o.known_hosts}"]
    argv += list(o.local_opts)
    if o.identity_given:
        argv += ["-i", o.identity_file]
    return argv + client_args


def ssh_client_args(kind: str, namespace: str, name: str, username: str, command: str) -> list[str]:
    out = [ssh_host(kind, namespace, name, username)]
    if command:
        out.append(command)
    return out


# ---------------------------------------------------------------------------------------------
# Running


def go_exit_error(returncode: int) -> str:
    """Go's exec.ExitError text for a finished child."""
    import signal

    if returncode >= 0:
        return f"exit status {returncode}"
    sig = -returncode
    names: dict[int, str] = {
        signal.SIGINT: "interrupt",
        signal.SIGTERM: "terminated",
        signal.SIGKILL: "killed",
        signal.SIGHUP: "hangup",
        signal.SIGPIPE: "broken pipe",
        signal.SIGQUIT: "quit",
        signal.SIGSEGV: "segmentation fault",
        signal.SIGABRT: "aborted",
    }
    return f"signal: {names.get(sig, f'signal {sig}')}"


def run_local_client(argv: list[str], extra_env: dict[str, str]) -> None:
    """Run ssh/scp with our stdin/stdout/stderr; a failure becomes virtctl's error text (exit 1)."""
    import shutil
    import signal
    import subprocess

    if shutil.which(argv[0]) is None:
        raise CLIError(f'exec: "{argv[0]}": executable file not found in $PATH')
    env = dict(os.environ)
    env.update(extra_env)
    # The terminal's Ctrl+C goes to ssh as well; let ssh decide what it means.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        try:
            proc = subprocess.Popen(argv, env=env)
        except OSError as e:
            raise CLIError(f'fork/exec {argv[0]}: {e.strerror}') from None
        try:
            rc = proc.wait()
        except BaseException:  # SIGTERM/SIGHUP to us: do not leave the ssh/scp child behind
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
            raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if rc != 0:
        raise CLIError(go_exit_error(rc))


def _root_context(ctx: typer.Context) -> tuple[dict[str, Any], set[str]]:
    root = ctx.find_root()
    typed = {p for p in root.params if given(ctx, p)}
    return dict(root.params), typed


def options_from_flags(
    ctx: typer.Context, port: int, username: str, identity_file: str, known_hosts: str, local_opts: list[str]
) -> SSHOptions:
    return SSHOptions(
        port=port,
        username=username,
        identity_file=identity_file,
        identity_given=given(ctx, "identity_file"),
        known_hosts=known_hosts,
        known_hosts_given=given(ctx, "known_hosts"),
        local_opts=list(local_opts or []),
    )


def client_namespace(ctx: typer.Context) -> str:
    """virtctl builds the client only for the namespace; no API call is made."""
    from pyvirtctl.runtime import session

    return session(ctx).namespace


def launch(ctx: typer.Context, command: str, kind: str, namespace: str, name: str, o: SSHOptions,
           client_args: list[str]) -> None:
    params, typed = _root_context(ctx)
    argv = local_client_args(
        command, kind, namespace, name, o, client_args, global_args=passthrough_args(params, typed)
    )
    run_local_client(argv, secret_env(params, typed))


@go_command(
    "ssh",
    use="ssh (VM|VMI)",
    short="Open a SSH connection to a virtual machine instance.",
    example=SSH_EXAMPLE,
    args=exact_args(1),
)
def ssh_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=comp.complete_target)],
    username: Annotated[str, typer.Option("--username", "-l", help=USERNAME_HELP)] = DEFAULT_USERNAME,
    identity_file: Annotated[str, typer.Option("--identity-file", "-i", help=IDENTITY_HELP)] = DEFAULT_IDENTITY,
    known_hosts: Annotated[str, typer.Option("--known-hosts", help=KNOWN_HOSTS_HELP)] = DEFAULT_KNOWN_HOSTS,
    port: Annotated[int, typer.Option("--port", "-p", help=PORT_HELP)] = 22,
    local_ssh_opts: Annotated[list[str], typer.Option("--local-ssh-opts", "-t", help=OPTS_HELP)] = [],  # noqa: B006
    command: Annotated[str, typer.Option("--command", "-c", help=COMMAND_HELP)] = "",
) -> None:
    fallback = client_namespace(ctx)
    o = options_from_flags(ctx, port, username, identity_file, known_hosts, local_ssh_opts)
    t = parse_ssh_target(args[0])
    namespace = t.target.namespace or fallback
    if t.username:
        o.username = t.username
    client_args = ssh_client_args(t.target.kind, namespace, t.target.name, o.username, command)
    launch(ctx, "ssh", t.target.kind, namespace, t.target.name, o, client_args)
