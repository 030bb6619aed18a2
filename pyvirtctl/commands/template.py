"""`template convert|create|process`: VirtualMachineTemplates (template.kubevirt.io/v1beta1).

* `convert`: an OpenShift Template (file, stdin or cluster: GET /apis/template.openshift.io/v1/...)
  -> a VirtualMachineTemplate, printed as sigs.k8s.io/yaml writes it, or JSON indented by one space
  with no final newline.
* `create --vm-name VM [--vm-namespace NS] [--name T]`: POST a VirtualMachineTemplateRequest
  (`pyvirtctl.kubevirt.templates.remote`); prints `virtualmachinetemplaterequest.template.kubevirt.io/NAME created`.
* `process NAME|-f FILE`: on the cluster through the `process` subresource (or `create` with
  --create, which prints `virtualmachine.kubevirt.io/VM created`), or locally for a file and with
  --local (`pyvirtctl.kubevirt.templates.engine`); prints the VirtualMachine (yaml or json as for
  convert) with the template's message on stderr before it (no newline after it), or with
  --print-params the template's parameters.

Each adapter checks its arguments in virtctl's order, loads the client configuration (a broken
kubeconfig fails as in virtctl), then calls the API below.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.errors import CLIError
from pyvirtctl.goflags import go_command, no_args, range_args
from pyvirtctl.kubevirt.manifests.params import ManifestError

TEMPLATE_SUBCOMMANDS = [
    ("convert", "Convert an OpenShift Template into a VirtualMachineTemplate."),
    ("create", "Create a VirtualMachineTemplate from an existing VirtualMachine on the cluster."),
    ("process", "Process a VirtualMachineTemplate and return the created VirtualMachine object."),
]

CONVERT_EXAMPLE = """  # Convert an OpenShift Template from the cluster using positional argument.
  {{ProgramName}} template convert mytemplate

  # Convert a template by name from the cluster.
  {{ProgramName}} template convert --name mytemplate

  # Convert a template from a local file.
  {{ProgramName}} template convert --file mytemplate.yaml

  # Convert a template from stdin.
  {{ProgramName}} template convert --file -

  # Convert a template in a specific namespace.
  {{ProgramName}} template convert --name mytemplate --namespace production

  # Convert a template and output as JSON.
  {{ProgramName}} template convert --name mytemplate --output json

  # Convert a local template file.
  {{ProgramName}} template convert --file mytemplate.yaml

  # Convert template from current directory and redirect output to file.
  {{ProgramName}} template convert --file mytemplate.yaml > vmt.yaml

  # Convert template and save as JSON.
  {{ProgramName}} template convert mytemplate -o json > vmt.json

  # Convert a template from different namespace.
  {{ProgramName}} template convert mytemplate -n dev

  # Convert template and directly apply it to the cluster.
  {{ProgramName}} template convert mytemplate -n staging | kubectl apply -f -
  """


@go_command("template", use="template", short="Work with VirtualMachineTemplates", subcommands=TEMPLATE_SUBCOMMANDS)
def template_cmd(ctx: typer.Context, args: Annotated[list[str], typer.Argument()] = []) -> None:  # noqa: B006
    from pyvirtctl.commands.create import _usage

    sys.stdout.write(_usage(ctx))


def validate_convert(args: list[str], name: str, file: str, output: str) -> str:
    """virtctl's argument checks, in its order; returns the template name (positional or --name)."""
    if args:
        if file:
            raise ManifestError("only one of name or file can be provided")
        if name:
            raise ManifestError("provide name either from positional argument or from flag")
        name = args[0]
    if not file and not name:
        raise ManifestError("name or file must be provided")
    if output not in ("yaml", "json"):
        raise ManifestError(f"not supported output format: {output}")
    return name


def _read_source(file: str, what: str = "Template") -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    try:
        with open(file, "rb") as fh:
            return fh.read()
    except IsADirectoryError:
        raise ManifestError(f"error decoding {what}: read {file}: is a directory") from None
    except OSError as e:
        raise ManifestError(f"error opening file {file}: open {file}: {(e.strerror or str(e)).lower()}") from None


def _fetch_remote(ctx: typer.Context, name: str) -> bytes:
    from pyvirtctl.errors import prefixed
    from pyvirtctl.kube import paths
    from pyvirtctl.kube.request import Request
    from pyvirtctl.runtime import session

    s = session(ctx)
    ns = s.namespace
    prefix = f"error fetching remote Template {ns}/{name}: "
    with prefixed(prefix):
        ref = paths.ref(paths.OCP_TEMPLATES, ns, name)
    req = Request("GET", ref, verb="get", resource="templates.template.openshift.io", name=name)
    return s.send(req, error_prefix=prefix).body


def render(vmt: dict[str, Any], output: str) -> str:
    from pyvirtctl.kubevirt.manifests.template import yaml_view
    from pyvirtctl.output import go_json, go_yaml

    if output == "json":
        return go_json(vmt, " ")
    return go_yaml(yaml_view(vmt))


@go_command(
    "template convert",
    use="convert [name]",
    short="Convert an OpenShift Template into a VirtualMachineTemplate.",
    example=CONVERT_EXAMPLE,
    args=range_args(0, 1),
    exclusive=[["file", "name"]],
)
def convert_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument()] = [],  # noqa: B006
    name: Annotated[str, typer.Option("--name", help="Specify the name of the OpenShift Template.")] = "",
    file: Annotated[
        str,
        typer.Option("--file", "-f", help="Specify a file containing an OpenShift Template.",
                     autocompletion=comp.complete_files),
    ] = "",
    output: Annotated[
        str,
        typer.Option("--output", "-o", help="Specify the output format.", autocompletion=comp.complete_output_formats),
    ] = "yaml",
) -> None:
    from pyvirtctl.commands.create import explicit_namespace
    from pyvirtctl.kubevirt.manifests.template import convert_template, decode_template

    name = validate_convert(args, name, file, output)
    explicit_namespace(ctx)  # the client configuration must load, as in virtctl
    data = _fetch_remote(ctx, name) if name else _read_source(file)
    vmt = convert_template(decode_template(data))
    sys.stdout.write(render(vmt, output))
    sys.stdout.flush()


# --------------------------------------------------------------------------- template create

CREATE_EXAMPLE = """  # Create a VirtualMachineTemplateRequest for a VM in the current namespace.
  {{ProgramName}} template create --vm-name my-vm

  # Create a VirtualMachineTemplateRequest for a VM in a specific namespace.
  {{ProgramName}} template create --vm-name my-vm --vm-namespace production

  # Create a VirtualMachineTemplateRequest with a specific template name.
  {{ProgramName}} template create --vm-name my-vm --name my-template

  # Create a VirtualMachineTemplateRequest and watch for completion.
  {{ProgramName}} template create --vm-name my-vm && kubectl get vmtr -w
  """


@go_command(
    "template create",
    use="create",
    short="Create a VirtualMachineTemplate from an existing VirtualMachine on the cluster.",
    example=CREATE_EXAMPLE,
    args=no_args,
)
def create_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument()] = [],  # noqa: B006
    vm_name: Annotated[
        str,
        typer.Option("--vm-name", help="Specify the name of the VirtualMachine to create a template from.",
                     autocompletion=comp.complete_vm_names),
    ] = ...,  # type: ignore[assignment]
    vm_namespace: Annotated[
        str,
        typer.Option(
            "--vm-namespace",
            help="Specify the namespace of the VirtualMachine. If not specified, uses the current namespace.",
            autocompletion=comp.complete_namespaces,
        ),
    ] = "",
    name: Annotated[
        str,
        typer.Option(
            "--name",
            help="Specify the name for the created VirtualMachineTemplate. If not specified, uses a randomized name.",
        ),
    ] = "",
) -> None:
    from pyvirtctl.kubevirt.templates.remote import REQUEST_RESOURCE, create_template_request
    from pyvirtctl.runtime import session

    s = session(ctx)
    created = create_template_request(s, s.namespace, vm_name, vm_namespace, name)
    created_name = (created.get("metadata") or {}).get("name") or ""
    sys.stdout.write(f"{REQUEST_RESOURCE}/{created_name} created\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------- template process

PROCESS_EXAMPLE = """  # Process a template from the cluster using positional argument.
  {{ProgramName}} template process mytemplate

  # Process a template by name from the cluster.
  {{ProgramName}} template process --name mytemplate

  # Process a template from a local file.
  {{ProgramName}} template process --file mytemplate.yaml

  # Process a template from stdin.
  {{ProgramName}} template process --file -

  # Process a template in a specific namespace.
  {{ProgramName}} template process --name mytemplate --namespace production

  # Process a template with parameters.
  {{ProgramName}} template process --name mytemplate --param key1=value1 --param key2=value2

  # Process a template with parameters from a file.
  {{ProgramName}} template process --name mytemplate --params-file params.yaml

  # Process a template and output as JSON.
  {{ProgramName}} template process --name mytemplate --output json

  # Process a local template file with parameters.
  {{ProgramName}} template process --file mytemplate.yaml --param diskSize=50Gi --param memory=4Gi

  # Force local processing (instead of server-side processing).
  {{ProgramName}} template process --name mytemplate --local

  # Create a VM in the cluster from a template using the subresource API.
  {{ProgramName}} template process --name mytemplate --create

  # Create a VM in the cluster with parameters.
  {{ProgramName}} template process --name mytemplate --create --param CPU=4 --param MEMORY=8Gi

  # Print only the parameters of a template without processing.
  {{ProgramName}} template process --name mytemplate --print-params

  # Print parameters from a local template file.
  {{ProgramName}} template process --file mytemplate.yaml --print-params

  # Combine local file processing with parameters file and JSON output.
  {{ProgramName}} template process -f mytemplate.yaml --params-file params.json -o json

  # Process template from current directory and redirect output to file.
  {{ProgramName}} template process --file mytemplate.yaml > vm.yaml

  # Process template with multiple parameters and save as JSON.
  {{ProgramName}} template process mytemplate -p cpu=4 -p memory=8Gi -p diskSize=100Gi -o json > vm.json

  # Process a template from different namespace with parameters.
  {{ProgramName}} template process mytemplate -n dev -p diskSize=20Gi

  # Process template and directly apply it to the cluster.
  {{ProgramName}} template process mytemplate -n staging | kubectl apply -f -
  """


complete_template_names = comp.names_at(0, "vmt")


def read_params_file(path: str) -> dict[str, str]:
    """--params-file: a YAML or JSON dictionary of strings (numbers and bools in YAML become strings)."""
    from pyvirtctl.kubevirt.manifests.decode import decode_plain

    prefix = "error reading params file: "
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except IsADirectoryError:
        raise ManifestError(f"{prefix}read {path}: is a directory") from None
    except OSError as e:
        raise ManifestError(f"{prefix}open {path}: {(e.strerror or str(e)).lower()}") from None
    try:
        return dict(decode_plain(data, ("map", "string", "map[string]string")) or {})
    except ManifestError as e:
        raise ManifestError(prefix + e.message) from None


def _print(obj: Any, output: str, message: str = "") -> None:
    from pyvirtctl.output import go_json, go_yaml

    text = go_json(obj, " ") if output == "json" else go_yaml(obj)
    if message:
        sys.stderr.write(message)
        sys.stderr.flush()
    sys.stdout.write(text)
    sys.stdout.flush()


@go_command(
    "template process",
    use="process [name]",
    short="Process a VirtualMachineTemplate and return the created VirtualMachine object.",
    example=PROCESS_EXAMPLE,
    args=range_args(0, 1),
    go_types={"param": "stringToString"},
    exclusive=[["file", "name"], ["file", "local"], ["param", "params-file"], ["create", "file"],
               ["create", "local"], ["create", "print-params"]],
)
def process_cmd(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(autocompletion=complete_template_names)] = [],  # noqa: B006
    name: Annotated[
        str,
        typer.Option("--name", help="Specify the name of the VirtualMachineTemplate.",
                     autocompletion=complete_template_names),
    ] = "",
    file: Annotated[
        str,
        typer.Option("--file", "-f", help="Specify a file containing a VirtualMachineTemplate.",
                     autocompletion=comp.complete_files),
    ] = "",
    output: Annotated[
        str,
        typer.Option("--output", "-o", help="Specify the output format.", autocompletion=comp.complete_output_formats),
    ] = "yaml",
    param: Annotated[
        str, typer.Option("--param", "-p", help="Specify parameters that should be used during processing.")
    ] = "",
    params_file: Annotated[
        str,
        typer.Option(
            "--params-file",
            help="Specify a file that contains parameters that should be used during processing. "
            "Supports JSON and YAML dictionaries.",
            autocompletion=comp.complete_files,
        ),
    ] = "",
    local: Annotated[bool, typer.Option("--local", help="Force local processing of VirtualMachineTemplates.")] = False,
    create: Annotated[
        bool,
        typer.Option("--create", help="Use subresource API to create a VM when processing a remote VirtualMachineTemplate."),
    ] = False,
    print_params: Annotated[
        bool, typer.Option("--print-params", help="Only print parameters of the specified VirtualMachineTemplates.")
    ] = False,
) -> None:
    from pyvirtctl.kubevirt.templates import engine, remote
    from pyvirtctl.runtime import session

    name = validate_convert(args, name, file, output)
    # the parser merged every occurrence into one map (pflag's stringToString); None when not given
    params: dict[str, str] | None = dict(param) if isinstance(param, dict) else None
    s = session(ctx)
    ns = s.namespace

    def template() -> dict[str, Any]:
        if name:
            return remote.fetch_template(s, ns, name)
        return engine.decode_template(_read_source(file, "VirtualMachineTemplate"))

    if print_params:
        try:
            tpl = template()
        except ManifestError as e:
            raise ManifestError("error printing template parameters: " + e.message) from None
        except CLIError as e:
            raise e.wrap("error printing template parameters: ") from None
        raw = (tpl.get("spec") or {}).get("parameters")
        _print(None if raw is None else engine.parameters_json(raw), output)
        return
    def warn(text: str) -> None:
        sys.stderr.write(f"Warning: {text}\n")
        sys.stderr.flush()

    if params_file:
        params = read_params_file(params_file)
    if create:
        vm, _message = remote.process_remote(s, ns, name, params, create=True, warn=warn)
        sys.stdout.write(f"{remote.kind_group(vm)}/{(vm.get('metadata') or {}).get('name') or ''} created\n")
        sys.stdout.flush()
        return
    if name and not local:
        vm, message = remote.process_remote(s, ns, name, params, warn=warn)
    else:
        vm, message = engine.process_local(template(), params or {}, warn)
    _print(vm, output, message)
