"""Demo commands that print what they parsed: the harness for the cobra/pflag argv table."""

from __future__ import annotations

from typing import Annotated

import typer

from pyvirtctl.goflags import exact_args, go_command, minimum_args, no_args


def _root(ctx: typer.Context) -> str:
    p = ctx.find_root().params
    shown = {
        "namespace": p["namespace"],
        "kubeconfig": p["kubeconfig"],
        "context": p["context"],
        "insecure": p["insecure_skip_tls_verify"],
        "as_group": p["as_group"],
    }
    return repr(shown)


@go_command("start", use="start (VM)", short="Start a virtual machine.", args=exact_args(1))
def start(
    ctx: typer.Context,
    name: Annotated[list[str], typer.Argument()],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="dry")] = False,
    paused: Annotated[bool, typer.Option("--paused", help="paused")] = False,
) -> None:
    print(_root(ctx), f"start {name[0]} dry_run={dry_run} paused={paused}")


@go_command("stop", use="stop (VM)", short="Stop a virtual machine.", args=exact_args(1))
def stop(
    ctx: typer.Context,
    name: Annotated[list[str], typer.Argument()],
    force: Annotated[bool, typer.Option("--force")] = False,
    grace_period: Annotated[int, typer.Option("--grace-period")] = -1,
) -> None:
    print(f"force={force} grace={grace_period}")


@go_command("kvm", use="kvm", short="kvm", args=exact_args(0))
def kvm(ctx: typer.Context, kvm: Annotated[bool, typer.Option("--kvm")] = True) -> None:
    print(f"kvm={kvm}")


@go_command("version", use="version", short="version", args=no_args)
def version(ctx: typer.Context, client: Annotated[bool, typer.Option("--client", "-c")] = False) -> None:
    print(f"client={client}")


@go_command("port-forward", use="port-forward", short="pf", args=minimum_args(2))
def port_forward(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument()],
    stdio: Annotated[bool, typer.Option("--stdio")] = False,
    address: Annotated[str, typer.Option("--address")] = "127.0.0.1",
) -> None:
    print(f"pf {args[0]} {args[1:]} stdio={stdio} {ctx.find_root().params['namespace']}")


@go_command("expose", use="expose (TYPE NAME)", short="expose", args=exact_args(2))
def expose(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument()],
    name: Annotated[str, typer.Option("--name")] = ...,  # type: ignore[assignment]
) -> None:
    print(f"expose {args} {name}")


@go_command("verbosity", use="verbosity", short="verbosity", args=no_args, go_types={"level": "uint"},
            no_opt_defaults={"level": "10"})
def verbosity(
    ctx: typer.Context,
    level: Annotated[int, typer.Option("--level", "-l", help="level (0-9)")] = 11,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    print(f"level={level} quiet={quiet}")


REGISTRY = {
    "expose": ("tests.unit.argv_demo:expose", "expose"),
    "kvm": ("tests.unit.argv_demo:kvm", "kvm"),
    "port-forward": ("tests.unit.argv_demo:port_forward", "pf"),
    "start": ("tests.unit.argv_demo:start", "Start a virtual machine."),
    "stop": ("tests.unit.argv_demo:stop", "Stop a virtual machine."),
    "verbosity": ("tests.unit.argv_demo:verbosity", "verbosity"),
    "version": ("tests.unit.argv_demo:version", "version"),
}
