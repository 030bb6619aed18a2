"""`create vm|instancetype|preference|clone`: print a manifest (virtctl's YAML, or JSON with -o json).

Each command turns its flags into the options dataclass of `pyvirtctl.kubevirt.manifests`, builds
the manifest there and prints it. The client configuration is loaded first, as virtctl does: a
broken kubeconfig is an error even though nothing is sent, and an explicit `-n` becomes the
manifest's namespace. Nothing is sent to the cluster.

Beyond virtctl, `--apply` creates the object instead (`Client.create`: a POST of the same dict to
its collection, in the manifest's namespace or the client's) and prints `VirtualMachine NS/NAME
created` - or, with an explicit `-o yaml|json`, the object the server created. `create vm --apply
--wait [--timeout 5m]` then waits until the VM runs when its run strategy starts it.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.goflags import go_command, no_args
from pyvirtctl.kubevirt.manifests import vm as vm_manifest
from pyvirtctl.kubevirt.manifests.params import ManifestError, supported

OUTPUT_FORMATS = ("yaml", "json")
OUTPUT_HELP = "Output format of the manifest: yaml (as virtctl prints it) or json."

CREATE_SUBCOMMANDS = [
    ("clone", "Create a clone object manifest"),
    ("instancetype", "Create VirtualMachineInstancetype or VirtualMachineClusterInstancetype manifest."),
    ("preference", "Create a VirtualMachinePreference or VirtualMachineClusterPreference manifest."),
    ("vm", "Create a VirtualMachine manifest."),
]


# --------------------------------------------------------------------------- shared plumbing


def explicit_namespace(ctx: typer.Context) -> str:
    """The namespace given with -n (virtctl's `overridden`), after loading the client configuration
    so that a broken kubeconfig fails the way virtctl fails."""
    from pyvirtctl.kube.config import load_config
    from pyvirtctl.runtime import global_flags

    cfg = load_config(global_flags(ctx))
    return cfg.namespace if cfg.namespace_explicit else ""


def given_flags(ctx: typer.Context) -> frozenset[str]:
    """The command's flags typed on the command line, by flag name."""
    return frozenset(name.replace("_", "-") for name in ctx.meta.get("pyvirtctl.changed", set()))


def check_output(output: str) -> None:
    if output not in OUTPUT_FORMATS:
        raise ManifestError(f"not supported output format: {output}")


def print_manifest(obj: dict[str, Any], output: str) -> None:
    from pyvirtctl.output import go_json, go_yaml

    text = go_json(obj, "  ") + "\n" if output == "json" else go_yaml(obj)
    sys.stdout.write(text)
    sys.stdout.flush()


def warn(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def read_file(path: str) -> bytes:
    """os.ReadFile with Go's error texts (`open PATH: no such file or directory`)."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except IsADirectoryError:
        raise ManifestError(f"read {path}: is a directory") from None
    except OSError as e:
        reason = (e.strerror or str(e)).lower()
        raise ManifestError(f"open {path}: {reason}") from None


def _usage(ctx: typer.Context) -> str:
    from pyvirtctl import helptext

    text = helptext.command_help(ctx.command, ctx)
    return text[text.index("Usage:") :]


OutputOption = Annotated[
    str, typer.Option("--output", "-o", help=OUTPUT_HELP, autocompletion=comp.complete_output_formats)
]
ApplyOption = Annotated[
    bool,
    typer.Option("--apply", help="Create the object on the cluster instead of printing its manifest. "
                                 "With an explicit --output, print the created object."),
]
WaitOption = Annotated[
    bool,
    typer.Option("--wait", help="With --apply: wait until the VM is running, when its run strategy starts it."),
]
TimeoutOption = Annotated[str, typer.Option("--timeout", help="With --wait: how long to wait, e.g. 90s, 5m.")]


def check_apply(apply: bool, wait: bool, timeout: str, flags: frozenset[str]) -> float:
    """--wait and --timeout only go with --apply (checked before anything is built or sent);
    returns the timeout in seconds."""
    if wait and not apply:
        raise ManifestError("--wait can only be used with --apply")
    if "timeout" in flags and not wait:
        raise ManifestError("--timeout can only be used with --wait")
    from pyvirtctl.kubevirt.waiting import parse_duration

    return parse_duration(timeout) if wait else 0.0


def emit(ctx: typer.Context, manifest: dict[str, Any], output: str, apply: bool, flags: frozenset[str],
         wait: float | None = None) -> None:
    """Print the manifest, or (--apply) create it and print what happened; `wait`: seconds to wait
    for a created VM to run (None: do not wait)."""
    if not apply:
        print_manifest(manifest, output)
        return
    from pyvirtctl.kubevirt.client import Client
    from pyvirtctl.kubevirt.manifests.target import created_line, display_name, starts_on_create
    from pyvirtctl.runtime import session

    client = Client(session(ctx))
    created = client.create(manifest)
    if "output" in flags:
        print_manifest(created, output)
    else:
        sys.stdout.write(created_line(created) + "\n")
        sys.stdout.flush()
    if wait is None:
        return
    name = display_name(created)
    if not starts_on_create(created):
        strategy = (created.get("spec") or {}).get("runStrategy") or "Halted"
        warn(f"VirtualMachine {name} is not started by its run strategy ({strategy}): not waiting\n")
        return
    from pyvirtctl.kubevirt.waiting import Reporter

    meta = created.get("metadata") or {}
    vm = client.vm(meta.get("name") or "", meta.get("namespace") or client.namespace)
    progress = vm.wait_running(wait, Reporter(sys.stderr, live=sys.stderr.isatty()))
    where = f" on {progress.node}" if progress.node else ""
    sys.stdout.write(f"VirtualMachine {name} is running{where}\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------- create


@go_command("create", use="create", short="Create a manifest for the specified Kind.", subcommands=CREATE_SUBCOMMANDS)
def create_cmd(ctx: typer.Context, args: Annotated[list[str], typer.Argument()] = []) -> None:  # noqa: B006
    # like virtctl: the bare group (or an unknown word after it) prints the usage and succeeds
    sys.stdout.write(_usage(ctx))


# --------------------------------------------------------------------------- create vm

VM_EXAMPLE = """  # Create a manifest for a VirtualMachine with a random name:
  {{ProgramName}} create vm

  # Create a manifest for a VirtualMachine with a specified name and RunStrategy Always
  {{ProgramName}} create vm --name=my-vm --run-strategy=Always

  # Create a manifest for a VirtualMachine with a specified VirtualMachineClusterInstancetype
  {{ProgramName}} create vm --instancetype=my-instancetype

  # Create a manifest for a VirtualMachine with a specified VirtualMachineInstancetype (namespaced)
  {{ProgramName}} create vm --instancetype=virtualmachineinstancetype/my-instancetype

  # Create a manifest for a VirtualMachine with a specified VirtualMachineClusterPreference
  {{ProgramName}} create vm --preference=my-preference

  # Create a manifest for a VirtualMachine with a specified VirtualMachinePreference (namespaced)
  {{ProgramName}} create vm --preference=virtualmachinepreference/my-preference

  # Create a manifest for a VirtualMachine with specified memory and an ephemeral containerdisk volume
  {{ProgramName}} create vm --memory=1Gi --volume-containerdisk=src:my.registry/my-image:my-tag

  # Create a manifest for a VirtualMachine with a cloned DataSource in namespace and specified size
  {{ProgramName}} create vm --volume-import=type:ds,src:my-ns/my-ds,size:50Gi

  # Create a manifest for a VirtualMachine with a cloned DataSource and inferred instancetype and preference
  {{ProgramName}} create vm --volume-import=type:ds,src:my-annotated-ds --infer-instancetype --infer-preference

  # Create a manifest for a VirtualMachine with multiple volumes and specified boot order
  {{ProgramName}} create vm --volume-containerdisk=src:my.registry/my-image:my-tag --volume-import=type:ds,src:my-ds,bootorder:1

  # Create a manifest for a VirtualMachine with multiple volumes and inferred instancetype and preference with specified volumes
  {{ProgramName}} create vm --volume-import=type:ds,src:my-annotated-ds --volume-pvc=my-annotated-pvc --infer-instancetype=my-annotated-ds --infer-preference=my-annotated-pvc

  # Create a manifest for a VirtualMachine with a cloned PVC
  {{ProgramName}} create vm --volume-import=type:pvc,src:my-ns/my-pvc

  # Create a manifest for a VirtualMachine using a PVC without cloning it
  {{ProgramName}} create vm --volume-pvc=src:my-pvc

  # Create a manifest for a VirtualMachine with a clone DataSource and a blank volume
  {{ProgramName}} create vm --volume-import=type:ds,src:my-ns/my-ds --volume-import=type:blank,size:50Gi

  # Create a manifest for a VirtualMachine with a specified VirtualMachineCluster{Instancetype,Preference} and cloned DataSource
  {{ProgramName}} create vm --instancetype=my-instancetype --preference=my-preference --volume-import=type:ds,src:my-ds

  # Create a manifest for a VirtualMachine with a specified VirtualMachineCluster{Instancetype,Preference} and two cloned DataSources (flag can be provided multiple times)
  {{ProgramName}} create vm --instancetype=my-instancetype --preference=my-preference --volume-import=type:ds,src:my-ds1 --volume-import=type:ds,src:my-ds2

  # Create a manifest for a VirtualMachine with a specified VirtualMachineCluster{Instancetype,Preference} and directly used PVC
  {{ProgramName}} create vm --instancetype=my-instancetype --preference=my-preference --volume-pvc=my-pvc

  # Create a manifest for a VirtualMachine with a specified DataVolumeTemplate
  {{ProgramName}} create vm --volume-import type:pvc,name:my-pvc,namespace:default,size:256Mi

  # Create a manifest for a VirtualMachine with a generated cloud-init config setting the user and adding an ssh authorized key
  {{ProgramName}} create vm --user cloud-user --ssh-key="ssh-ed25519 AAAA...."

  # Create a manifest for a VirtualMachine with a generated cloud-init config setting the user and setting the password from a file
  {{ProgramName}} create vm --user cloud-user --password-file=/path/to/file
\t
  # Create a manifest for a VirtualMachine with SSH public keys injected into the VM from a secret called my-keys to the user also specified in the cloud-init config
  {{ProgramName}} create vm --user cloud-user --access-cred=type:ssh,src:my-keys

  # Create a manifest for a VirtualMachine with SSH public keys injected into the VM from a secret called my-keys to a user specified as param
  {{ProgramName}} create vm --access-cred=type:ssh,src:my-keys,user:myuser

  # Create a manifest for a VirtualMachine with password injected into the VM from a secret called my-pws
  {{ProgramName}} create vm --access-cred=type:password,src:my-pws

  # Create a manifest for a VirtualMachine with a Containerdisk and a Sysprep volume (source ConfigMap needs to exist)
  {{ProgramName}} create vm --memory=1Gi --volume-containerdisk=src:my.registry/my-image:my-tag --volume-sysprep=src:my-cm"""

_VOLUME_PARAMS = supported(vm_manifest.VOLUME_SOURCE)
_DEPRECATED_PARAMS = "name:string,src:string,bootorder:uint,size:resource.Quantity"

complete_run_strategies = comp.choices(*vm_manifest.RUN_STRATEGIES)
complete_cloud_init_types = comp.choices(*vm_manifest.CLOUD_INIT_TYPES)


def complete_volume_import(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    """`--volume-import <TAB>`: the `type:` values first, then the type's other parameters."""
    if not incomplete.startswith("type:") or "," not in incomplete:
        comp.no_space()
        return [(f"type:{t},", "") for t in vm_manifest.IMPORT_TYPES if f"type:{t},".startswith(incomplete)]
    return []


@go_command(
    "create vm",
    use="vm",
    short="Create a VirtualMachine manifest.",
    long=(
        "Create a VirtualMachine manifest.\n\n"
        "If no boot order was specified volumes have the following fixed boot order:\n"
        "Containerdisk > PVC > DataSource > Clone PVC > Blank > Imported volumes"
    ),
    example=VM_EXAMPLE,
    args=no_args,
    sort_flags=False,
    go_types={"termination_grace_period": "int64", "ssh_key": "strings"},
    exclusive=[
        ["memory", "instancetype", "infer-instancetype", "infer-instancetype-from"],
        ["preference", "infer-preference", "infer-preference-from"],
        ["cloud-init-user-data", "user"],
        ["cloud-init-user-data", "password-file"],
        ["cloud-init-user-data", "ssh-key"],
        ["cloud-init-user-data", "ga-manage-ssh"],
    ],
)
def vm_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument()] = [],  # noqa: B006 - click copies defaults
    name: Annotated[str, typer.Option("--name", help="Specify the name of the VM.")] = "",
    run_strategy: Annotated[
        str,
        typer.Option("--run-strategy", help="Specify the RunStrategy of the VM.", autocompletion=complete_run_strategies),
    ] = "Always",
    termination_grace_period: Annotated[
        int, typer.Option("--termination-grace-period", help="Specify the termination grace period of the VM.")
    ] = 180,
    memory: Annotated[str, typer.Option("--memory", help="Specify the memory of the VM.")] = "512Mi",
    instancetype: Annotated[
        str,
        typer.Option(
            "--instancetype",
            help="Specify the Instance Type of the VM. Mutually exclusive with instancetype inference flags.",
        ),
    ] = "",
    infer_instancetype: Annotated[
        bool,
        typer.Option(
            "--infer-instancetype",
            help="Specify if the Instance Type of the VM should be inferred from the first boot disk. "
            "Mutually exclusive with --infer-instancetype-from.",
        ),
    ] = True,
    infer_instancetype_from: Annotated[
        str,
        typer.Option(
            "--infer-instancetype-from",
            help="Specify the volume to infer the Instance Type of the VM from. "
            "Mutually exclusive with --infer-instancetype.",
        ),
    ] = "",
    preference: Annotated[
        str,
        typer.Option(
            "--preference",
            help="Specify the Preference of the VM. Mutually exclusive with preference inference flags.",
        ),
    ] = "",
    infer_preference: Annotated[
        bool,
        typer.Option(
            "--infer-preference",
            help="Specify if the Preference of the VM should be inferred from the first boot disk. "
            "Mutually exclusive with --infer-preference-from.",
        ),
    ] = True,
    infer_preference_from: Annotated[
        str,
        typer.Option(
            "--infer-preference-from",
            help="Specify the volume to infer the Preference of the VM from. Mutually exclusive with --infer-preference.",
        ),
    ] = "",
    volume_containerdisk: Annotated[
        list[str],
        typer.Option(
            "--volume-containerdisk",
            help="Specify a containerdisk to be used by the VM. Can be provided multiple times.\n"
            f"Supported parameters: {_VOLUME_PARAMS}",
        ),
    ] = [],  # noqa: B006
    volume_pvc: Annotated[
        list[str],
        typer.Option(
            "--volume-pvc",
            help=f"Specify a PVCs to be used by the VM. Can be provided multiple times.\nSupported parameters: {_VOLUME_PARAMS}",
        ),
    ] = [],  # noqa: B006
    volume_import: Annotated[
        list[str],
        typer.Option(
            "--volume-import", help=vm_manifest.volume_import_help(), autocompletion=complete_volume_import
        ),
    ] = [],  # noqa: B006
    volume_sysprep: Annotated[
        str,
        typer.Option(
            "--volume-sysprep",
            help="Specify a ConfigMap or Secret to be used as sysprep volume by the VM.\n"
            f"Supported parameters: {supported(vm_manifest.SYSPREP_SOURCE)}",
        ),
    ] = "",
    user: Annotated[
        str, typer.Option("--user", help="Specify the user in the cloud-init user data that is added to the VM.")
    ] = "",
    password_file: Annotated[
        str,
        typer.Option(
            "--password-file",
            help="Specify a file to read the password from for the cloud-init user data that is added to the VM.",
            autocompletion=comp.complete_files,
        ),
    ] = "",
    ssh_key: Annotated[
        list[str],
        typer.Option(
            "--ssh-key",
            help="Specify one or more SSH authorized keys in the cloud-init user data that is added to the VM.",
        ),
    ] = [],  # noqa: B006
    ga_manage_ssh: Annotated[
        bool,
        typer.Option(
            "--ga-manage-ssh",
            help="Specify if the qemu-guest-agent should be able to manage SSH in the cloud-init user data that is "
            "added to the VM.\n"
            'This is useful in combination with the "credentials add-ssh-key" command or when using the '
            "--access-cred flag.",
        ),
    ] = False,
    access_cred: Annotated[
        list[str],
        typer.Option(
            "--access-cred",
            help="Specify an access credential to be injected into the VM. Can be provided multiple times.\n"
            f"Supported parameters: {supported(vm_manifest.ACCESS_CREDENTIAL)}",
        ),
    ] = [],  # noqa: B006
    cloud_init: Annotated[
        str,
        typer.Option(
            "--cloud-init",
            help="Specify the type of the generated cloud-init data source.\n"
            "Supported values: nocloud, configdrive, none",
            autocompletion=complete_cloud_init_types,
        ),
    ] = "nocloud",
    cloud_init_user_data: Annotated[
        str,
        typer.Option("--cloud-init-user-data", help="Specify the base64 encoded cloud-init user data of the VM."),
    ] = "",
    cloud_init_network_data: Annotated[
        str,
        typer.Option("--cloud-init-network-data", help="Specify the base64 encoded cloud-init network data of the VM."),
    ] = "",
    volume_datasource: Annotated[
        list[str],
        typer.Option(
            "--volume-datasource",
            help="Specify a DataSource to be cloned by the VM. Can be provided multiple times.\n"
            f"Supported parameters: {_DEPRECATED_PARAMS}\n"
            "DEPRECATED: Use --volume-import with type:ds and same params instead.",
        ),
    ] = [],  # noqa: B006
    volume_clone_pvc: Annotated[
        list[str],
        typer.Option(
            "--volume-clone-pvc",
            help="Specify a PVC to be cloned by the VM. Can be provided multiple times.\n"
            f"Supported parameters: {_DEPRECATED_PARAMS}\n"
            "DEPRECATED: Use --volume-import with type:pvc and same params instead.",
        ),
    ] = [],  # noqa: B006
    volume_blank: Annotated[
        list[str],
        typer.Option(
            "--volume-blank",
            help="Specify a blank volume to be used by the VM. Can be provided multiple times.\n"
            "Supported parameters: name:string,size:resource.Quantity\n"
            "DEPRECATED: Use --volume-import with type:blank and same params instead.",
        ),
    ] = [],  # noqa: B006
    output: OutputOption = "yaml",
    apply: ApplyOption = False,
    wait: WaitOption = False,
    timeout: TimeoutOption = "5m",
) -> None:
    namespace = explicit_namespace(ctx)
    check_output(output)
    flags = given_flags(ctx)
    wait_seconds = check_apply(apply, wait, timeout, flags)
    opts = vm_manifest.VMOptions(
        name=name,
        namespace=namespace,
        run_strategy=run_strategy,
        termination_grace_period=termination_grace_period,
        memory=memory,
        instancetype=instancetype,
        infer_instancetype=infer_instancetype,
        infer_instancetype_from=infer_instancetype_from,
        preference=preference,
        infer_preference=infer_preference,
        infer_preference_from=infer_preference_from,
        volume_containerdisk=volume_containerdisk,
        volume_pvc=volume_pvc,
        volume_import=volume_import,
        volume_sysprep=volume_sysprep,
        user=user,
        password_file=password_file,
        ssh_key=ssh_key,
        ga_manage_ssh=ga_manage_ssh,
        access_cred=access_cred,
        cloud_init=cloud_init,
        cloud_init_user_data=cloud_init_user_data,
        cloud_init_network_data=cloud_init_network_data,
        volume_datasource=volume_datasource,
        volume_clone_pvc=volume_clone_pvc,
        volume_blank=volume_blank,
        given=flags - {"output", "apply", "wait", "timeout"},
    )
    vm = vm_manifest.build_vm(opts, read_file=read_file, warn=warn)
    emit(ctx, vm, output, apply, flags, wait_seconds if wait else None)


# --------------------------------------------------------------------------- create instancetype

INSTANCETYPE_EXAMPLE = """  # Create a manifest for a ClusterInstancetype with a random name:
  {{ProgramName}} create instancetype --cpu 2 --memory 256Mi
  
  # Create a manifest for a ClusterInstancetype with a specified name:
  {{ProgramName}} create instancetype --name my-instancetype --cpu 2 --memory 256Mi

  # Create a manifest for a ClusterInstancetype with a specified gpu:
  {{ProgramName}} create instancetype --cpu 2 --memory 256Mi --gpu name:gpu1,devicename:nvidia
  
  # Create a manifest for a Instancetype with a specified name and cpu:
  {{ProgramName}} create instancetype --namespaced --name my-instancetype --cpu 2 --memory 256Mi
  
  # Create a manifest for a ClusterInstancetype and use it to create a resource with kubectl
  {{ProgramName}} create instancetype --cpu 2 --memory 256Mi | kubectl create -f -"""  # noqa: W293

complete_iothreads_policies = comp.choices("auto", "shared")


@go_command(
    "create instancetype",
    use="instancetype",
    short="Create VirtualMachineInstancetype or VirtualMachineClusterInstancetype manifest.",
    example=INSTANCETYPE_EXAMPLE,
    go_types={"cpu": "uint32"},
)
def instancetype_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument()] = [],  # noqa: B006
    name: Annotated[str, typer.Option("--name", help="Specify the name of the Instancetype.")] = "",
    cpu: Annotated[int, typer.Option("--cpu", help="Specify the count of CPUs of the Instancetype.")] = ...,  # type: ignore[assignment]
    memory: Annotated[str, typer.Option("--memory", help="Specify the amount of memory of the Instancetype.")] = ...,  # type: ignore[assignment]
    iothreadspolicy: Annotated[
        str,
        typer.Option(
            "--iothreadspolicy",
            help='Specify IOThreadsPolicy to be used. Only valid values are "auto" and "shared".',
            autocompletion=complete_iothreads_policies,
        ),
    ] = "",
    namespaced: Annotated[
        bool,
        typer.Option(
            "--namespaced",
            help="Specify if VirtualMachineInstancetype should be created. "
            "By default VirtualMachineClusterInstancetype is created.",
        ),
    ] = False,
    gpu: Annotated[
        list[str],
        typer.Option("--gpu", help="Specify the list of vGPUs to passthrough. Can be provided multiple times."),
    ] = [],  # noqa: B006
    hostdevice: Annotated[
        list[str],
        typer.Option("--hostdevice", help="Specify list of HostDevices to passthrough. Can be provided multiple times."),
    ] = [],  # noqa: B006
    output: OutputOption = "yaml",
    apply: ApplyOption = False,
) -> None:
    from pyvirtctl.kubevirt.manifests.instancetype import InstancetypeOptions, build_instancetype

    namespace = explicit_namespace(ctx)
    check_output(output)
    flags = given_flags(ctx)
    opts = InstancetypeOptions(
        cpu=cpu,
        memory=memory,
        name=name if "name" in flags else None,
        namespace=namespace,
        namespaced=namespaced,
        gpu=gpu,
        hostdevice=hostdevice,
        iothreadspolicy=iothreadspolicy if "iothreadspolicy" in flags else None,
    )
    emit(ctx, build_instancetype(opts), output, apply, flags)


# --------------------------------------------------------------------------- create preference

PREFERENCE_EXAMPLE = """  # Create a manifest for a ClusterPreference with a random name:
  {{ProgramName}} create preference
\t
  # Create a manifest for a ClusterPreference with a specified CPU topology:
  {{ProgramName}} create preference --cpu-topology sockets

  # Create a manifest for a Preference with a specified CPU topology:
  {{ProgramName}} create preference --cpu-topology sockets --namespaced
\t
  # Create a manifest for a ClusterPreference and use it to create a resource with kubectl
  {{ProgramName}} create preference --volume-storage-class hostpath-provisioner | kubectl create -f -"""

complete_cpu_topologies = comp.choices("sockets", "cores", "threads", "spread", "any")


@go_command(
    "create preference",
    use="preference",
    short="Create a VirtualMachinePreference or VirtualMachineClusterPreference manifest.",
    example=PREFERENCE_EXAMPLE,
)
def preference_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument()] = [],  # noqa: B006
    namespaced: Annotated[
        bool,
        typer.Option(
            "--namespaced",
            help="Specify if VirtualMachinePreference should be created. "
            "By default VirtualMachineClusterPreference is created.",
        ),
    ] = False,
    name: Annotated[str, typer.Option("--name", help="Specify the name of the Preference.")] = "",
    volume_storage_class: Annotated[
        str, typer.Option("--volume-storage-class", help="Defines the preferred storage class")
    ] = "",
    machine_type: Annotated[str, typer.Option("--machine-type", help="Defines the preferred machine type to use.")] = "",
    cpu_topology: Annotated[
        str,
        typer.Option(
            "--cpu-topology",
            help="Defines the preferred guest visible CPU topology.",
            autocompletion=complete_cpu_topologies,
        ),
    ] = "",
    output: OutputOption = "yaml",
    apply: ApplyOption = False,
) -> None:
    from pyvirtctl.kubevirt.manifests.instancetype import PreferenceOptions, build_preference

    namespace = explicit_namespace(ctx)
    check_output(output)
    flags = given_flags(ctx)
    opts = PreferenceOptions(
        name=name if "name" in flags else None,
        namespace=namespace,
        namespaced=namespaced,
        cpu_topology=cpu_topology if "cpu-topology" in flags else None,
        machine_type=machine_type if "machine-type" in flags else None,
        volume_storage_class=volume_storage_class if "volume-storage-class" in flags else None,
    )
    emit(ctx, build_preference(opts), output, apply, flags)


# --------------------------------------------------------------------------- create clone

CLONE_EXAMPLE = """  # Create a manifest for a clone with a random name:
  {{ProgramName}} create clone --source-name sourceVM --target-name targetVM

  # Create a manifest for a clone with a specified name:
  {{ProgramName}} create clone --name my-clone --source-name sourceVM --target-name targetVM

  # Create a manifest for a clone with a randomized target name (target name is omitted):
  {{ProgramName}} create clone --source-name sourceVM

  # Create a manifest for a clone with specified source / target types. The default type is VM.
  {{ProgramName}} create clone --source-name sourceVM --source-type vm --target-name targetVM --target-type vm

  # Supported source types are vm (aliases: VM, VirtualMachine, virtualmachine) and snapshot (aliases: vmsnapshot
  # VirtualMachineSnapshot, VMSnapshot). The only supported target type is vm.

  # Create a manifest for a clone with a source type snapshot to a target type VM:
  {{ProgramName}} create clone --source-name mySnapshot --source-type snapshot --target-name targetVM

  # Create a manifest for a clone with label filters:
  {{ProgramName}} create clone --source-name sourceVM --label-filter '*' --label-filter '!some/key'

  # Create a manifest for a clone with annotation filters:
  {{ProgramName}} create clone --source-name sourceVM --annotation-filter '*' --annotation-filter '!some/key'

  # Create a manifest for a clone with template label filters:
  {{ProgramName}} create clone --source-name sourceVM --template-label-filter '*' --template-label-filter '!some/key'

  # Create a manifest for a clone with template annotation filters:
  {{ProgramName}} create clone --source-name sourceVM --template-annotation-filter '*' --template-annotation-filter '!some/key'

  # Create a manifest for a clone with new MAC addresses:
  {{ProgramName}} create clone --source-name sourceVM --new-mac-address interface1:00-11-22 --new-mac-address interface2:00-11-33

  # Create a manifest for a clone with new SMBIOS serial:
  {{ProgramName}} create clone --source-name sourceVM --new-smbios-serial "new-serial"

  # Create a manifest for a clone and use it to create a resource with kubectl
  {{ProgramName}} create clone --source-name sourceVM | kubectl create -f -"""

complete_clone_source_types = comp.choices("vm", "snapshot")
complete_clone_target_types = comp.choices("vm")
_MULTI = "Can be provided multiple times."


@go_command("create clone", use="clone", short="Create a clone object manifest", example=CLONE_EXAMPLE)
def clone_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument()] = [],  # noqa: B006
    name: Annotated[
        str, typer.Option("--name", help="Specify the name of the clone. If not specified, name would be randomized.")
    ] = "",
    source_name: Annotated[str, typer.Option("--source-name", help="Specify the clone's source name.")] = ...,  # type: ignore[assignment]
    target_name: Annotated[str, typer.Option("--target-name", help="Specify the clone's target name.")] = "",
    source_type: Annotated[
        str,
        typer.Option(
            "--source-type",
            help="Specify the clone's source type. Default type is VM. Supported types: vm, vmsnapshot",
            autocompletion=complete_clone_source_types,
        ),
    ] = "",
    target_type: Annotated[
        str,
        typer.Option(
            "--target-type",
            help="Specify the clone's target type. Default type is VM. Supported types: vm",
            autocompletion=complete_clone_target_types,
        ),
    ] = "",
    label_filter: Annotated[
        list[str], typer.Option("--label-filter", help=f"Specify clone's label filters. {_MULTI}")
    ] = [],  # noqa: B006
    annotation_filter: Annotated[
        list[str], typer.Option("--annotation-filter", help=f"Specify clone's annotation filters. {_MULTI}")
    ] = [],  # noqa: B006
    template_label_filter: Annotated[
        list[str], typer.Option("--template-label-filter", help=f"Specify clone's template label filters. {_MULTI}")
    ] = [],  # noqa: B006
    template_annotation_filter: Annotated[
        list[str],
        typer.Option("--template-annotation-filter", help=f"Specify clone's template annotation filters. {_MULTI}"),
    ] = [],  # noqa: B006
    new_mac_address: Annotated[
        list[str],
        typer.Option(
            "--new-mac-address",
            help="Specify clone's new mac addresses. For example: 'interfaceName0:newAddress0'",
        ),
    ] = [],  # noqa: B006
    new_smbios_serial: Annotated[
        str, typer.Option("--new-smbios-serial", help="Specify the clone's new smbios serial")
    ] = "",
    output: OutputOption = "yaml",
    apply: ApplyOption = False,
) -> None:
    from pyvirtctl.kubevirt.manifests.clone import CloneOptions, build_clone

    namespace = explicit_namespace(ctx)
    check_output(output)
    opts = CloneOptions(
        source_name=source_name,
        name=name,
        namespace=namespace,
        target_name=target_name,
        source_type=source_type,
        target_type=target_type,
        label_filter=label_filter,
        annotation_filter=annotation_filter,
        template_label_filter=template_label_filter,
        template_annotation_filter=template_annotation_filter,
        new_mac_address=new_mac_address,
        new_smbios_serial=new_smbios_serial,
    )
    emit(ctx, build_clone(opts), output, apply, given_flags(ctx))
