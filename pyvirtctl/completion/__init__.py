"""Shell completion: the completers commands attach (this package's API), the engine behind TAB,
names from the cluster, and the shell scripts.

Layout: ``completers`` (what commands import, stdlib only), ``names`` (fetching and caching),
``engine`` (resolving the word under the cursor, output formats, entry points), ``scripts`` (the
templates in ``scripts/*.in``).

How a TAB travels
-----------------
The generated script (``pyvirtctl completion bash|zsh|fish|powershell``, also shipped in
``completions/``) runs the program again with ``_<PROG>_COMPLETE=complete_<shell>`` and the command
line in ``COMP_LINE`` (cursor at ``COMP_POINT``). ``cli.main`` sees the variable and calls
:func:`respond`, which builds the root command (modules of other commands stay unimported), resolves
the words before the cursor with the same pflag rules as a real run, asks the right completer, and
prints one candidate per line (``value<TAB>description``) followed by a cobra-style directive line
``:N`` (2 = no space after the candidate, 4 = no file-name fallback). Cobra's own protocol is answered
too: ``pyvirtctl __complete WORDS... PARTIAL`` and the ``kubectl_complete-virt`` console script
(:func:`kubectl_complete`), which is what ``kubectl virt <TAB>`` executes (kubectl >= 1.26).

Attaching completers (for command authors)
------------------------------------------
Completers are ordinary Typer ``autocompletion`` callbacks with the signature
``(ctx, args, incomplete)``; they return ``(value, description)`` tuples or strings and never print.
Positionals are always one ``list[str]`` argument, so a completer that cares about *which* positional
is being typed reads :func:`completed_args` (the positionals already typed before the cursor).

    from pyvirtctl import completion as comp

    def console_cmd(ctx: typer.Context,
                    names: Annotated[list[str], typer.Argument(autocompletion=comp.complete_vmi_names)],
                    ...)
    # VM commands:                 autocompletion=comp.complete_vm_names
    # VMI commands (console, vnc, guestosinfo, userlist, fslist, soft-reboot, reset):
    #                              autocompletion=comp.complete_vmi_names
    # expose TYPE NAME:            autocompletion=comp.complete_expose_args   (vm|vmi|vmirs, then names)
    # pause/unpause TYPE NAME:     autocompletion=comp.complete_pause_args    (vm|vmi, then names)
    # port-forward / ssh targets:  autocompletion=comp.complete_target        ([user@]vm/NAME[/NAMESPACE])
    # scp SRC DST:                 autocompletion=comp.complete_scp_args      (targets with ':', else files)
    # enumerated flag values:      typer.Option("--type", autocompletion=comp.complete_service_types)
    #   also complete_protocols, complete_ip_families, complete_ip_family_policies,
    #   complete_vnc_types, complete_output_formats, or comp.choices("a", "b", ...) for your own.
    # a flag that takes a file:    typer.Option("--file", autocompletion=comp.complete_files)

A completer only lists *one* positional: return ``[]`` for positions the command does not take
(the ``complete_*_names`` helpers already stop after the first positional; use
``comp.names_at(index, kind)`` for another position). Keep command modules light: importing this
module costs nothing beyond the standard library.

Global flags complete on their own (``-n`` namespaces, ``--context``, ``--cluster``, ``--user``, file
flags such as ``--kubeconfig``). Names come from the cluster the typed flags select (flags after the
cursor count too), with a short deadline (:data:`DEFAULT_TIMEOUT`, ``PYVIRTCTL_COMPLETION_TIMEOUT``)
and a per-cluster/namespace cache of names only (``$XDG_CACHE_HOME/pyvirtctl``, 0700/0600, TTL
``PYVIRTCTL_COMPLETION_CACHE_TTL`` seconds, 0 disables). A slow or unreachable cluster yields no
candidates, never an error message or a hung shell.
"""


from __future__ import annotations

from pyvirtctl.completion.completers import *  # noqa: F403 - the completer API, re-exported
from pyvirtctl.completion.completers import __all__ as _completer_names
from pyvirtctl.completion.names import DEFAULT_CACHE_TTL, DEFAULT_TIMEOUT, list_names

__all__ = [*_completer_names, "DEFAULT_CACHE_TTL", "DEFAULT_TIMEOUT", "list_names", "main"]


def main() -> None:
    """The `kubectl_complete-virt` console script."""
    from pyvirtctl.completion.engine import main as run

    run()
