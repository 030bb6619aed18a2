"""What a running command needs from its surroundings: the global flags, one Session, the streams.

Commands call `session(ctx)` (virtctl's ClientAndNamespaceFromContext). The session is built once per
run; `cli.main` reuses it (or the parsed flags) for the version-mismatch hint after an error, and
closes it at the end.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import IO as TextStream
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyvirtctl.kube.flags import GlobalFlags
    from pyvirtctl.kube.session import Session

# the current run's session, built on first use and closed by cli.main
_state: dict[str, Any] = {}


def root_params(ctx: Any) -> dict[str, Any]:
    return dict(ctx.find_root().params)


def global_flags(ctx: Any) -> GlobalFlags:
    from pyvirtctl.kube.flags import GlobalFlags

    return GlobalFlags.from_params(root_params(ctx))


def session(ctx: Any, error_prefix: str = "") -> Session:
    """The run's Session (client + namespace), built on first use.

    A client that cannot be built raises ConfigError like virtctl; `error_prefix` is the command's
    wording for it (`cannot obtain KubeVirt client: ` in console/expose/vnc, capitalised in pause).
    """
    cached = _state.get("session")
    if cached is not None:
        return cached
    from pyvirtctl.errors import ConfigError
    from pyvirtctl.kube.session import Session

    try:
        s = Session.from_flags(global_flags(ctx))
    except ConfigError as e:
        if error_prefix:
            raise e.wrap(error_prefix) from None
        raise
    _state["session"] = s
    return s


def last_session(params: dict[str, Any] | None = None) -> Session | None:
    """The session of this run if one was built, else one built from the parsed flags (or None)."""
    s = _state.get("session")
    if s is not None:
        return s
    if params is None:
        return None
    from pyvirtctl.kube.flags import GlobalFlags
    from pyvirtctl.kube.session import Session

    return Session.from_flags(GlobalFlags.from_params(params))


def close() -> None:
    """Close the run's session, if one was built."""
    s = _state.pop("session", None)
    if s is not None:
        s.close()


def reset() -> None:
    _state.clear()


@dataclass
class IO:
    """The streams a command writes to; tests may swap them."""

    out: TextStream[str] = field(default_factory=lambda: sys.stdout)
    err: TextStream[str] = field(default_factory=lambda: sys.stderr)
    inp: TextStream[str] = field(default_factory=lambda: sys.stdin)

    def print(self, text: str = "", end: str = "\n") -> None:
        self.out.write(text + end)
        self.out.flush()

    def eprint(self, text: str = "", end: str = "\n") -> None:
        self.err.write(text + end)
        self.err.flush()

    @classmethod
    def std(cls) -> IO:
        return cls()
