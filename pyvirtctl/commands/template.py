"""`template convert`: an OpenShift Template (file, stdin or cluster) -> a VirtualMachineTemplate.

With `--file` the conversion is local. With a name (positional or `--name`) the Template is read from
the cluster (`GET /apis/template.openshift.io/v1/namespaces/NS/templates/NAME`) first. Output is
virtctl's: YAML as sigs.k8s.io/yaml writes it, or JSON indented by one space with no final newline.

Not built yet: `template create` and `template process`. What virtctl v1.9.0 sends for them (seen
on the simulator's request log; NS is the client namespace, bodies are JSON):

* `template process NAME [-p K=V ...]`: POST /apis/subresources.template.kubevirt.io/v1beta1/
  namespaces/NS/virtualmachinetemplates/NAME/process, body `{}` or `{"parameters": {"K": "V"}}`;
  answer: ProcessedVirtualMachineTemplate {virtualMachine, message, templateRef}; the VM is printed
  (yaml/json as here), the message goes to stderr without a newline. Error prefix:
  `error processing remote VirtualMachineTemplate NS/NAME: `.
* `... --create`: the same POST to `.../NAME/create`; prints `virtualmachine.kubevirt.io/VM created`.
  Prefix `error creating VirtualMachine from remote VirtualMachineTemplate NS/NAME: `.
* `... --local` and `--print-params` with a name: GET /apis/template.kubevirt.io/v1beta1/namespaces/NS/
  virtualmachinetemplates/NAME (prefix `error fetching remote VirtualMachineTemplate NS/NAME: `;
  `--print-params` adds `error printing template parameters: ` in front), then the local engine.
* `template process -f FILE` needs no cluster but the virt-template engine: parameter merge, the
  `expression` generator, `${X}`/`${{X}}` substitution, reference checks (warnings `Warning: ...`),
  and the typed VirtualMachine round trip (unknown fields rejected, Go's field order and defaults).
* `template create --vm-name VM [--vm-namespace VNS] [--name T]`: POST /apis/template.kubevirt.io/
  v1beta1/namespaces/NS/virtualmachinetemplaterequests with {"kind": "VirtualMachineTemplateRequest",
  "apiVersion": "template.kubevirt.io/v1beta1", "metadata": {"generateName": "VM-", "namespace": NS},
  "spec": {"virtualMachineRef": {"namespace": VNS or NS, "name": VM}, "templateName": T (if given)}};
  prints `virtualmachinetemplaterequest.template.kubevirt.io/GENERATED created`. Prefix
  `error creating VirtualMachineTemplateRequest: `.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.goflags import go_command, range_args
from pyvirtctl.kubevirt.manifests.params import ManifestError

TEMPLATE_SUBCOMMANDS = [("convert", "Convert an OpenShift Template into a VirtualMachineTemplate.")]

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


def _read_source(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    try:
        with open(file, "rb") as fh:
            return fh.read()
    except IsADirectoryError:
        raise ManifestError(f"error decoding Template: read {file}: is a directory") from None
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
