"""Kubeconfig files: which ones, how each is read and typed, and how several are merged.

Reading follows clientcmd.Load exactly, because its refusals are safety features: a kubeconfig
value of the wrong type (`insecure-skip-tls-verify: "false"`, `token: no`, `token: 017`) is an
error naming the field, never a guess (`bool("false")` would turn certificate checks off).

1. YAML -> JSON with go-yaml's rules (`goyaml.load`): `yes`/`y`/`on` are booleans, `017` is a
   number, only the first document counts.
2. apiVersion/kind (`couldn't get version/kind; ...`, `no kind "X" is registered ...`).
3. The JSON is decoded into clientcmd's api/v1 types with encoding/json's rules: fields matched
   case-sensitively, unknown fields ignored, null leaves the zero value, `[]byte` fields are
   standard base64 (CR/LF ignored) or arrays of bytes, and the *first* mismatch in document order
   (object keys sorted, as json.Marshal wrote them) is the error:
   `json: cannot unmarshal string into Go struct field Cluster.clusters.cluster.insecure-skip-tls-verify of type bool`.
4. The v1 -> internal conversion refuses two clusters/users/contexts/extensions of one name.

Every message gets clientcmd's `error loading config file "<path>": ` prefix; when several files
fail, they are listed like Go's aggregate error (`[first, second]`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pyvirtctl.errors import ConfigError
from pyvirtctl.kube.flags import GlobalFlags
from pyvirtctl.kube.goyaml import Base64Error, GoYAMLError, base64_decode, json_number, json_text
from pyvirtctl.kube.goyaml import load as yaml_to_json

# --------------------------------------------------------------------------- clientcmd's api/v1 types


class _T:
    """A Go type of clientcmd/api/v1: its decoding kind, its name in errors, element / fields."""

    __slots__ = ("kind", "name", "elem", "struct", "fields")

    def __init__(self, kind: str, name: str, elem: _T | None = None, struct: str = "",
                 fields: dict[str, _T] | None = None) -> None:
        self.kind = kind  # string | bool | bytes | raw | list | map | struct | pointer
        self.name = name  # as reflect.Type.String() prints it
        self.elem = elem
        self.struct = struct  # the struct's bare name (the `Cluster.` of `Cluster.clusters.cluster.server`)
        self.fields = fields or {}


_STRING = _T("string", "string")
_BOOL = _T("bool", "bool")
_BYTES = _T("bytes", "[]uint8")
_STRINGS = _T("list", "[]string", _STRING)


def _struct(name: str, fields: dict[str, _T], pointer: bool = False) -> _T:
    return _T("pointer" if pointer else "struct", f"v1.{name}", struct=name, fields=fields)


_NAMED_EXTENSION = _struct("NamedExtension", {"name": _STRING, "extension": _T("raw", "runtime.RawExtension")})
_EXTENSIONS = _T("list", "[]v1.NamedExtension", _NAMED_EXTENSION)
_CLUSTER = _struct("Cluster", {
    "server": _STRING,
    "tls-server-name": _STRING,
    "insecure-skip-tls-verify": _BOOL,
    "certificate-authority": _STRING,
    "certificate-authority-data": _BYTES,
    "proxy-url": _STRING,
    "disable-compression": _BOOL,
    "extensions": _EXTENSIONS,
})
_EXEC_ENV = _struct("ExecEnvVar", {"name": _STRING, "value": _STRING})
_EXEC = _struct("ExecConfig", {
    "command": _STRING,
    "args": _STRINGS,
    "env": _T("list", "[]v1.ExecEnvVar", _EXEC_ENV),
    "apiVersion": _STRING,
    "installHint": _STRING,
    "provideClusterInfo": _BOOL,
    "interactiveMode": _T("string", "v1.ExecInteractiveMode"),
}, pointer=True)
_AUTH_PROVIDER = _struct("AuthProviderConfig", {
    "name": _STRING,
    "config": _T("map", "map[string]string", _STRING),
}, pointer=True)
_AUTH_INFO = _struct("AuthInfo", {
    "client-certificate": _STRING,
    "client-certificate-data": _BYTES,
    "client-key": _STRING,
    "client-key-data": _BYTES,
    "token": _STRING,
    "tokenFile": _STRING,
    "as": _STRING,
    "as-uid": _STRING,
    "as-groups": _STRINGS,
    "as-user-extra": _T("map", "map[string][]string", _STRINGS),
    "username": _STRING,
    "password": _STRING,
    "auth-provider": _AUTH_PROVIDER,
    "exec": _EXEC,
    "extensions": _EXTENSIONS,
})
_CONTEXT = _struct("Context", {"cluster": _STRING, "user": _STRING, "namespace": _STRING, "extensions": _EXTENSIONS})
_CONFIG = _struct("Config", {
    "kind": _STRING,
    "apiVersion": _STRING,
    "preferences": _struct("Preferences", {"colors": _BOOL, "extensions": _EXTENSIONS}),
    "clusters": _T("list", "[]v1.NamedCluster", _struct("NamedCluster", {"name": _STRING, "cluster": _CLUSTER})),
    "users": _T("list", "[]v1.NamedAuthInfo", _struct("NamedAuthInfo", {"name": _STRING, "user": _AUTH_INFO})),
    "contexts": _T("list", "[]v1.NamedContext", _struct("NamedContext", {"name": _STRING, "context": _CONTEXT})),
    "current-context": _STRING,
    "extensions": _EXTENSIONS,
})


def _zero(t: _T) -> Any:
    if t.kind == "string":
        return ""
    if t.kind == "bool":
        return False
    if t.kind == "bytes":
        return b""
    if t.kind == "list":
        return []
    if t.kind == "map":
        return {}
    if t.kind == "struct":
        return {name: _zero(ft) for name, ft in t.fields.items()}
    return None  # pointers and raw extensions


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


class _Decoder:
    """encoding/json's Unmarshal into the v1 types: keeps going after a mismatch, reports the first."""

    def __init__(self) -> None:
        self.error: str | None = None

    def mismatch(self, what: str, t_name: str, struct: str, path: list[str]) -> None:
        if self.error is None:
            self.error = f"json: cannot unmarshal {what} into Go struct field {struct}.{'.'.join(path)} of type {t_name}"

    def decode(self, value: Any, t: _T, struct: str, path: list[str]) -> Any:
        if value is None:
            return _zero(t)
        kind = t.kind
        if kind == "raw":
            return value
        if kind == "string":
            if isinstance(value, str):
                return value
        elif kind == "bool":
            if isinstance(value, bool):
                return value
        elif kind == "bytes":
            if isinstance(value, str):
                try:
                    return base64_decode(value.encode("utf-8", "surrogatepass"))
                except Base64Error as exc:
                    if self.error is None:
                        self.error = str(exc)
                    return b""
            if isinstance(value, list):
                return bytes(self.byte(item, struct, path) for item in value)
        elif kind == "list":
            if isinstance(value, list):
                assert t.elem is not None
                return [self.decode(item, t.elem, struct, path) for item in value]
        elif kind == "map":
            if isinstance(value, dict):
                assert t.elem is not None
                return {k: self.decode(value[k], t.elem, struct, path) for k in sorted(value)}
        elif isinstance(value, dict):  # struct or pointer to struct
            out = _zero(t) if kind == "struct" else {name: _zero(ft) for name, ft in t.fields.items()}
            for key in sorted(value):
                ft = t.fields.get(key)
                if ft is not None:
                    out[key] = self.decode(value[key], ft, t.struct, [*path, key])
            return out
        self.mismatch(_json_kind(value), t.name, struct, path)
        return _zero(t)

    def byte(self, item: Any, struct: str, path: list[str]) -> int:
        if item is None:
            return 0
        if isinstance(item, int | float) and not isinstance(item, bool):
            text = json_number(item)
            if text.isdigit() and int(text) <= 255:
                return int(text)
            self.mismatch(f"number {text}", "uint8", struct, path)
            return 0
        self.mismatch(_json_kind(item), "uint8", struct, path)
        return 0


_FIND_KIND = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
)


def _fold(name: str) -> str:
    """Simple case folding, as encoding/json matches keys to fields: `KIND`, `\u212aind` (Kelvin
    sign) and `apiVer\u017fion` (long s) match, `k\u0131nd` (dotless i) does not."""
    out = []
    for ch in name:
        folded = ch.casefold()
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


def _interpret(doc: Any) -> tuple[str, str]:
    """apimachinery's SimpleMetaFactory.Interpret (std encoding/json: keys match case-insensitively)."""
    if not isinstance(doc, dict):
        raise ConfigError(
            f"couldn't get version/kind; json parse error: json: cannot unmarshal {_json_kind(doc)} "
            f"into Go value of type {_FIND_KIND}"
        )
    found = {"apiVersion": "", "kind": ""}
    error = None
    for key in sorted(doc):
        folded = _fold(key)
        name = "apiVersion" if folded == "apiversion" else "kind" if folded == "kind" else None
        if name is None:
            continue
        value = doc[key]
        if value is None:
            continue
        if isinstance(value, str):
            found[name] = value
        elif error is None:
            error = f"json: cannot unmarshal {_json_kind(value)} into Go struct field .{key} of type string"
    if error:
        raise ConfigError(f"couldn't get version/kind; json parse error: {error}")
    return found["apiVersion"], found["kind"]


def _check_kind(api_version: str, kind: str) -> None:
    """ParseGroupVersion and the defaulting of the yaml serializer: only v1 Config is registered."""
    group, version = "", ""
    if api_version not in ("", "/"):
        slashes = api_version.count("/")
        if slashes == 0:
            version = api_version
        elif slashes == 1:
            group, version = api_version.split("/")
        else:
            raise ConfigError(f"unexpected GroupVersion string: {api_version}")
    kind = kind or "Config"
    if not version and not group:
        version = "v1"
    if not version:
        # client-go quotes the whole file here (credentials included); the file name says enough
        raise ConfigError(f"Object 'apiVersion' is missing: apiVersion \"{api_version}\" names no version")
    if (group, version, kind) != ("", "v1", "Config") and version != "__internal":
        shown = f"{group}/{version}" if group else version
        raise ConfigError(
            f'no kind "{kind}" is registered for version "{shown}" in scheme "pkg/runtime/scheme.go:110"'
        )


# ---- the v1 -> internal conversion: one name, one entry


def _bytes_v(data: bytes) -> str:
    return "[" + " ".join(str(b) for b in data) + "]"


def _raw(extension: Any) -> bytes:
    return b"" if extension is None else json_text(extension).encode()


def _extensions_v(extensions: list[dict[str, Any]]) -> str:
    return "[" + " ".join(f"{{{e['name']} {{{_bytes_v(_raw(e['extension']))} <nil>}}}}" for e in extensions) + "]"


def _bool_v(value: bool) -> str:
    return "true" if value else "false"


def _cluster_v(c: dict[str, Any]) -> str:
    return "{" + " ".join([
        c["server"], c["tls-server-name"], _bool_v(c["insecure-skip-tls-verify"]), c["certificate-authority"],
        _bytes_v(c["certificate-authority-data"]), c["proxy-url"], _bool_v(c["disable-compression"]),
        _extensions_v(c["extensions"]),
    ]) + "}"


def _context_v(c: dict[str, Any]) -> str:
    return "{" + " ".join([c["cluster"], c["user"], c["namespace"], _extensions_v(c["extensions"])]) + "}"


def _check_extensions(extensions: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for ext in extensions:
        raw = _raw(ext["extension"])
        if ext["name"] in seen:
            raise ConfigError(
                "error converting *[]NamedExtension into *map[string]runtime.Object: "
                f'duplicate name "{ext["name"]}" in list: {_extensions_v(extensions)}'
            )
        if raw and raw != b"null":  # a nil extension leaves the name free
            seen.add(ext["name"])


def _check_unique(config: dict[str, Any]) -> None:
    """Convert_v1_Config_To_api_Config's order: preferences, clusters, users, contexts, extensions."""
    _check_extensions(config["preferences"]["extensions"])
    sections = (
        ("clusters", "cluster", "NamedCluster", "api.Cluster", _cluster_v),
        ("users", "user", "NamedAuthInfo", "api.AuthInfo", None),
        ("contexts", "context", "NamedContext", "api.Context", _context_v),
    )
    for section, key, v1_name, api_name, show in sections:
        seen: set[str] = set()
        for entry in config[section]:
            _check_extensions(entry[key]["extensions"])
            if entry["name"] in seen:
                message = (f"error converting *[]{v1_name} into *map[string]*{api_name}: "
                           f'duplicate name "{entry["name"]}" in list')
                if show is not None:  # a user list would show tokens and keys: never printed
                    items = " ".join(f"{{{e['name']} {show(e[key])}}}" for e in config[section])
                    message += f": [{items}]"
                raise ConfigError(message)
            seen.add(entry["name"])
    _check_extensions(config["extensions"])


def decode_config(data: bytes) -> dict[str, Any]:
    """clientcmd.Load without the file: the typed v1 Config (every field present, zero if unset).

    ConfigError carries client-go's message (without the `error loading config file` prefix).
    """
    if not data:
        return _zero(_CONFIG)
    try:
        doc = yaml_to_json(data)
    except GoYAMLError as exc:
        raise ConfigError(exc.message) from None
    if doc is None:
        return _zero(_CONFIG)
    api_version, kind = _interpret(doc)
    _check_kind(api_version, kind)
    decoder = _Decoder()
    config = decoder.decode(doc, _CONFIG, "Config", [])
    if decoder.error is not None:
        raise ConfigError(decoder.error)
    _check_unique(config)
    return config


# --------------------------------------------------------------------------- files and merging


@dataclass
class RawKubeconfig:
    """The merged kubeconfig: name -> entry dicts (paths already absolute) and current-context."""

    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    current_context: str = ""
    files: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.clusters or self.contexts or self.users or self.current_context)


def kubeconfig_files(flags: GlobalFlags, env: Mapping[str, str] | None = None) -> tuple[list[str], bool]:
    """The files to read, in precedence order, and whether they came from --kubeconfig."""
    env = os.environ if env is None else env
    if flags.kubeconfig:
        return [flags.kubeconfig], True
    value = env.get("KUBECONFIG", "")
    if value:
        seen: list[str] = []
        for part in value.split(os.pathsep):
            if part and part not in seen:
                seen.append(part)
        return seen, False
    home = env.get("HOME") or os.path.expanduser("~")
    return [os.path.join(home, ".kube", "config")], False


def os_error_text(op: str, path: str, exc: OSError) -> str:
    """Go's *PathError text: `open /x: no such file or directory`."""
    reason = (exc.strerror or str(exc)).lower()
    return f"{op} {path}: {reason}"


def _resolve(base: str, value: str) -> str:
    if not value or os.path.isabs(value):
        return value
    return os.path.join(base, value)


def _read(path: str) -> bytes:
    """os.ReadFile: a directory opens but cannot be read (`read <path>: is a directory`)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise ConfigError(os_error_text("open", path, exc)) from None
    try:
        with os.fdopen(fd, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ConfigError(os_error_text("read", path, exc)) from None


def load_kubeconfig_file(path: str) -> RawKubeconfig:
    """Read and type one kubeconfig file; relative paths in it are made absolute against its directory."""
    try:
        config = decode_config(_read(path))
    except ConfigError as exc:
        raise ConfigError(f'error loading config file "{path}": {exc.message}') from None
    base = os.path.dirname(os.path.abspath(path))
    raw = RawKubeconfig(files=[path], current_context=config["current-context"])
    for entry in config["clusters"]:
        cluster = entry["cluster"]
        cluster["certificate-authority"] = _resolve(base, cluster["certificate-authority"])
        raw.clusters[entry["name"]] = cluster
    for entry in config["users"]:
        user = entry["user"]
        for key in ("client-certificate", "client-key", "tokenFile"):
            user[key] = _resolve(base, user[key])
        exec_cfg = user.get("exec")
        if exec_cfg is not None:
            command = exec_cfg["command"]
            if command and not os.path.isabs(command) and os.sep in command:
                exec_cfg["command"] = os.path.join(base, command)
            exec_cfg["_base"] = base
        raw.users[entry["name"]] = user
    for entry in config["contexts"]:
        raw.contexts[entry["name"]] = entry["context"]
    return raw


def _aggregate(errors: list[str]) -> str:
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


def load_raw(flags: GlobalFlags, env: Mapping[str, str] | None = None) -> RawKubeconfig:
    """Read and merge the kubeconfig files (clientcmd's ClientConfigLoadingRules.Load)."""
    files, explicit = kubeconfig_files(flags, env)
    if explicit and not os.path.exists(files[0]):
        raise ConfigError(f"stat {files[0]}: no such file or directory")
    merged = RawKubeconfig()
    errors: list[str] = []
    for path in files:
        if not explicit and not os.path.exists(path):
            continue
        try:
            one = load_kubeconfig_file(path)
        except ConfigError as exc:
            errors.append(exc.message)  # client-go reads the other files, then reports them all
            continue
        merged.files.append(path)
        for section in ("clusters", "contexts", "users"):
            target = getattr(merged, section)
            for name, entry in getattr(one, section).items():
                target.setdefault(name, entry)  # the first file that defines a name wins
        if not merged.current_context:
            merged.current_context = one.current_context  # ... and the first current-context too
    if errors:
        raise ConfigError(_aggregate(errors))
    return merged


def kubeconfig_names(flags: GlobalFlags, kind: Literal["contexts", "clusters", "users"]) -> list[str]:
    """Names of the merged kubeconfig's contexts, clusters or users (for completion); [] on errors."""
    try:
        raw = load_raw(flags)
    except ConfigError:
        return []
    return sorted(getattr(raw, kind))
