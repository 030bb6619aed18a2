"""expand: a VirtualMachine with its instancetype and preference applied (virtctl.md §2.13).

`--vm NAME` asks virt-api for the stored VM's expanded spec; `--file PATH` (or `-` for stdin) sends
a local manifest to the namespace's expand-vm-spec endpoint. The answer is printed as virtctl does:
YAML with sorted keys and a final newline, or JSON with a one-space indent and no final newline.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.errors import CLIError, UsageError, prefixed
from pyvirtctl.goflags import exact_args, given, go_command
from pyvirtctl.kubevirt.requests import expand_spec_request, expand_vm_request
from pyvirtctl.output import go_json, go_yaml
from pyvirtctl.runtime import session

EXAMPLE = (
    "  #Expand a virtual machine called 'myvm'.\n  {{ProgramName}} expand --vm myvm\n  \n"
    "  # Expand a virtual machine from file called myvm.yaml.\n  {{ProgramName}} expand --file myvm.yaml\n\n"
    "  # Expand a virtual machine from stdin. Press Ctrl+D (Unix) or Ctrl+Z (Windows) to signal the end of "
    "input.\n  {{ProgramName}} expand --file -\n\n"
    "  # Expand a virtual machine called myvm and display output in json format.\n"
    "  {{ProgramName}} expand --vm myvm --output json\n  "
)

def validate_expand(vm: str, file: str, output: str) -> None:
    """virtctl's Args check (after the 0-args check, before the --vm/--file exclusivity check)."""
    if not vm and not file:
        raise UsageError("error invalid arguments - VirtualMachine name or file must be provided")
    if output not in ("yaml", "json"):
        raise UsageError(f"error not supported output format defined: {output}")


def _go_yaml_problem(e: Exception) -> str:
    """A PyYAML error in go-yaml's words (the messages people actually hit)."""
    problem = getattr(e, "problem", None) or str(e)
    problem = {
        "mapping values are not allowed here": "mapping values are not allowed in this context",
    }.get(problem, problem)
    mark = getattr(e, "problem_mark", None)
    where = ""
    if mark is not None and mark.line != 0:
        where = f"line {mark.line + 1}: "
    return f"yaml: {where}{problem}"


def decode_vm(data: bytes) -> dict:
    """k8s' YAMLOrJSONDecoder: JSON when the text starts with '{', otherwise the first YAML document."""
    import json

    text = data.decode("utf-8", errors="replace")
    if text.lstrip().startswith("{"):
        try:
            obj = json.JSONDecoder().raw_decode(text.lstrip())[0]
        except ValueError as e:
            raise CLIError(f"error decoding VirtualMachine {e}") from None
    else:
        import yaml

        try:
            docs = yaml.safe_load_all(text)
            obj = next(iter(docs), None)
        except yaml.YAMLError as e:
            raise CLIError(f"error decoding VirtualMachine error converting YAML to JSON: {_go_yaml_problem(e)}") from None
    if obj is None:
        obj = {}
    if not isinstance(obj, dict):
        raise CLIError(
            "error decoding VirtualMachine json: cannot unmarshal "
            f"{'array' if isinstance(obj, list) else 'string' if isinstance(obj, str) else 'number'}"
            " into Go value of type v1.VirtualMachine"
        )
    return _jsonable(obj)


def _jsonable(obj: Any) -> Any:
    """YAML timestamps/dates become strings, as they do after YAML-to-JSON conversion."""
    import datetime

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, datetime.datetime):
        return obj.isoformat().replace("+00:00", "Z")
    if isinstance(obj, datetime.date):
        return obj.isoformat()
    return obj


def read_vm(path: str, stdin: Any = None) -> dict:
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        try:
            data = stream.read()
        except OSError as e:
            raise CLIError(f"error reading from stdin: read /dev/stdin: {(e.strerror or str(e)).lower()}") from None
    else:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except IsADirectoryError:
            raise CLIError(f"error reading file read {path}: is a directory") from None
        except OSError as e:
            raise CLIError(f"error reading file open {path}: {(e.strerror or str(e)).lower()}") from None
    if isinstance(data, str):
        data = data.encode()
    return decode_vm(data)


def go_typed(vm: dict) -> dict:
    """The VirtualMachine as virtctl holds it: decoded into Go's typed struct (unknown fields dropped,
    kubevirt.io/api's field order, `omitempty`), as json.Marshal writes it back."""
    from pyvirtctl.kubevirt.templates import typed

    try:
        return typed.marshal(typed.decode_json(vm))
    except typed.TypedError as e:
        raise CLIError(f"error decoding VirtualMachine {e.message}") from None


def render(vm: dict, output: str) -> str:
    vm = go_typed(vm)
    if output == "json":
        return go_json(vm, " ")
    return go_yaml(vm)


def run_expand(s: Any, vm_name: str, file: str, output: str) -> str:
    ns = s.namespace
    if vm_name:
        prefix = f"error expanding VirtualMachine - {vm_name} in namespace - {ns}: "
        with prefixed(prefix):
            request = expand_vm_request(ns, vm_name)
    else:
        vm = go_typed(read_vm(file))
        name = vm["metadata"].get("name", "")
        prefix = f"error expanding VirtualMachine - {name} in namespace - {ns}: "
        with prefixed(prefix):
            request = expand_spec_request(ns, vm)
    resp = s.send(request, error_prefix=prefix)
    try:
        expanded = resp.json()
    except ValueError as e:
        raise CLIError(f"{prefix}{e}") from None
    return render(expanded if isinstance(expanded, dict) else {}, output)


@go_command(
    "expand",
    use="expand (VM)",
    short="Return the VirtualMachine object with expanded instancetype and preference.",
    example=EXAMPLE,
    args=exact_args(0),
)
def expand_cmd(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument()] = [],  # noqa: B006 - click copies defaults
    vm: Annotated[
        str,
        typer.Option(
            "--vm",
            autocompletion=comp.complete_vm_names_many,
            help='Specify VirtualMachine name that should be expanded. Mutually exclusive with "--file" flag.',
        ),
    ] = "",
    file: Annotated[
        str,
        typer.Option(
            "--file",
            "-f",
            help='If present, the Virtual Machine spec in provided file will be expanded. Mutually exclusive with "--vm" flag.',
        ),
    ] = "",
    output: Annotated[
        str, typer.Option("--output", "-o", autocompletion=comp.complete_output_formats, help="Specify a format that will be used to display output.")
    ] = "yaml",
) -> None:
    validate_expand(vm, file, output)
    if given(ctx, "vm") and given(ctx, "file"):
        raise UsageError("if any flags in the group [file vm] are set none of the others can be; [file vm] were all set")
    s = session(ctx)
    text = run_expand(s, vm, file, output)
    sys.stdout.write(text)
    sys.stdout.flush()
