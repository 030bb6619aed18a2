"""Generate pyvirtctl/kubevirt/templates/vmtypes.py: the Go type tree of kubevirt.io/api/core/v1.VirtualMachine.

    python scripts/gen_vm_types.py /path/to/kubevirt          # a checkout, or a bare clone (read with git)

Local `template process` has to give the VirtualMachine exactly the shape Go gives it when it
converts the processed object into the typed struct and marshals it again: which fields exist
(unknown ones are errors or dropped), their JSON names and types (error texts name the Go types),
the struct field order (`-o json`), and which empty values are omitted (`omitempty`, `omitzero`).
This script reads the Go type declarations of the packages the VirtualMachine type reaches
(KubeVirt's core/v1, Kubernetes' core/v1 and meta/v1, CDI's core/v1beta1) and writes that
structure as a table. Only facts of the wire format are kept (names, types, tags); no Go code.

Types with their own JSON codec are leaves the runtime knows by name (Quantity, Time, IntOrString,
...). Structs whose UnmarshalJSON decodes through an alias type (VirtualMachineInstanceSpec,
DHCPOptions, PodNetwork) are marked with the alias name: inside them Go uses encoding/json's
lenient rules instead of the strict unstructured converter.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "pyvirtctl" / "kubevirt" / "templates" / "vmtypes.py"

# import path -> (directory in the kubevirt tree, short id used in the table, Go package name)
PACKAGES = {
    "kubevirt.io/api/core/v1": ("staging/src/kubevirt.io/api/core/v1", "kv", "v1"),
    "k8s.io/api/core/v1": ("vendor/k8s.io/api/core/v1", "core", "v1"),
    "k8s.io/apimachinery/pkg/apis/meta/v1": ("vendor/k8s.io/apimachinery/pkg/apis/meta/v1", "meta", "v1"),
    "kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1": (
        "vendor/kubevirt.io/containerized-data-importer-api/pkg/apis/core/v1beta1", "cdi", "v1beta1"),
}
# types with a JSON codec of their own: qualified Go name -> leaf kind understood by the runtime
LEAVES = {
    "resource.Quantity": "quantity",
    "meta.Time": "time",
    "meta.MicroTime": "microtime",
    "meta.Duration": "duration",
    "intstr.IntOrString": "intorstring",
    "runtime.RawExtension": "raw",
    "meta.FieldsV1": "raw",
    "types.UID": "string",
}
LEAF_PACKAGES = {
    "k8s.io/apimachinery/pkg/api/resource": "resource",
    "k8s.io/apimachinery/pkg/util/intstr": "intstr",
    "k8s.io/apimachinery/pkg/runtime": "runtime",
    "k8s.io/apimachinery/pkg/types": "types",
}
# Go display names of those leaves (error texts)
LEAF_DISPLAY = {
    "resource.Quantity": "resource.Quantity", "meta.Time": "v1.Time", "meta.MicroTime": "v1.MicroTime",
    "meta.Duration": "v1.Duration", "intstr.IntOrString": "intstr.IntOrString",
    "runtime.RawExtension": "runtime.RawExtension", "meta.FieldsV1": "v1.FieldsV1", "types.UID": "types.UID",
}
BASIC = {"string", "bool", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64",
         "float32", "float64", "byte", "rune", "uintptr"}
ROOT = "kv.VirtualMachine"


class Source:
    """Files of the kubevirt tree: a work tree, or a bare repository read with git."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.bare = not os.path.isdir(os.path.join(root, "staging"))

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "--git-dir", self.root, *args], check=True, capture_output=True,
                              text=True).stdout

    def list_go(self, directory: str) -> list[str]:
        if self.bare:
            names = self.git("ls-tree", "--name-only", "HEAD", directory + "/").split()
        else:
            names = [os.path.join(directory, n) for n in os.listdir(os.path.join(self.root, directory))]
        return sorted(n for n in names if n.endswith(".go") and not n.endswith("_test.go")
                      and "generated" not in n and "fuzz" not in n)

    def read(self, path: str) -> str:
        if self.bare:
            return self.git("show", f"HEAD:{path}")
        return Path(self.root, path).read_text()


def strip_comments(text: str) -> str:
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c in "\"'`":
            if c == "`":
                j = text.find("`", i + 1)
            else:
                j = i + 1
                while j < n and text[j] != c:
                    j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def imports(text: str) -> dict[str, str]:
    """alias -> import path."""
    found: dict[str, str] = {}
    blocks = re.findall(r"^import\s*\((.*?)^\)", text, re.S | re.M) + re.findall(r'^import\s+(\w*\s*"[^"]+")', text,
                                                                                   re.M)
    for block in blocks:
        for alias, path in re.findall(r'^\s*([\w.]*)\s*"([^"]+)"', block, re.M):
            found[alias or path.rsplit("/", 1)[-1]] = path
    return found


def match_brace(text: str, start: int) -> int:
    """Index just after the `}` closing the `{` at `start`."""
    depth = 0
    i = start
    while i < len(text):
        c = text[i]
        if c == "`":
            i = text.index("`", i + 1)
        elif c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced braces")


def type_decls(text: str) -> list[tuple[str, str]]:
    """(name, type expression text) of every top-level type declaration."""
    decls: list[tuple[str, str]] = []
    pos = 0
    pattern = re.compile(r"^type\s+(\(|(\w+)(\[[^\]]*\])?\s+(=\s*)?)", re.M)
    while True:
        m = pattern.search(text, pos)
        if not m:
            return decls
        if m.group(1) == "(":
            end = text.index("\n)", m.end())
            body = text[m.end() : end]
            pos = end
            inner = 0
            spec = re.compile(r"^\s*(\w+)\s+(=\s*)?", re.M)
            while True:
                sm = spec.search(body, inner)
                if not sm:
                    break
                expr, inner = read_type(body, sm.end())
                decls.append((sm.group(1), expr))
            continue
        expr, pos = read_type(text, m.end())
        decls.append((m.group(2), expr))


def read_type(text: str, pos: int) -> tuple[str, int]:
    """The type expression starting at `pos` (through a matching brace for struct/interface)."""
    m = re.compile(r"[^\n{]*").match(text, pos)
    assert m is not None
    head = m.group()
    if m.end() < len(text) and text[m.end()] == "{" and re.search(r"(struct|interface)\s*$", head):
        end = match_brace(text, m.end())
        return text[pos:end], end
    return head.strip(), m.end()


FIELD_RE = re.compile(r"^\s*(?P<names>\w+(?:\s*,\s*\w+)*)?\s*(?P<type>[^`\n]*?)\s*(?:`(?P<tag>[^`]*)`)?\s*$")


def struct_fields(body: str) -> list[tuple[list[str], str, str]]:
    """(names or [] for embedded, type text, tag) of a struct body."""
    inner = body[body.index("{") + 1 : body.rindex("}")]
    fields = []
    i = 0
    lines = []
    # join lines that open an anonymous struct
    while i < len(inner):
        j = inner.find("\n", i)
        j = len(inner) if j < 0 else j
        line = inner[i:j]
        if re.search(r"struct\s*\{\s*$", line):
            end = match_brace(inner, i + line.rindex("{"))
            k = inner.find("\n", end)
            k = len(inner) if k < 0 else k
            line = inner[i:k]
            j = k
        lines.append(line)
        i = j + 1
    for line in lines:
        s = line.strip().rstrip(";")
        if not s:
            continue
        tag = ""
        tm = re.search(r"`([^`]*)`\s*$", s)
        if tm:
            tag = tm.group(1)
            s = s[: tm.start()].strip()
        parts = s.split(None, 1)
        if len(parts) == 1 or (parts[0].startswith("*")) or ("." in parts[0] and len(parts) == 1):
            fields.append(([], s, tag))  # embedded
            continue
        names_text, type_text = parts
        if names_text.endswith(","):  # "A, B T"
            more = type_text.split(None, 1)
            names_text += more[0]
            type_text = more[1]
        names = [n.strip() for n in names_text.split(",")]
        fields.append((names, type_text.strip(), tag))
    return fields


def json_tag(tag: str) -> str | None:
    m = re.search(r'json:"([^"]*)"', tag)
    return m.group(1) if m else None


class Generator:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.decls: dict[str, tuple[str, dict[str, str]]] = {}  # qualified -> (type text, file imports)
        self.aliases: dict[str, str] = {}  # qualified struct -> alias name used by its UnmarshalJSON
        self.table: dict[str, tuple] = {}
        for ipath, (directory, short, _pkg) in PACKAGES.items():
            for path in source.list_go(directory):
                text = strip_comments(source.read(path))
                imps = imports(text)
                imps[""] = ipath
                for name, expr in type_decls(text):
                    self.decls.setdefault(f"{short}.{name}", (expr, imps))
                for recv, body_start in [(m.group(1), m.end()) for m in re.finditer(
                        r"^func\s*\(\s*\w+\s+\*(\w+)\s*\)\s*UnmarshalJSON\b[^{]*", text, re.M)]:
                    body = text[body_start : match_brace(text, body_start)]
                    alias = re.search(r"type\s+(\w+)\s+" + recv + r"\b", body)
                    if alias:
                        self.aliases[f"{short}.{recv}"] = alias.group(1)

    def qualify(self, name: str, imps: dict[str, str]) -> str:
        """A type name as written in a file -> qualified id (`kv.Disk`, `core.Affinity`, ...)."""
        if "." in name:
            alias, typ = name.split(".", 1)
            ipath = imps.get(alias)
            if ipath in PACKAGES:
                return f"{PACKAGES[ipath][1]}.{typ}"
            if ipath in LEAF_PACKAGES:
                return f"{LEAF_PACKAGES[ipath]}.{typ}"
            raise KeyError(f"unknown package {alias} ({ipath}) for {name}")
        if name in BASIC:
            return {"byte": "uint8", "rune": "int32"}.get(name, name)
        return f"{PACKAGES[imps['']][1]}.{name}"

    def expr(self, text: str, imps: dict[str, str]) -> str:
        """A type expression in the table's grammar: `*T`, `[]T`, `map[K]V`, qualified names, basics."""
        text = text.strip()
        if text.startswith("*"):
            return "*" + self.expr(text[1:], imps)
        if text.startswith("[]"):
            return "[]" + self.expr(text[2:], imps)
        if text.startswith("map["):
            depth, i = 0, 3
            while True:
                if text[i] == "[":
                    depth += 1
                elif text[i] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            return f"map[{self.expr(text[4:i], imps)}]{self.expr(text[i + 1:], imps)}"
        if text.startswith("struct"):
            raise ValueError(f"anonymous struct type not supported: {text[:40]}")
        if text in ("interface{}", "any"):
            return "any"
        name = self.qualify(text, imps)
        if name not in BASIC and name not in ("any",):
            self.need(name)
        return name

    def need(self, name: str) -> None:
        if name in self.table or name in LEAVES:
            return
        if name not in self.decls:
            raise KeyError(f"type {name} not found")
        text, imps = self.decls[name]
        pkg = next(p for ip, (_d, s, p) in PACKAGES.items() if name.startswith(s + "."))
        display = f"{pkg}.{name.split('.', 1)[1]}"
        self.table[name] = ()  # placeholder against recursion
        if re.match(r"struct\s*\{", text):
            fields = []
            for names, typ, tag in struct_fields(text):
                jt = json_tag(tag)
                if jt == "-":
                    continue
                opts = (jt or "").split(",")
                json_name = opts[0]
                omitempty = "omitempty" in opts[1:]
                omitzero = "omitzero" in opts[1:]
                as_string = "string" in opts[1:]
                if not names:  # embedded
                    type_name = typ.lstrip("*")
                    t = self.expr(typ, imps)
                    if json_name:
                        fields.append((json_name, type_name.rsplit(".", 1)[-1], t, omitempty, omitzero, as_string))
                    else:
                        fields.append(("", type_name.rsplit(".", 1)[-1], t, False, False, False))
                    continue
                for go_name in names:
                    if not go_name[0].isupper():
                        continue  # unexported
                    t = self.expr(typ, imps)
                    fields.append((json_name or go_name, go_name, t, omitempty, omitzero, as_string))
            self.table[name] = ("struct", display, tuple(fields), self.aliases.get(name, ""))
        else:
            under = self.expr(text.lstrip("= ").strip(), imps)
            self.table[name] = ("named", display, under)

    def render(self) -> str:
        self.need(ROOT)
        lines = [
            '"""Go type tree of kubevirt.io/api/core/v1.VirtualMachine (generated by scripts/gen_vm_types.py; do not edit).',
            "",
            "TYPES maps a type id (`kv.Disk`, `core.Affinity`, `meta.ObjectMeta`, `cdi.DataVolumeSpec`) to",
            '  ("struct", go_name, fields, alias)  fields: (json_name, go_name, type, omitempty, omitzero, string);',
            '                                      json_name "" = embedded and inlined; alias: the type its',
            "                                      UnmarshalJSON decodes through (encoding/json rules inside), or \"\"",
            '  ("named", go_name, underlying)      a defined type over a basic, slice or map type.',
            "Type expressions: `string`, `int32`, ..., `any`, `*T`, `[]T`, `map[K]V`, a type id, or a leaf with",
            "its own JSON codec (LEAVES).",
            '"""',
            "",
            "# ruff: noqa: E501",
            "from __future__ import annotations",
            "",
            f"ROOT = {ROOT!r}",
            "",
            "LEAVES = {",
        ]
        for k, v in LEAVES.items():
            lines.append(f"    {k!r}: ({v!r}, {LEAF_DISPLAY[k]!r}),")
        lines += ["}", "", "TYPES: dict[str, tuple] = {"]
        for name in sorted(self.table):
            entry = self.table[name]
            if entry[0] == "struct":
                lines.append(f"    {name!r}: ('struct', {entry[1]!r}, (")
                for f in entry[2]:
                    lines.append(f"        ({f[0]!r}, {f[1]!r}, {f[2]!r}, {f[3]}, {f[4]}, {f[5]}),")
                lines.append(f"    ), {entry[3]!r}),")
            else:
                lines.append(f"    {name!r}: {entry!r},")
        lines.append("}")
        return "\n".join(lines) + "\n"


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    text = Generator(Source(sys.argv[1])).render()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
