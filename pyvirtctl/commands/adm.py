"""adm log-verbosity: the flow is `pyvirtctl.kubevirt.adm.log_verbosity`; here the six optional-value
flags (pflag NoOptDefVal: `--virt-handler` alone means 10 = show, not given is 11) become its options.

Every flag is checked before anything is sent (virtctl reads the KubeVirt CR first and reports a bad
level or a show/set mix afterwards).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from pyvirtctl import completion as comp
from pyvirtctl.goflags import given, go_command, no_args
from pyvirtctl.runtime import session

LOG_VERBOSITY_SHORT = (
    "Show, Set or Reset log verbosity. The verbosity value must be 0-9. The default cluster config is normally 2.\n"
)
ADM_SUBCOMMANDS = [("log-verbosity", LOG_VERBOSITY_SHORT)]

LONG = """- To show the log verbosity of one or more components
  (when the log verbosity is unattended in the KubeVirt CR, show the default verbosity).
- To set the log verbosity of one or more components.
- To reset the log verbosity of all components
  (empty the log verbosity field, which means reset to the default verbosity).

- The components are <virt-api | virt-controller | virt-handler | virt-launcher | virt-operator>.
- Show and Set/Reset cannot coexist.
- The verbosity value must be 0-9. The default cluster config is normally 2.
- The verbosity value 10 is accepted but the operation is "show" instead of "set" (e.g. "--virt-api=10" = "--virt-api").
- Flag syntax must be "flag=arg" ("flag arg" not supported)."""

EXAMPLE = """  # reset (to default) log-verbosity for all components:
  {{ProgramName}} adm logVerbosity --reset

  # show log-verbosity for all components:
  {{ProgramName}} adm log-verbosity --all
  # set log-verbosity to 3 for all components:
  {{ProgramName}} adm log-verbosity --all=3

  # show log-verbosity for virt-handler:
  {{ProgramName}} adm log-verbosity --virt-handler
  # set log-verbosity to 7 for virt-handler:
  {{ProgramName}} adm log-verbosity --virt-handler=7

  # show log-verbosity for virt-handler and virt-launcher:
  {{ProgramName}} adm log-verbosity --virt-handler --virt-launcher
  # set log-verbosity for virt-handler to 7 and virt-launcher to 3:
  {{ProgramName}} adm log-verbosity --virt-handler=7 --virt-launcher=3

  # reset all components to default besides virt-handler which is 7:
  {{ProgramName}} adm log-verbosity --reset --virt-handler=7
  # set all components to 3 besides virt-handler which is 7:
  {{ProgramName}} adm log-verbosity --all=3 --virt-handler=7"""

# `--virt-api=<TAB>`: the levels (10 shows, like the bare flag)
complete_levels = comp.choices(*(str(n) for n in range(10)), ("10", "show the current level"))

# parameter name -> component (the flag's name)
PARAMS = {
    "virt_api": "virt-api",
    "virt_controller": "virt-controller",
    "virt_handler": "virt-handler",
    "virt_launcher": "virt-launcher",
    "virt_operator": "virt-operator",
    "all": "all",
}


def _level_option(component: str) -> Any:
    what = "all component" if component == "all" else component
    return typer.Option(f"--{component}", help=f"show/set {what} log verbosity (0-9)", autocompletion=complete_levels)


@go_command("adm", use="adm", short="Administrate KubeVirt configuration.", subcommands=ADM_SUBCOMMANDS)
def adm_cmd(ctx: typer.Context, args: Annotated[list[str], typer.Argument()] = []) -> None:  # noqa: B006
    from pyvirtctl.commands.create import _usage

    # virtctl prints the usage with Println: one more newline than `create` and `credentials`
    sys.stdout.write(_usage(ctx) + "\n")


@go_command(
    "adm log-verbosity",
    use="log-verbosity",
    short=LOG_VERBOSITY_SHORT,
    long=LONG,
    example=EXAMPLE,
    args=no_args,
    exclusive=[["reset", "all"]],
    go_types=dict.fromkeys(PARAMS, "uint"),
    no_opt_defaults=dict.fromkeys(PARAMS, "10"),
)
def log_verbosity_cmd(
    ctx: typer.Context,
    virt_api: Annotated[int, _level_option("virt-api")] = 11,
    virt_controller: Annotated[int, _level_option("virt-controller")] = 11,
    virt_handler: Annotated[int, _level_option("virt-handler")] = 11,
    virt_launcher: Annotated[int, _level_option("virt-launcher")] = 11,
    virt_operator: Annotated[int, _level_option("virt-operator")] = 11,
    all: Annotated[int, _level_option("all")] = 11,  # noqa: A002 - the flag's name
    reset: Annotated[bool, typer.Option(
        "--reset", help="reset log verbosity to the default verbosity (2) (empty the log verbosity)")] = False,
) -> None:
    from pyvirtctl.kubevirt import adm

    values = {"virt_api": virt_api, "virt_controller": virt_controller, "virt_handler": virt_handler,
              "virt_launcher": virt_launcher, "virt_operator": virt_operator, "all": all}
    levels = {PARAMS[p]: v for p, v in values.items() if given(ctx, p)}
    o = adm.LogVerbosityOptions(levels, reset)
    s = session(ctx)  # a broken kubeconfig is reported first, as in virtctl (building it sends nothing)
    try:
        adm.operation(o)
    except adm.NoFlagError:
        from pyvirtctl import helptext

        sys.stdout.write(helptext.command_help(ctx.command, ctx))
        sys.stdout.flush()
        raise
    for line in adm.log_verbosity(s, o):
        print(line)
