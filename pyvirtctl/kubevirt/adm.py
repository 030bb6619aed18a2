"""`adm log-verbosity`: show, set or reset the log verbosity of KubeVirt's components.

The verbosity lives in the cluster's one KubeVirt CR, `spec.configuration.developerConfiguration.
logVerbosity` (`virtAPI`, `virtController`, `virtHandler`, `virtLauncher`, `virtOperator`; a missing
entry means the default, 2). The flow is virtctl v1.9's:

1. decide the operation from the flags (pure, `operation`): each component flag is "not given" (11),
   "show" (10, what a bare `--virt-handler` means) or a level 0-9; show and set cannot be mixed;
   `--reset` counts as a set;
2. find the CR: LIST kubevirts in every namespace (exactly one must exist), then GET it;
3. show: one `component=level` line per asked component, sorted; set: one JSON patch that (re)creates
   `developerConfiguration` if needed, empties `logVerbosity` for `--reset` (only when it holds
   something) and adds the new levels merged over the current ones.

The CR's levels are read the way virtctl's typed client reads them: zero levels vanish (the API type
omits empty fields), unknown fields are dropped, and a `nodeVerbosity` map makes the read fail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from pyvirtctl.errors import CLIError, InputError
from pyvirtctl.kube import paths
from pyvirtctl.kube.request import Request

if TYPE_CHECKING:
    from pyvirtctl.kube.session import Session

COMPONENTS = ("virt-api", "virt-controller", "virt-handler", "virt-launcher", "virt-operator")
ALL = "all"
JSON_NAMES = {
    "virt-api": "virtAPI",
    "virt-controller": "virtController",
    "virt-handler": "virtHandler",
    "virt-launcher": "virtLauncher",
    "virt-operator": "virtOperator",
}
# every level field of the API type (virtSynchronizationController has no flag but is kept on a set)
LEVEL_FIELDS = (*JSON_NAMES.values(), "virtSynchronizationController")
DEFAULT_LEVEL = 2
MIN_LEVEL, MAX_LEVEL = 0, 9
SHOW = 10  # the value of a component flag given without `=N`
NOT_GIVEN = 11  # the value of a component flag not given at all
DC_PATH = "/spec/configuration/developerConfiguration"
LV_PATH = DC_PATH + "/logVerbosity"
JSON_PATCH = "application/json-patch+json"
NO_FLAG = "no flag specified - expecting at least one flag"
DONE = "successfully set/reset the log verbosity"


class LogVerbosityOptions(NamedTuple):
    """The flags as typed: component (or `all`) -> level, 10 meaning "show"; `reset`."""

    levels: dict[str, int]
    reset: bool = False


class NoFlagError(InputError):
    """No component flag and no --reset: virtctl prints the command's help, then this error."""


def operation(o: LogVerbosityOptions) -> str:
    """"show" or "set" (a reset is a set); raises for a level out of range, show mixed with set, or no flag.

    Levels are checked first, in the order of the flags' declaration, as virtctl reports them."""
    show = set_ = False
    for component in (*COMPONENTS, ALL):
        if component not in o.levels:
            continue
        level = o.levels[component]
        if level != SHOW and not MIN_LEVEL <= level <= MAX_LEVEL:
            raise InputError(f"{component}: log verbosity must be {MIN_LEVEL}-{MAX_LEVEL}")
        show = show or level == SHOW
        set_ = set_ or level != SHOW
    set_ = set_ or o.reset
    if show and set_:
        raise InputError("only show or set is allowed")
    if show:
        return "show"
    if set_:
        return "set"
    raise NoFlagError(NO_FLAG)


def current_levels(kv: dict[str, Any]) -> tuple[dict[str, int], bool]:
    """(the CR's levels by JSON name, whether developerConfiguration exists)."""
    dc = ((kv.get("spec") or {}).get("configuration") or {}).get("developerConfiguration")
    if not isinstance(dc, dict):
        return {}, False
    lv = dc.get("logVerbosity")
    if not isinstance(lv, dict):
        return {}, True
    if lv.get("nodeVerbosity"):
        raise CLIError("json: cannot unmarshal object into Go struct field .nodeVerbosity of type uint")
    levels = {}
    for name in LEVEL_FIELDS:
        value = lv.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value:
            levels[name] = value
    return levels, True


def show_lines(o: LogVerbosityOptions, current: dict[str, int]) -> list[str]:
    """`component=level` for each component asked about (all of them with --all), sorted."""
    every = ALL in o.levels
    lines = []
    for component in COMPONENTS:
        if every or component in o.levels:
            lines.append(f"{component}={current.get(JSON_NAMES[component], DEFAULT_LEVEL)}")
    return sorted(lines)


def verbosity_patch(o: LogVerbosityOptions, current: dict[str, int], has_dc: bool) -> list[dict[str, Any]]:
    """The JSON patch of a set/reset ([] when there is nothing to change).

    As in virtctl, the emptied map a reset adds is the very map the new levels are then written into
    (Go marshals the patch at the end), so with `--reset --virt-handler=7` both operations carry
    `{"virtHandler": 7}`."""
    ops: list[dict[str, Any]] = []
    levels = dict(current)
    if o.reset and levels:
        if not has_dc:
            ops.append({"op": "add", "path": DC_PATH, "value": {}})
            has_dc = True
        levels = {}
        ops.append({"op": "add", "path": LV_PATH, "value": levels})
    if ALL in o.levels:
        for name in JSON_NAMES.values():
            levels[name] = o.levels[ALL]
    for component in COMPONENTS:
        if component in o.levels:
            levels[JSON_NAMES[component]] = o.levels[component]
    if levels:
        if not has_dc:
            ops.append({"op": "add", "path": DC_PATH, "value": {}})
        ops.append({"op": "add", "path": LV_PATH, "value": levels})
    final = dict(sorted(levels.items()))  # Go writes map keys sorted
    return [{**op, "value": final} if op["value"] is levels else op for op in ops]


# --------------------------------------------------------------------------- requests and the flow


def list_request() -> Request:
    return Request("GET", paths.collection(paths.KUBEVIRTS, None))


def get_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.ref(paths.KUBEVIRTS, namespace, name))


def patch_request(namespace: str, name: str, ops: list[dict[str, Any]]) -> Request:
    return Request("PATCH", paths.ref(paths.KUBEVIRTS, namespace, name), body=ops, content_type=JSON_PATCH)


def find_kubevirt(session: Session) -> dict[str, Any]:
    """The cluster's one KubeVirt CR (listed in every namespace, then read)."""
    items = session.send(list_request(), error_prefix="could not list KubeVirt CRs across all namespaces: ").json()
    found = [i for i in items.get("items") or [] if isinstance(i, dict)]
    if not found:
        raise CLIError("could not detect a KubeVirt installation")
    if len(found) > 1:
        raise CLIError("invalid kubevirt installation, more than one KubeVirt resource found")
    meta = found[0].get("metadata") or {}
    return dict(session.send(get_request(str(meta.get("namespace", "")), str(meta.get("name", "")))).json())


def log_verbosity(session: Session, o: LogVerbosityOptions) -> list[str]:
    """Run `adm log-verbosity`; returns the lines virtctl prints (none when a reset had nothing to do)."""
    op = operation(o)
    kv = find_kubevirt(session)
    current, has_dc = current_levels(kv)
    if op == "show":
        return show_lines(o, current)
    ops = verbosity_patch(o, current, has_dc)
    if not ops:
        return []
    meta = kv.get("metadata") or {}
    session.send(patch_request(str(meta.get("namespace", "")), str(meta.get("name", "")), ops))
    return [DONE]
