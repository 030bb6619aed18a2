"""credentials add-ssh-key | remove-ssh-key | set-password VM: the flows are in
`pyvirtctl.kubevirt.credentials`; this module turns flags into their options and prints virtctl's
line (stdout, no final newline, as cobra's `cmd.Printf` writes it).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from pyvirtctl import completion as comp
from pyvirtctl.goflags import exact_args, go_command
from pyvirtctl.runtime import session

CREDENTIALS_SUBCOMMANDS = [
    ("add-ssh-key", "Add credentials to a virtual machine."),
    ("remove-ssh-key", "Remove credentials from a virtual machine."),
    ("set-password", "Set password for a user"),
]

CLIENT_ERROR = "error getting kubevirt client or namespace: "

ADD_EXAMPLE = """  # Add an SSH key for a running virtual machine.
  {{ProgramName}} credentials add-ssh-key --user <username> --file <path-to-ssh-public-key> <vm-name>

  # Add an SSH key for a running virtual machine. Key is provided as literal parameter.
  {{ProgramName}} credentials add-ssh-key --user <username> --value <literal-ssh-public-key> <vm-name>

  # Add an SSH key to a secret that is not owned by the virtual machine.
  {{ProgramName}} credentials add-ssh-key --user <username> --file <path-to-ssh-public-key> --force <vm-name>

  # Create a new secret with the SSH key, and assign it to the specified virtual machine.
  {{ProgramName}} credentials add-ssh-key --create-secret --user <username> --file <path-to-ssh-public-key> <vm-name>

  # Create a new secret with the SSH key, and assign it to a running VM. It will take effect after restart.
  {{ProgramName}} credentials add-ssh-key --create-secret --user <username> --file <path-to-ssh-public-key> --force <vm-name>
"""

REMOVE_EXAMPLE = """  # Remove an SSH key for a running virtual machine.
  {{ProgramName}} credentials remove-ssh-key --user <username> --file <path-to-ssh-public-key> <vm-name>

  # Remove an SSH key for a running virtual machine. Key is provided as literal parameter.
  {{ProgramName}} credentials remove-ssh-key --user <username> --value <literal-ssh-public-key> <vm-name>

  # Remove an SSH key from a secret that is not owned by the virtual machine.
  {{ProgramName}} credentials remove-ssh-key --user <username> --file <path-to-ssh-public-key> --force <vm-name>
"""

PASSWORD_EXAMPLE = """  # Set a user password for a virtual machine.
  {{ProgramName}} credentials set-password --user <username> --password <password> <vm-name>

  # Set a user password in a secret that is not owned by the virtual machine.
  {{ProgramName}} credentials set-password --user <username> --password <password> --force <vm-name>
"""

FORCE_HELP = "Force update of secret, even if it's not owned by the VM."

VmArg = Annotated[list[str], typer.Argument(autocompletion=comp.complete_vm_names)]
NO_ARGS: list[str] = []
UserOpt = Annotated[str, typer.Option("--user", "-u", help="Name of the user.")]
SecretOpt = Annotated[str, typer.Option("--secret", help="Name of the secret with SSH keys.")]
FileOpt = Annotated[
    str, typer.Option("--file", "-f", help="Path to the SSH public key file.", autocompletion=comp.complete_files)
]
ValueOpt = Annotated[str, typer.Option("--value", help="Literal value of the SSH public key.")]
ForceOpt = Annotated[bool, typer.Option("--force", help=FORCE_HELP)]


def _print(text: str) -> None:
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()


@go_command("credentials", use="credentials", short="Manipulate credentials on a virtual machine.",
            subcommands=CREDENTIALS_SUBCOMMANDS)
def credentials_cmd(ctx: typer.Context, args: Annotated[list[str], typer.Argument()] = []) -> None:  # noqa: B006
    from pyvirtctl.commands.create import _usage

    # like virtctl: the bare group (or an unknown word after it) prints the usage and succeeds
    sys.stdout.write(_usage(ctx))


@go_command(
    "credentials add-ssh-key",
    use="add-ssh-key",
    short="Add credentials to a virtual machine.",
    example=ADD_EXAMPLE,
    args=exact_args(1),
    exclusive=[["file", "value"], ["create-secret", "update-secret"]],
)
def add_ssh_key_cmd(
    ctx: typer.Context,
    args: VmArg = NO_ARGS,
    user: UserOpt = ...,  # type: ignore[assignment]  # a required flag
    secret: SecretOpt = "",
    file: FileOpt = "",
    value: ValueOpt = "",
    create_secret: Annotated[bool, typer.Option(
        "--create-secret",
        help="Create a new secret for the SSH key. The new key will not be added to a running VM. "
             "Use --force to add a new secret even if the VM is running.")] = False,
    update_secret: Annotated[bool, typer.Option(
        "--update-secret",
        help="Add the SSH key to an existing secret. Use --force option, if the secret does not have owner "
             "reference pointing to the VM.")] = False,
    force: ForceOpt = False,
) -> None:
    from pyvirtctl.kubevirt import credentials as cr

    s = session(ctx, error_prefix=CLIENT_ERROR)
    key = cr.ssh_key(file, value)  # read and checked before any request
    o = cr.AddKeyOptions(user, key, secret, create_secret, update_secret, force)
    _print(cr.add_ssh_key(s, s.namespace, args[0], o))


@go_command(
    "credentials remove-ssh-key",
    use="remove-ssh-key",
    short="Remove credentials from a virtual machine.",
    example=REMOVE_EXAMPLE,
    args=exact_args(1),
    exclusive=[["file", "value"]],
)
def remove_ssh_key_cmd(
    ctx: typer.Context,
    args: VmArg = NO_ARGS,
    user: UserOpt = ...,  # type: ignore[assignment]  # a required flag
    secret: SecretOpt = "",
    file: FileOpt = "",
    value: ValueOpt = "",
    force: ForceOpt = False,
) -> None:
    from pyvirtctl.kubevirt import credentials as cr

    s = session(ctx, error_prefix=CLIENT_ERROR)
    key = cr.ssh_key(file, value)
    _print(cr.remove_ssh_key(s, s.namespace, args[0], cr.RemoveKeyOptions(user, key, secret, force)))


@go_command(
    "credentials set-password",
    use="set-password",
    short="Set password for a user",
    example=PASSWORD_EXAMPLE,
    args=exact_args(1),
)
def set_password_cmd(
    ctx: typer.Context,
    args: VmArg = NO_ARGS,
    user: UserOpt = ...,  # type: ignore[assignment]  # a required flag
    secret: SecretOpt = "",
    password: Annotated[str, typer.Option("--password", "-p", help="Password for the user")] = ...,  # type: ignore[assignment]
    force: ForceOpt = False,
) -> None:
    from pyvirtctl.kubevirt import credentials as cr

    s = session(ctx, error_prefix=CLIENT_ERROR)
    _print(cr.set_password(s, s.namespace, args[0], cr.PasswordOptions(user, password, secret, force)))
