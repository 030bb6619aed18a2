"""The root command: virtctl's global flags and the command registry.

Commands are registered by name -> "module:function" and loaded only when run, so
`pyvirtctl start vm` imports the parser, the `vm` command module and the HTTP session, nothing else.
The second field is the Short text shown in the command listing (None hides the command).
"""

from __future__ import annotations

from typing import Annotated

import typer

from pyvirtctl.goflags import GoGroup

# name -> ("module:function", Short). Keep sorted by name.
COMMANDS: dict[str, tuple[str, str | None]] = {
    "addvolume": ("pyvirtctl.commands.volume:addvolume_cmd", "add a volume to a running VM"),
    "completion": ("pyvirtctl.commands.completion:completion_cmd", "Generate the autocompletion script for the specified shell"),
    "console": ("pyvirtctl.commands.console:console_cmd", "Connect to a console of a virtual machine instance."),
    "create": ("pyvirtctl.commands.create:create_cmd", "Create a manifest for the specified Kind."),
    "create clone": ("pyvirtctl.commands.create:clone_cmd", "Create a clone object manifest"),
    "create instancetype": (
        "pyvirtctl.commands.create:instancetype_cmd",
        "Create VirtualMachineInstancetype or VirtualMachineClusterInstancetype manifest.",
    ),
    "create preference": (
        "pyvirtctl.commands.create:preference_cmd",
        "Create a VirtualMachinePreference or VirtualMachineClusterPreference manifest.",
    ),
    "create vm": ("pyvirtctl.commands.create:vm_cmd", "Create a VirtualMachine manifest."),
    "evacuate-cancel": ("pyvirtctl.commands.evacuate:evacuate_cancel_cmd", "Cancel evacuation for a VM, VMI, or all VMIs on a node"),
    "expand": ("pyvirtctl.commands.expand:expand_cmd", "Return the VirtualMachine object with expanded instancetype and preference."),
    "expose": ("pyvirtctl.commands.expose:expose_cmd", "Expose a virtual machine instance, virtual machine, or virtual machine instance replica set as a new service."),
    "fslist": ("pyvirtctl.commands.guestagent:fslist_cmd", "Return full list of filesystems available on the guest machine."),
    "guestosinfo": ("pyvirtctl.commands.guestagent:guestosinfo_cmd", "Return guest agent info about operating system."),
    "help": ("pyvirtctl.commands.meta:help_cmd", "Help about any command"),
    "list": ("pyvirtctl.commands.listing:list_cmd", "List virtual machines (or instances) as a table."),
    "ls": ("pyvirtctl.commands.listing:list_cmd", None),
    "memory-dump": ("pyvirtctl.commands.memorydump:memory_dump_cmd", "Dump the memory of a running VM to a pvc"),
    "migrate": ("pyvirtctl.commands.vm:migrate_cmd", "Migrate a virtual machine."),
    "migrate-cancel": ("pyvirtctl.commands.vm:migrate_cancel_cmd", "Cancel migration of a virtual machine."),
    "options": ("pyvirtctl.commands.meta:options_cmd", None),
    "pause": ("pyvirtctl.commands.pause:pause_cmd", "Pause a virtual machine"),
    "port-forward": ("pyvirtctl.commands.portforward:port_forward_cmd", "Forward local ports to a virtualmachine or virtualmachineinstance."),
    "removevolume": ("pyvirtctl.commands.volume:removevolume_cmd", "remove a volume from a running VM"),
    "reset": ("pyvirtctl.commands.vmi:reset_cmd", "Reset a virtual machine instance"),
    "restart": ("pyvirtctl.commands.vm:restart_cmd", "Restart a virtual machine."),
    "scp": ("pyvirtctl.commands.scp:scp_cmd", "SCP files from/to a virtual machine instance."),
    "soft-reboot": ("pyvirtctl.commands.vmi:soft_reboot_cmd", "Soft reboot a virtual machine instance"),
    "ssh": ("pyvirtctl.commands.ssh:ssh_cmd", "Open a SSH connection to a virtual machine instance."),
    "start": ("pyvirtctl.commands.vm:start_cmd", "Start a virtual machine."),
    "status": ("pyvirtctl.commands.listing:status_cmd", "Show one virtual machine in depth."),
    "stop": ("pyvirtctl.commands.vm:stop_cmd", "Stop a virtual machine."),
    "template": ("pyvirtctl.commands.template:template_cmd", "Work with VirtualMachineTemplates"),
    "template convert": (
        "pyvirtctl.commands.template:convert_cmd",
        "Convert an OpenShift Template into a VirtualMachineTemplate.",
    ),
    "unpause": ("pyvirtctl.commands.pause:unpause_cmd", "Unpause a virtual machine"),
    "userlist": ("pyvirtctl.commands.guestagent:userlist_cmd", "Return full list of logged in users on the guest machine."),
    "version": ("pyvirtctl.commands.version:version_cmd", "Print the client and server version information."),
    "vnc": ("pyvirtctl.commands.vnc:vnc_cmd", "Open a vnc connection to a virtual machine instance."),
    "vnc screenshot": ("pyvirtctl.commands.vnc:screenshot_cmd", "Create a VNC screenshot of a virtual machine instance."),
}


def root_callback(
    ctx: typer.Context,
    as_user: Annotated[str, typer.Option("--as", help="Username to impersonate for the operation")] = "",
    as_group: Annotated[
        list[str],
        typer.Option(
            "--as-group",
            help="Group to impersonate for the operation, this flag can be repeated to specify multiple groups.",
        ),
    ] = [],  # noqa: B006 - click copies defaults
    as_uid: Annotated[str, typer.Option("--as-uid", help="UID to impersonate for the operation")] = "",
    certificate_authority: Annotated[
        str, typer.Option("--certificate-authority", help="Path to a cert file for the certificate authority")
    ] = "",
    client_certificate: Annotated[
        str, typer.Option("--client-certificate", help="Path to a client certificate file for TLS")
    ] = "",
    client_key: Annotated[str, typer.Option("--client-key", help="Path to a client key file for TLS")] = "",
    cluster: Annotated[str, typer.Option("--cluster", help="The name of the kubeconfig cluster to use")] = "",
    context: Annotated[str, typer.Option("--context", help="The name of the kubeconfig context to use")] = "",
    disable_compression: Annotated[
        bool,
        typer.Option(
            "--disable-compression",
            help="If true, opt-out of response compression for all requests to the server",
        ),
    ] = False,
    insecure_skip_tls_verify: Annotated[
        bool,
        typer.Option(
            "--insecure-skip-tls-verify",
            help="If true, the server's certificate will not be checked for validity. "
            "This will make your HTTPS connections insecure",
        ),
    ] = False,
    kubeconfig: Annotated[
        str, typer.Option("--kubeconfig", help="Path to the kubeconfig file to use for CLI requests.")
    ] = "",
    namespace: Annotated[
        str,
        typer.Option("--namespace", "-n", help="If present, the namespace scope for this CLI request"),
    ] = "",
    password: Annotated[
        str, typer.Option("--password", help="Password for basic authentication to the API server")
    ] = "",
    proxy_url: Annotated[
        str, typer.Option("--proxy-url", help="If provided, this URL will be used to connect via proxy")
    ] = "",
    request_timeout: Annotated[
        str,
        typer.Option(
            "--request-timeout",
            help="The length of time to wait before giving up on a single server request. Non-zero values "
            "should contain a corresponding time unit (e.g. 1s, 2m, 3h). A value of zero means don't timeout "
            "requests.",
        ),
    ] = "0",
    server: Annotated[
        str, typer.Option("--server", "-s", help="The address and port of the Kubernetes API server")
    ] = "",
    tls_server_name: Annotated[
        str,
        typer.Option(
            "--tls-server-name",
            help="If provided, this name will be used to validate server certificate. If this is not "
            "provided, hostname used to contact the server is used.",
        ),
    ] = "",
    token: Annotated[str, typer.Option("--token", help="Bearer token for authentication to the API server")] = "",
    user: Annotated[str, typer.Option("--user", help="The name of the kubeconfig user to use")] = "",
    username: Annotated[
        str, typer.Option("--username", help="Username for basic authentication to the API server")
    ] = "",
    v: Annotated[int, typer.Option("--v", "-v", help="log level for V logs")] = 2,
) -> None:
    """The root command runs only when no subcommand is given: it prints the command listing."""
    if ctx.invoked_subcommand is None:
        from pyvirtctl import helptext

        print(helptext.root_listing(ctx.command), end="")


GLOBAL_FLAG_NAMES = (
    "as_user as_group as_uid certificate_authority client_certificate client_key cluster context "
    "disable_compression insecure_skip_tls_verify kubeconfig namespace password proxy_url request_timeout "
    "server tls_server_name token user username"
).split()


def build_root(program_name: str, registry: dict[str, tuple[str, str | None]] | None = None) -> GoGroup:
    """The root click group for this program name (``virtctl``, ``pyvirtctl``, ``kubectl virt``)."""

    class Root(GoGroup):
        pass

    Root.registry = COMMANDS if registry is None else registry  # type: ignore[assignment]
    Root.program_name = program_name
    app = typer.Typer(
        cls=Root,
        invoke_without_command=True,
        add_completion=False,
        add_help_option=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        help=f"{program_name} controls virtual machine related operations on your kubernetes cluster.",
    )
    app.callback()(root_callback)
    group = typer.main.get_command(app)
    for p in group.params:
        p.required = False
    group._pyvirtctl_func = root_callback  # type: ignore[attr-defined]  (flag types come from its hints)
    return group  # type: ignore[return-value]
