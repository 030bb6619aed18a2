"""Entry point: `main(argv) -> int` is the one place where errors become messages and exit codes.

Like virtctl's Execute: a command error is printed as one line on stderr (no prefix, no usage dump),
preceded by the client/server version-mismatch hint when the two minor versions really differ,
and the exit status is 1. Success, `--help` and the bare command listing exit 0.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from pyvirtctl.errors import CLIError, InputError, TransportError
from pyvirtctl.progname import complete_var, program_name


def _version_hint(error: CLIError, params: dict[str, Any] | None = None) -> str | None:
    """virtctl runs a version check after every error; we print its hint only on a real skew."""
    if isinstance(error, TransportError):
        return None  # the probe would fail the same way; virtctl's second copy of the error helps nobody
    if isinstance(error, InputError):
        return None  # the command line is wrong: say so at once, without contacting the server
    try:
        from pyvirtctl import runtime
        from pyvirtctl.version import mismatch_hint

        s = runtime.last_session(params)
        if s is None:
            return None
        info = s.server_version(timeout=5.0)
        return mismatch_hint(str(info.get("gitVersion", "")))
    except Exception:
        return None


def report(error: CLIError, params: dict[str, Any] | None = None) -> int:
    """Print a command's error (after the version-skew hint, when `params` lets us probe); exit status 1."""
    hint = _version_hint(error, params)
    if hint:
        print(hint, file=sys.stderr)
    print(error.message, file=sys.stderr)
    extra = getattr(error, "hint", "")  # kubectl's advice for an unconfigured client (kube/session.py)
    if extra:
        print(extra, file=sys.stderr)
    sys.stderr.flush()
    return 1


INTERNAL_ERROR_PREFIX = "internal error: "


def report_internal(error: BaseException) -> int:
    """An exception no layer turned into a CLIError: print it as one line (PYVIRTCTL_TRACEBACK=1: in full)."""
    if os.environ.get("PYVIRTCTL_TRACEBACK"):
        import traceback

        traceback.print_exception(error, file=sys.stderr)
    text = " ".join(str(error).split())
    print(
        f"{INTERNAL_ERROR_PREFIX}{type(error).__name__}{': ' + text if text else ''}"
        " (a pyvirtctl bug; PYVIRTCTL_TRACEBACK=1 shows where)",
        file=sys.stderr,
    )
    sys.stderr.flush()
    return 1


_OUTPUT_ERRORS = "pyvirtctl-output"


def _output_errors(exc: UnicodeError) -> tuple[str | bytes, int]:
    """Undecodable argv bytes (surrogate-escaped) are written back as the bytes they were, like Go
    does; other characters the terminal's encoding lacks become backslash escapes, never a crash."""
    import codecs

    if isinstance(exc, UnicodeEncodeError):
        chunk = exc.object[exc.start : exc.end]
        if all(0xDC80 <= ord(c) <= 0xDCFF for c in chunk):
            return codecs.lookup_error("surrogateescape")(exc)
        return codecs.lookup_error("backslashreplace")(exc)
    raise exc


def _tolerant_streams() -> None:
    import codecs

    try:
        codecs.lookup_error(_OUTPUT_ERRORS)
    except LookupError:
        codecs.register_error(_OUTPUT_ERRORS, _output_errors)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors=_OUTPUT_ERRORS)
            except (ValueError, OSError, TypeError):
                pass


def run() -> int:
    """The program's process entry point (`pyvirtctl`, `python -m pyvirtctl`): `main()` with the
    garbage collector paused for start-up (pyvirtctl.collector)."""
    from pyvirtctl import collector

    collector.pause()
    return main()


def main(argv: list[str] | None = None, argv0: str | None = None, registry: dict | None = None) -> int:
    argv0 = sys.argv[0] if argv0 is None else argv0
    args = sys.argv[1:] if argv is None else list(argv)
    prog = program_name(argv0)
    instruction = os.environ.get(complete_var(argv0))
    if instruction or args[:1] in (["__complete"], ["__completeNoDesc"]):
        from pyvirtctl.completion import engine as completion  # TAB: the shell protocols, never an error exit

        if instruction:
            return completion.respond(instruction, argv0, prog, registry)
        return completion.cobra_complete(args[1:], prog, registry, descriptions=args[0] == "__complete")
    from typer import exceptions as typer_exceptions

    from pyvirtctl import runtime
    from pyvirtctl.app import build_root
    from pyvirtctl.clickcompat import ClickException

    runtime.reset()
    _tolerant_streams()
    root = build_root(prog, registry)
    from pyvirtctl.streams.terminal import Terminated, exit_signals

    terminated: Terminated | None = None
    try:
        # SIGTERM/SIGHUP unwind the stack like Ctrl+C does, so every `finally` runs (terminal modes,
        # sockets, child viewers/ssh); the process then dies of the same signal, as virtctl would.
        with exit_signals():
            rv = root.main(args=args, prog_name=prog, complete_var=complete_var(argv0), standalone_mode=False)
    except Terminated as t:
        terminated = t
        rv = 128 + t.signum
    except CLIError as e:
        return report(e, root.run_params)
    except ClickException as e:  # a conversion click did itself; should not happen
        return report(CLIError(e.format_message()))
    except typer_exceptions.Abort:
        return 1
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep interpreter shutdown quiet
        except OSError:
            pass
        return 1
    except KeyboardInterrupt:
        # Ctrl+C outside the streaming commands (which handle it themselves): no traceback; the
        # shell sees the status a process killed by SIGINT has, like virtctl's
        return 128 + 2
    except Exception as e:  # a bug; still one line and exit 1, the traceback only on request
        return report_internal(e)
    finally:
        try:
            runtime.close()
        except Exception:
            pass
    if terminated is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        terminated.redeliver()
    return rv if isinstance(rv, int) else 0
