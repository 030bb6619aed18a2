"""The root command: virtctl's global flags (defined in kube/flags.py) and the command registry.

Commands are registered by name -> "module:function" and loaded only when run, so
`pyvirtctl start vm` imports the parser, the `vm` command module and the HTTP session, nothing else.
The second field is the Short text shown in the command listing (None hides the command).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from pyvirtctl.goflags import GoGroup
from pyvirtctl.kube.flags import specs

# name -> ("module:function", Short). Keep sorted by name.
COMMANDS: dict[str, tuple[str, str | None]] = {
    "addvolume": ("pyvirtctl.commands.volume:addvolume_cmd", "add a volume to a running VM"),
    "adm": ("pyvirtctl.commands.adm:adm_cmd", "Administrate KubeVirt configuration."),
    "adm log-verbosity": (
        "pyvirtctl.commands.adm:log_verbosity_cmd",
        "Show, Set or Reset log verbosity. The verbosity value must be 0-9. The default cluster config is normally 2.",
    ),
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
    "credentials": ("pyvirtctl.commands.credentials:credentials_cmd", "Manipulate credentials on a virtual machine."),
    "credentials add-ssh-key": ("pyvirtctl.commands.credentials:add_ssh_key_cmd", "Add credentials to a virtual machine."),
    "credentials remove-ssh-key": (
        "pyvirtctl.commands.credentials:remove_ssh_key_cmd",
        "Remove credentials from a virtual machine.",
    ),
    "credentials set-password": ("pyvirtctl.commands.credentials:set_password_cmd", "Set password for a user"),
    "evacuate-cancel": ("pyvirtctl.commands.evacuate:evacuate_cancel_cmd", "Cancel evacuation for a VM, VMI, or all VMIs on a node"),
    "expand": ("pyvirtctl.commands.expand:expand_cmd", "Return the VirtualMachine object with expanded instancetype and preference."),
    "expose": ("pyvirtctl.commands.expose:expose_cmd", "Expose a virtual machine instance, virtual machine, or virtual machine instance replica set as a new service."),
    "fslist": ("pyvirtctl.commands.guestagent:fslist_cmd", "Return full list of filesystems available on the guest machine."),
    "guestfs": ("pyvirtctl.commands.guestfs:guestfs_cmd", "Start a shell into the libguestfs pod"),
    "guestosinfo": ("pyvirtctl.commands.guestagent:guestosinfo_cmd", "Return guest agent info about operating system."),
    "help": ("pyvirtctl.commands.meta:help_cmd", "Help about any command"),
    "image-upload": ("pyvirtctl.commands.imageupload:image_upload_cmd", "Upload a VM image to a DataVolume/PersistentVolumeClaim."),
    "list": ("pyvirtctl.commands.listing:list_cmd", "List virtual machines (or instances) as a table."),
    "ls": ("pyvirtctl.commands.listing:list_cmd", None),
    "memory-dump": ("pyvirtctl.commands.memorydump:memory_dump_cmd", "Dump the memory of a running VM to a pvc"),
    "migrate": ("pyvirtctl.commands.vm:migrate_cmd", "Migrate a virtual machine."),
    "migrate-cancel": ("pyvirtctl.commands.vm:migrate_cancel_cmd", "Cancel migration of a virtual machine."),
    "objectgraph": ("pyvirtctl.commands.objectgraph:objectgraph_cmd", "Returns dependency graph related to a VM|VMI."),
    "options": ("pyvirtctl.commands.meta:options_cmd", None),
    "pause": ("pyvirtctl.commands.pause:pause_cmd", "Pause a virtual machine"),
    "permitted-devices": ("pyvirtctl.commands.devices:permitted_devices_cmd", "List the permitted devices for vmis."),
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
    "template create": (
        "pyvirtctl.commands.template:create_cmd",
        "Create a VirtualMachineTemplate from an existing VirtualMachine on the cluster.",
    ),
    "template process": (
        "pyvirtctl.commands.template:process_cmd",
        "Process a VirtualMachineTemplate and return the created VirtualMachine object.",
    ),
    "unpause": ("pyvirtctl.commands.pause:unpause_cmd", "Unpause a virtual machine"),
    "usbredir": ("pyvirtctl.commands.usbredir:usbredir_cmd", "Redirect an USB device to a virtual machine instance."),
    "userlist": ("pyvirtctl.commands.guestagent:userlist_cmd", "Return full list of logged in users on the guest machine."),
    "version": ("pyvirtctl.commands.version:version_cmd", "Print the client and server version information."),
    "vmexport": ("pyvirtctl.commands.vmexport:vmexport_cmd", "Export a VM volume."),
    "vnc": ("pyvirtctl.commands.vnc:vnc_cmd", "Open a vnc connection to a virtual machine instance."),
    "vnc screenshot": ("pyvirtctl.commands.vnc:screenshot_cmd", "Create a VNC screenshot of a virtual machine instance."),
}


def _root(ctx: typer.Context, **flags: Any) -> None:
    """The root command runs only when no subcommand is given: it prints the command listing."""
    if ctx.invoked_subcommand is None:
        from pyvirtctl import helptext

        print(helptext.root_listing(ctx.command), end="")


def root_callback() -> Callable[..., None]:
    """The root command's function, its options made from the one table of global flags
    (`pyvirtctl.kube.flags.GlobalFlags`): Typer reads the signature, goflags the type hints."""
    parameters = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
    annotations: dict[str, Any] = {"ctx": typer.Context, "return": None}
    for spec in specs():
        decls = [spec.long] + ([spec.short] if spec.short else [])
        hint = list[str] if spec.type is list else spec.type
        annotation = Annotated[hint, typer.Option(*decls, help=spec.help)]  # type: ignore[valid-type]
        default = list(spec.default) if isinstance(spec.default, list) else spec.default
        parameters.append(
            inspect.Parameter(spec.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        )
        annotations[spec.name] = annotation

    def root_callback(ctx: typer.Context, **flags: Any) -> None:
        _root(ctx, **flags)

    root_callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    root_callback.__annotations__ = annotations
    return root_callback


def build_root(program_name: str, registry: dict[str, tuple[str, str | None]] | None = None) -> GoGroup:
    """The root click group for this program name (``virtctl``, ``pyvirtctl``, ``kubectl virt``)."""

    class Root(GoGroup):
        pass

    Root.registry = COMMANDS if registry is None else registry
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
    callback = root_callback()
    app.callback()(callback)
    group = typer.main.get_command(app)
    for p in group.params:
        p.required = False
    group._pyvirtctl_func = callback  # type: ignore[attr-defined] # flag types come from its hints
    return group  # type: ignore[return-value]
