"""Shell completion: the engine behind TAB, the completers commands attach, and the shell scripts.

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

import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

DEFAULT_TIMEOUT = 1.5  # seconds a TAB may wait for the API server
DEFAULT_CACHE_TTL = 10.0  # seconds names stay fresh in the cache

# cobra's ShellCompDirective bits
NO_SPACE = 2
NO_FILE_COMP = 4

SHELLS = ("bash", "zsh", "fish", "powershell")

# resource kinds -> (API group path, plural)
_KINDS: dict[str, tuple[str, str]] = {
    "vm": ("/apis/kubevirt.io/v1", "virtualmachines"),
    "vmi": ("/apis/kubevirt.io/v1", "virtualmachineinstances"),
    "vmirs": ("/apis/kubevirt.io/v1", "virtualmachineinstancereplicasets"),
    "namespace": ("/api/v1", "namespaces"),
}
_ALIASES = {
    "vm": "vm",
    "vms": "vm",
    "virtualmachine": "vm",
    "virtualmachines": "vm",
    "vmi": "vmi",
    "vmis": "vmi",
    "virtualmachineinstance": "vmi",
    "virtualmachineinstances": "vmi",
    "vmirs": "vmirs",
    "vmirss": "vmirs",
    "virtualmachineinstancereplicaset": "vmirs",
    "virtualmachineinstancereplicasets": "vmirs",
}


# =============================================================================================
# The per-request state a completer may set (which shell fallback applies)


class _Request:
    directive = NO_FILE_COMP

    @classmethod
    def reset(cls) -> None:
        cls.directive = NO_FILE_COMP


def want_files() -> None:
    """Let the shell fall back to file names when the completer offers nothing (e.g. scp sources)."""
    _Request.directive &= ~NO_FILE_COMP


def no_space() -> None:
    """Do not add a space after the candidate (it is a prefix such as ``vm/``)."""
    _Request.directive |= NO_SPACE


# =============================================================================================
# Completers commands attach (Typer autocompletion callbacks)

Completer = Callable[[Any, list[str], str], list[Any]]


def completed_args(ctx: Any) -> list[str]:
    """The positionals typed before the word being completed."""
    return list(ctx.meta.get("pyvirtctl.positionals") or [])


def _root_params(ctx: Any) -> dict[str, Any]:
    return dict(ctx.find_root().params)


def _match(items: Iterable[tuple[str, str]], incomplete: str) -> list[tuple[str, str]]:
    return [(v, h) for v, h in items if v.startswith(incomplete)]


def names_at(index: int, kind: str) -> Completer:
    """A completer for the names of `kind` (vm, vmi, vmirs, namespace) at positional `index` only."""

    def complete(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
        if len(completed_args(ctx)) != index:
            return []
        return _match(list_names(_root_params(ctx), kind), incomplete)

    return complete


def names_anywhere(kind: str) -> Completer:
    """A completer for commands that take several names: every position, minus names already typed."""

    def complete(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
        typed = set(completed_args(ctx))
        return [(n, h) for n, h in _match(list_names(_root_params(ctx), kind), incomplete) if n not in typed]

    return complete


complete_vm_names_many = names_anywhere("vm")
complete_vm_names_many.__doc__ = "Names of VirtualMachines at any position (bulk start/stop/restart)."
complete_vm_names = names_at(0, "vm")
complete_vm_names.__doc__ = "Names of VirtualMachines (first positional), with their printable status."
complete_vmi_names = names_at(0, "vmi")
complete_vmi_names.__doc__ = "Names of VirtualMachineInstances (first positional), with their phase."


def complete_namespaces(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    return _match(list_names(_root_params(ctx), "namespace"), incomplete)


def _kubeconfig_names(ctx: Any, kind: str, incomplete: str) -> list[tuple[str, str]]:
    try:
        from pyvirtctl.kube.config import GlobalFlags, kubeconfig_names

        names = kubeconfig_names(GlobalFlags.from_params(_root_params(ctx)), kind)  # type: ignore[arg-type]
    except Exception:
        return []
    return [(n, "") for n in names if n.startswith(incomplete)]


def complete_contexts(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    return _kubeconfig_names(ctx, "contexts", incomplete)


def complete_clusters(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    return _kubeconfig_names(ctx, "clusters", incomplete)


def complete_users(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    return _kubeconfig_names(ctx, "users", incomplete)


def complete_files(ctx: Any, args: list[str], incomplete: str) -> list[str]:
    want_files()
    return []


def choices(*values: str | tuple[str, str]) -> Completer:
    """A completer for a fixed set of flag values (strings or (value, description) pairs).

    Matching is by prefix and case-sensitive, like cobra and Typer; the canonical spelling is offered."""
    items = [(v, "") if isinstance(v, str) else v for v in values]

    def complete(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
        return [(v, h) for v, h in items if v.startswith(incomplete)]

    return complete


complete_service_types = choices("ClusterIP", "NodePort", "LoadBalancer")
complete_protocols = choices("TCP", "UDP")
complete_ip_families = choices("IPv4", "IPv6", "IPv4,IPv6", "IPv6,IPv4")
complete_ip_family_policies = choices("SingleStack", "PreferDualStack", "RequireDualStack")
complete_vnc_types = choices("tiger", "chicken", "real", "remote-viewer")
complete_output_formats = choices("json", "yaml")
complete_bool = choices("true", "false")

_TYPE_HELP = {
    "vm": "VirtualMachine",
    "vmi": "VirtualMachineInstance",
    "vmirs": "VirtualMachineInstanceReplicaSet",
}


def type_then_name(*kinds: str) -> Completer:
    """TYPE NAME commands: the first positional is one of `kinds`, the second a name of that type."""

    def complete(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
        typed = completed_args(ctx)
        if not typed:
            return [(k, _TYPE_HELP.get(k, "")) for k in kinds if k.startswith(incomplete.lower())]
        if len(typed) == 1:
            kind = _ALIASES.get(typed[0].lower())
            if kind in kinds:
                return _match(list_names(_root_params(ctx), kind), incomplete)
        return []

    return complete


complete_pause_args = type_then_name("vm", "vmi")


def complete_memory_dump_args(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    """memory-dump ACTION VM: the action, then VM names."""
    if not completed_args(ctx):
        return _match([("get", "dump the memory"), ("download", "download the last dump"),
                       ("remove", "drop the dump association")], incomplete)
    return names_anywhere("vm")(ctx, args, incomplete)
complete_expose_args = type_then_name("vmi", "vm", "vmirs")
# kept under the name the design notes use
complete_type_then_name = complete_expose_args


def _target_candidates(ctx: Any, text: str, *, suffix: str = "") -> list[tuple[str, str]]:
    """`[user@]type/name[/namespace]` completion for the partial target `text`."""
    user, at, rest = text.rpartition("@")
    head = f"{user}{at}"
    parts = rest.split("/")
    if len(parts) == 1:
        no_space()
        return [(f"{head}{k}/", _TYPE_HELP[k]) for k in ("vmi", "vm") if k.startswith(parts[0].lower())]
    kind = _ALIASES.get(parts[0].lower())
    if kind not in ("vm", "vmi"):
        return []
    params = _root_params(ctx)
    if len(parts) == 2:
        if suffix:
            no_space()
        return [
            (f"{head}{parts[0]}/{n}{suffix}", h) for n, h in list_names(params, kind) if n.startswith(parts[1])
        ]
    if len(parts) == 3:
        if suffix:
            no_space()
        return [
            (f"{head}{parts[0]}/{parts[1]}/{n}{suffix}", "")
            for n, _ in list_names(params, "namespace")
            if n.startswith(parts[2])
        ]
    return []


def complete_target(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    """port-forward and ssh: the first positional is `[user@]type/name[/namespace]`."""
    if completed_args(ctx):
        return []
    return _target_candidates(ctx, incomplete)


def complete_scp_args(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    """scp SRC DST: a word that looks like a target (has `/` before any `:`, or `@`) completes as
    `[user@]type/name[/namespace]:`; anything else is a local path (the shell completes files)."""
    if len(completed_args(ctx)) > 1:
        return []
    if ":" in incomplete:
        want_files()  # a remote path: nothing to offer, let the shell decide
        return []
    looks_remote = "@" in incomplete or (
        "/" in incomplete and _ALIASES.get(incomplete.rpartition("@")[2].split("/")[0].lower()) is not None
    )
    if looks_remote:
        return _target_candidates(ctx, incomplete, suffix=":")
    want_files()
    kinds = [(f"{k}/", _TYPE_HELP[k]) for k in ("vmi", "vm") if incomplete and k.startswith(incomplete.lower())]
    if kinds:
        no_space()
    return kinds


def complete_shells(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    if completed_args(ctx):
        return []
    return [(s, "") for s in SHELLS if s.startswith(incomplete)]


def complete_command_names(ctx: Any, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    root = ctx.find_root().command
    words = completed_args(ctx)
    registry = getattr(root, "registry", {})
    if not words:
        return [(n, registry[n][1] or "") for n in root.visible_names() if n.startswith(incomplete)]
    if len(words) == 1:
        prefix = words[0] + " "
        return [
            (n[len(prefix) :], s or "")
            for n, (_, s) in registry.items()
            if n.startswith(prefix) and n[len(prefix) :].startswith(incomplete)
        ]
    return []


# The root's global flags: value completers by parameter name (commands need not repeat these).
_FILE_FLAGS = ("kubeconfig", "certificate_authority", "client_certificate", "client_key")
GLOBAL_FLAG_COMPLETERS: dict[str, Completer] = {
    "namespace": complete_namespaces,
    "context": complete_contexts,
    "cluster": complete_clusters,
    "user": complete_users,
    **{name: complete_files for name in _FILE_FLAGS},
}


# =============================================================================================
# Names from the cluster (config.py for the connection; one GET; cached)


def _timeout() -> float:
    try:
        return max(0.05, float(os.environ.get("PYVIRTCTL_COMPLETION_TIMEOUT", DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT


def _cache_ttl() -> float:
    try:
        return max(0.0, float(os.environ.get("PYVIRTCTL_COMPLETION_CACHE_TTL", DEFAULT_CACHE_TTL)))
    except ValueError:
        return DEFAULT_CACHE_TTL


def cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pyvirtctl")


# flags that select a cluster, a user or a namespace. Secrets (token, password) are deliberately
# left out: the key must not depend on (or leak a hash of) a credential.
_KEY_FLAGS = (
    "kubeconfig context cluster user namespace server as_user as_group as_uid username "
    "certificate_authority client_certificate tls_server_name proxy_url insecure_skip_tls_verify"
).split()


def _cache_key(params: dict[str, Any], kind: str, namespace: str) -> str:
    import hashlib
    import json

    files = [params.get("kubeconfig") or ""] if params.get("kubeconfig") else (
        (os.environ.get("KUBECONFIG") or os.path.join(os.path.expanduser("~"), ".kube", "config")).split(os.pathsep)
    )
    stamps = []
    for f in files:
        try:
            st = os.stat(f)
            stamps.append([f, st.st_mtime_ns, st.st_size])
        except OSError:
            stamps.append([f, 0, 0])
    material = {
        "kind": kind,
        "namespace": namespace,
        "flags": {k: params.get(k) for k in _KEY_FLAGS if params.get(k)},
        "files": stamps,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _cache_read(key: str, ttl: float) -> list[tuple[str, str]] | None:
    import json
    import time

    if ttl <= 0:
        return None
    path = os.path.join(cache_dir(), f"names-{key}.json")
    try:
        st = os.stat(path)
        if time.time() - st.st_mtime > ttl or st.st_uid != os.getuid():
            return None
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return [(str(n), str(h)) for n, h in data["items"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cache_write(key: str, items: list[tuple[str, str]]) -> None:
    import json
    import time

    if _cache_ttl() <= 0:
        return
    d = cache_dir()
    try:
        os.makedirs(d, mode=0o700, exist_ok=True)
        tmp = os.path.join(d, f".names-{key}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"items": items}, fh)
        os.replace(tmp, os.path.join(d, f"names-{key}.json"))
        # keep the directory small: drop entries nobody read for a day
        now = time.time()
        for name in os.listdir(d):
            p = os.path.join(d, name)
            if name.startswith("names-") and now - os.stat(p).st_mtime > 86400:
                os.unlink(p)
    except OSError:
        pass


def _describe(obj: dict[str, Any], kind: str) -> str:
    status = obj.get("status") or {}
    if kind == "vm":
        return str(status.get("printableStatus") or "")
    if kind in ("vmi", "namespace"):
        return str(status.get("phase") or "")
    return ""


def parse_list(body: bytes, kind: str) -> list[tuple[str, str]]:
    """(name, description) pairs from a List or a meta.k8s.io Table response, sorted by name."""
    import json

    doc = json.loads(body)
    out: list[tuple[str, str]] = []
    if doc.get("kind") == "Table":
        cols = [c.get("name", "") for c in doc.get("columnDefinitions") or []]
        want = next((i for i, c in enumerate(cols) if c in ("Status", "Phase")), None)
        for row in doc.get("rows") or []:
            cells = row.get("cells") or []
            name = ((row.get("object") or {}).get("metadata") or {}).get("name") or (cells[0] if cells else "")
            help_ = str(cells[want]) if want is not None and want < len(cells) else ""
            if name:
                out.append((str(name), help_))
    else:
        for item in doc.get("items") or []:
            name = (item.get("metadata") or {}).get("name")
            if name:
                out.append((str(name), _describe(item, kind)))
    out.sort()
    return out


_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def _fetch(cfg: Any, path: str) -> bytes:
    """One GET through the connection layer's transport (TLS, proxy rule, auth); raises on any failure."""
    from pyvirtctl.kube.transport import Transport

    transport = Transport.for_config(cfg)
    headers = [
        # a Table answers with names and the status column only; plain JSON is the fallback
        ("Accept", _ACCEPT),
        ("User-Agent", "pyvirtctl-completion"),
        *cfg.auth_header_items(),  # Impersonate-Group may repeat: one header line each
    ]
    try:
        resp = transport.request("GET", cfg.server.rstrip("/") + path, headers=headers, timeout=_timeout())
    finally:
        transport.close()
    if resp.status != 200:
        raise OSError(f"HTTP {resp.status}")
    return resp.body


def _fetch_names(params: dict[str, Any], kind: str) -> list[tuple[str, str]]:
    from pyvirtctl.kube.config import GlobalFlags, load_config

    cfg = load_config(GlobalFlags.from_params(params))
    group, plural = _KINDS[kind]
    from urllib.parse import quote

    if kind == "namespace":
        path = f"{group}/{plural}"
    else:
        path = f"{group}/namespaces/{quote(cfg.namespace, safe='')}/{plural}"
    return parse_list(_fetch(cfg, path), kind)


def _resolve_namespace(params: dict[str, Any]) -> str:
    from pyvirtctl.kube.config import GlobalFlags, resolve_namespace

    return resolve_namespace(GlobalFlags.from_params(params))


def list_names(params: dict[str, Any], kind: str, namespace: str | None = None) -> list[tuple[str, str]]:
    """Names of `kind` in the namespace the flags select (or `namespace`), [] on any problem.

    Waits at most the completion timeout; the answer is cached per cluster/user/namespace."""
    import threading

    params = dict(params)
    if namespace:
        params["namespace"] = namespace
    ttl = _cache_ttl()
    ns_hint = str(params.get("namespace") or "") if kind != "namespace" else ""
    key = _cache_key(params, kind, ns_hint)
    cached = _cache_read(key, ttl)
    if cached is not None:
        return cached
    result: list[list[tuple[str, str]]] = []

    def work() -> None:
        try:
            result.append(_fetch_names(params, kind))
        except BaseException:  # noqa: BLE001 - completion never reports errors
            pass

    t = threading.Thread(target=work, name="pyvirtctl-complete", daemon=True)
    t.start()
    t.join(_timeout())
    if not result:
        return []
    _cache_write(key, result[0])
    return result[0]


# =============================================================================================
# The engine: which completer answers the word under the cursor


def split_line(line: str) -> tuple[list[str], bool]:
    """Shell-like split that tolerates an unfinished quote; also says if the line ends in a new word."""
    import shlex

    lex = shlex.shlex(line, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""
    out: list[str] = []
    try:
        for tok in lex:
            out.append(tok)
    except ValueError:  # unterminated quote / escape: keep the partial token
        out.append(lex.token)
    ends_blank = (not line) or (line[-1] in " \t\n" and not (out and lex.token))
    return out, ends_blank


def parse_command_line(line: str, point: int | None = None) -> tuple[list[str], str, list[str]]:
    """(words before the cursor without the program, the partial word, complete words after it)."""
    point = len(line) if point is None else max(0, min(point, len(line)))
    head, tail = line[:point], line[point:]
    before, new_word = split_line(head)
    before = before[1:]  # the program name
    if new_word:
        incomplete = ""
    else:
        incomplete = before.pop() if before else ""
    after, _ = split_line(tail) if tail.strip() else ([], True)
    if after and tail and tail[0] not in " \t\n":
        after = after[1:]  # the rest of the word under the cursor
    return before, incomplete, after


def _flag_help(param: Any) -> str:
    text = (getattr(param, "help", "") or "").strip()
    if text.startswith("--") and ": " in text.split(" ", 1)[0] + " ":
        text = text.split(": ", 1)[1]
    return text.split("\n", 1)[0]


def _build_context(root: Any, prog: str, before: list[str]) -> Any:
    from typer._click.shell_completion import _resolve_context

    return _resolve_context(root, {}, prog, list(before))


def _apply_after(ctx: Any, after: list[str], table: dict[str, Any]) -> None:
    """Flags typed after the cursor also select the cluster and namespace."""
    from pyvirtctl.goflags import _apply, scan

    if not after:
        return
    res = scan(list(after), table, lenient=True)
    root = ctx.find_root()
    for fd, value in res.seen:
        _apply(root if fd.owner == "root" else ctx, fd, value)


def _pending_flag(words: list[str], table: dict[str, Any]) -> Any:
    """The flag whose value is the next word (the last word is a value-taking flag), else None."""
    pending = None
    for w in words:
        if pending is not None:
            pending = None
            continue
        if w == "--":
            return None
        if w.startswith("--") and len(w) > 2:
            fd = table.get(w)
            if fd is not None and "=" not in w and not fd.is_bool:
                pending = fd
        elif w.startswith("-") and len(w) > 1:
            # shorthand cluster: pflag gives the value to the first non-bool letter
            letters = w[1:]
            for i, c in enumerate(letters):
                fd = table.get("-" + c)
                if fd is None:
                    break
                if not fd.is_bool:
                    if i == len(letters) - 1:
                        pending = fd
                    break
    return pending


def _value_items(ctx: Any, fd: Any, incomplete: str) -> list[tuple[str, str]]:
    param = fd.param
    custom = getattr(param, "_custom_shell_complete", None)
    if custom is not None:
        raw = custom(ctx, param, incomplete)
    elif fd.owner == "root" and param.name in GLOBAL_FLAG_COMPLETERS:
        raw = GLOBAL_FLAG_COMPLETERS[param.name](ctx, [], incomplete)
    elif fd.is_bool:
        raw = complete_bool(ctx, [], incomplete)
    else:
        raw = []
    return _items(raw)


def _items(raw: Iterable[Any]) -> list[tuple[str, str]]:
    out = []
    for c in raw:
        if isinstance(c, tuple):
            out.append((str(c[0]), str(c[1] or "") if len(c) > 1 else ""))
        elif hasattr(c, "value"):
            out.append((str(c.value), str(getattr(c, "help", "") or "")))
        else:
            out.append((str(c), ""))
    return out


def _flag_names(ctx: Any, table: dict[str, Any], incomplete: str) -> list[tuple[str, str]]:
    out: dict[str, str] = {}
    for spelling, fd in table.items():
        if getattr(fd.param, "hidden", False):
            continue
        if spelling.startswith("--") or incomplete in ("-", spelling):
            if spelling.startswith(incomplete):
                out[spelling] = _flag_help(fd.param)
    if "--help".startswith(incomplete) and "--help" not in table:
        out["--help"] = "help for " + (ctx.info_name or "this command")
    if incomplete in ("-", "-h") and "-h" not in table:
        out["-h"] = "help for " + (ctx.info_name or "this command")
    return sorted(out.items())


def candidates(root: Any, prog: str, before: list[str], incomplete: str, after: list[str] = ()) -> list[tuple[str, str]]:
    """The (value, description) candidates for `incomplete`, given the words around it."""
    from pyvirtctl.goflags import GoCommand, flag_table

    ctx = _build_context(root, prog, before)
    cmd = ctx.command
    table = dict(flag_table(root, "root"))
    if isinstance(cmd, GoCommand):
        table.update(flag_table(cmd, "cmd"))
    _apply_after(ctx, list(after), table)

    dashdash = "--" in before
    if not dashdash:
        fd = _pending_flag(before, table)
        if fd is not None:
            return _value_items(ctx, fd, incomplete)
        if incomplete.startswith("--") and "=" in incomplete:
            name, _, value = incomplete.partition("=")
            fd = table.get(name)
            if fd is None:
                return []
            return [(f"{name}={v}", h) for v, h in _value_items(ctx, fd, value)]
        if incomplete.startswith("-"):
            return _flag_names(ctx, table, incomplete)
    if not isinstance(cmd, GoCommand):
        if ctx.command is root and not ctx._protected_args:  # no (unknown) command word yet
            return [(n, root.registry[n][1] or "") for n in root.visible_names() if n.startswith(incomplete)]
        return []
    items: list[tuple[str, str]] = []
    # `vnc <TAB>`: cobra subcommands of a runnable command come first
    if not completed_args(ctx):
        prefix = cmd.name + " "
        items.extend(
            (n[len(prefix) :], s or "")
            for n, (_, s) in root.registry.items()
            if n.startswith(prefix) and s is not None and n[len(prefix) :].startswith(incomplete)
        )
    for p in cmd.params:
        if getattr(p, "param_type_name", "") == "argument" and getattr(p, "_custom_shell_complete", None):
            items.extend(_items(p._custom_shell_complete(ctx, p, incomplete)))
            break
    else:
        if not items:
            want_files()
    return items


# =============================================================================================
# Output formats and the shell scripts


def _format(shell: str, items: list[tuple[str, str]], incomplete: str, directive: int) -> str:
    lines: list[str] = []
    if shell == "bash":
        # bash replaces only the text after the last COMP_WORDBREAKS character of the word
        breaks = os.environ.get("COMP_WORDBREAKS", "\"'><=;|&(:")
        cut = max((incomplete.rfind(c) for c in set(breaks) if c.strip()), default=-1) + 1
        lines = [v[cut:] if v.startswith(incomplete[:cut]) else v for v, _ in items]
    elif shell == "zsh":
        for v, h in items:
            v = v.replace("\\", "\\\\").replace(":", "\\:")
            lines.append(f"{v}:{_one_line(h)}" if h else v)
    else:  # fish, powershell, cobra
        lines = [f"{v}\t{_one_line(h)}" if h else v for v, h in items]
    lines.append(f":{directive}")
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _func_name(prog: str) -> str:
    return "_" + "".join(c if c.isalnum() else "_" for c in prog) + "_completion"


def script(shell: str, prog: str, complete_var: str) -> str:
    """The completion script for `shell` and the executable name `prog` (no spaces)."""
    fn = _func_name(prog)
    values = {"prog": prog, "fn": fn, "var": complete_var}
    template = _SCRIPTS[shell]
    out = template
    for k, v in values.items():
        out = out.replace("@" + k + "@", v)
    return out


_BASH = r"""# bash completion for @prog@                                -*- shell-script -*-
# Generated by `@prog@ completion bash`; do not edit.
# Load it with `source <(@prog@ completion bash)`, or install it as
# share/bash-completion/completions/@prog@ (bash-completion loads it on first use).

@fn@() {
    local out line directive=4
    local -a cands=()
    out=$(COMP_LINE="$COMP_LINE" COMP_POINT="$COMP_POINT" COMP_WORDBREAKS="$COMP_WORDBREAKS" \
          @var@=complete_bash "$1" 2>/dev/null) || return 0
    while IFS= read -r line; do
        case $line in
            :[0-9]*) directive=${line#:} ;;
            '') ;;
            *) cands+=("$line") ;;
        esac
    done <<< "$out"
    COMPREPLY=("${cands[@]}")
    if (( directive & 2 )); then
        compopt -o nospace 2>/dev/null
    fi
    if (( ${#COMPREPLY[@]} == 0 && !(directive & 4) )); then
        compopt -o default 2>/dev/null
    fi
    return 0
}

complete -F @fn@ @prog@
"""

_ZSH = r"""#compdef @prog@
# zsh completion for @prog@. Generated by `@prog@ completion zsh`; do not edit.
# Load it with `source <(@prog@ completion zsh)` (after compinit), or install it as
# share/zsh/site-functions/_@prog@ somewhere on $fpath.

@fn@() {
    local out line directive=4 before
    local -a cands opts
    before="${words[1,CURRENT-1]} ${PREFIX}"
    out=$(COMP_LINE="${before} ${SUFFIX} ${words[CURRENT+1,-1]}" COMP_POINT=${#before} \
          @var@=complete_zsh ${words[1]} 2>/dev/null) || return 1
    for line in "${(@f)out}"; do
        case $line in
            (:[0-9]*) directive=${line#:} ;;
            ('') ;;
            (*) cands+=("$line") ;;
        esac
    done
    if (( ${#cands} )); then
        (( directive & 2 )) && opts=(-S '')
        _describe -t @prog@-values '@prog@' cands "${opts[@]}"
    elif (( ! (directive & 4) )); then
        _files
    else
        return 1
    fi
}

if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
    @fn@ "$@"
else
    compdef @fn@ @prog@
fi
"""

_FISH = r"""# fish completion for @prog@. Generated by `@prog@ completion fish`; do not edit.
# Load it with `@prog@ completion fish | source`, or install it as
# share/fish/vendor_completions.d/@prog@.fish (or ~/.config/fish/completions/@prog@.fish).

function @fn@
    set -l prog (commandline -opc)[1]
    set -lx COMP_LINE (commandline -cp | string collect)
    set -lx @var@ complete_fish
    set -l out ($prog 2>/dev/null)
    set -l directive 4
    set -l cands
    for line in $out
        if string match -qr '^:[0-9]+$' -- $line
            set directive (string sub -s 2 -- $line)
        else if test -n "$line"
            set -a cands $line
        end
    end
    if test (count $cands) -eq 0
        if test (math "bitand($directive, 4)") -eq 0
            __fish_complete_path (commandline -ct)
        end
        return
    end
    printf '%s\n' $cands
end

complete -c @prog@ -f -a '(@fn@)'
"""

_POWERSHELL = r"""# powershell completion for @prog@. Generated by `@prog@ completion powershell`; do not edit.
# Load it with `@prog@ completion powershell | Out-String | Invoke-Expression`, e.g. from $PROFILE.

Register-ArgumentCompleter -Native -CommandName '@prog@' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $line = $commandAst.Extent.Text
    $point = $cursorPosition - $commandAst.Extent.StartOffset
    if ($point -gt $line.Length) { $line = $line + ' ' * ($point - $line.Length) }
    $program = $commandAst.CommandElements[0].Extent.Text
    $env:COMP_LINE = $line
    $env:COMP_POINT = "$point"
    $env:@var@ = 'complete_powershell'
    try {
        $out = @(& $program 2>$null)
    } finally {
        Remove-Item Env:COMP_LINE, Env:COMP_POINT, Env:@var@ -ErrorAction SilentlyContinue
    }
    $directive = 4
    $results = @()
    foreach ($line in $out) {
        if ($line -match '^:(\d+)$') { $directive = [int]$Matches[1]; continue }
        if ($line -eq '') { continue }
        $parts = $line -split "`t", 2
        $help = if ($parts.Length -gt 1 -and $parts[1]) { $parts[1] } else { $parts[0] }
        $results += [System.Management.Automation.CompletionResult]::new($parts[0], $parts[0], 'ParameterValue', $help)
    }
    if ($results.Count -eq 0 -and ($directive -band 4) -eq 0) { return }
    if ($results.Count -eq 0) { return '' }
    $results
}
"""

_SCRIPTS = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH, "powershell": _POWERSHELL}


# =============================================================================================
# Entry points


def _complete_words(
    before: list[str], incomplete: str, after: list[str], prog: str, registry: dict | None
) -> tuple[list[tuple[str, str]], int]:
    from pyvirtctl import runtime
    from pyvirtctl.app import build_root

    _Request.reset()
    runtime.reset()
    try:
        root = build_root(prog, registry)
        items = candidates(root, prog, before, incomplete, after)
    except BaseException:  # noqa: BLE001 - a TAB must never print a traceback
        items = []
    return items, _Request.directive


def respond(instruction: str, argv0: str, prog: str, registry: dict | None = None) -> int:
    """Answer the `_<PROG>_COMPLETE` environment protocol (`source_<shell>` / `complete_<shell>`)."""
    from pyvirtctl.cli import complete_var

    action, _, shell = instruction.partition("_")
    shell = "powershell" if shell == "pwsh" else shell
    if shell not in SHELLS or action not in ("source", "complete"):
        print(f"unsupported completion instruction: {instruction}", file=sys.stderr)
        return 1
    if action == "source":
        sys.stdout.write(script(shell, executable_name(argv0), complete_var(argv0)))
        return 0
    line = os.environ.get("COMP_LINE")
    if line is None:  # Typer's variable, for scripts generated by older versions
        line = os.environ.get("_TYPER_COMPLETE_ARGS", "")
    point_text = os.environ.get("COMP_POINT", "")
    point = int(point_text) if point_text.isdigit() else None
    if shell == "bash" and point is not None and not line.isascii():
        point = len(line.encode()[:point].decode(errors="ignore"))  # bash counts bytes
    before, incomplete, after = parse_command_line(line, point)
    items, directive = _complete_words(before, incomplete, after, prog, registry)
    sys.stdout.write(_format(shell, items, incomplete, directive))
    sys.stdout.flush()
    return 0


def cobra_complete(words: list[str], prog: str, registry: dict | None = None, descriptions: bool = True) -> int:
    """cobra's `__complete` protocol: WORDS... PARTIAL -> candidates, then `:<directive>`."""
    before, incomplete = (list(words[:-1]), words[-1]) if words else ([], "")
    items, directive = _complete_words(before, incomplete, [], prog, registry)
    if not descriptions:
        items = [(v, "") for v, _ in items]
    sys.stdout.write(_format("cobra", items, incomplete, directive))
    sys.stdout.flush()
    return 0


def executable_name(argv0: str) -> str:
    """The command name the shell sees (the completion scripts register this one)."""
    base = os.path.basename(argv0)
    if base in ("__main__.py", "-m", "", "-c") or base.endswith(".py"):
        return "pyvirtctl"
    return base


def kubectl_complete(argv: list[str] | None = None) -> int:
    """`kubectl_complete-virt`: kubectl (>= 1.26) runs it with the words after `kubectl virt`."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] in (["__complete"], ["__completeNoDesc"]):
        desc = args[0] == "__complete"
        args = args[1:]
    else:
        desc = True
    return cobra_complete(args, "kubectl virt", descriptions=desc)


def main() -> None:  # console script entry point
    sys.exit(kubectl_complete())
