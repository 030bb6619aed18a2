"""YAML as client-go reads a kubeconfig (pyvirtctl/kube/goyaml.py): go-yaml v2's scalars, its errors.

The literals are the reference virtctl's: its error line for a malformed file (after the
`error loading config file "<path>": ` prefix, checked too), or the value it read.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from pyvirtctl.errors import ConfigError
from pyvirtctl.kube import goyaml
from pyvirtctl.kube.flags import GlobalFlags
from pyvirtctl.kube.kubeconfig import load_raw
from pyvirtctl.sim.harness import REPO_ROOT

# (file content, the reference's message): one line each, never PyYAML's multi-line text
YAML_ERRORS = [
    ('a: [\n', 'yaml: line 1: did not find expected node content'),
    ('a: {b: c\n', "yaml: line 1: did not find expected ',' or '}'"),
    ('a: ]\n', 'yaml: did not find expected node content'),
    ('a: b: c\n', 'yaml: mapping values are not allowed in this context'),
    ('a: b\n c: d\n', 'yaml: line 2: mapping values are not allowed in this context'),
    ('a:\n  - b\n  c: d\n', "yaml: line 2: did not find expected '-' indicator"),
    ('a: b\n- c\n', 'yaml: line 1: did not find expected key'),
    ('a: "b\n', 'yaml: line 2: found unexpected end of stream'),
    ('\ta: b\n', 'yaml: found character that cannot start any token'),
    ('a: "\\UFFFFFFFF"\n', 'yaml: found invalid Unicode character escape code'),
    ('a: "\\U00110000"\n', 'yaml: found invalid Unicode character escape code'),
    ('a: "\\uD800"\n', 'yaml: found invalid Unicode character escape code'),
    ('a: "\\/"\n', 'yaml: found unknown escape character'),
    ('x: 1\ny: "\\q"\n', 'yaml: line 2: found unknown escape character'),
    ('a: *x\n', "yaml: unknown anchor 'x' referenced"),
    ('a: &a [*a]\n', "yaml: anchor 'a' value contains itself"),
    ('<<: 5\n', 'yaml: map merge requires map or sequence of maps as the value'),
    ('current-context: !!int x\n', 'yaml: cannot decode !!str `x` as a !!int'),
    ('x: y\n? [a]\n: 1\n', 'yaml: invalid map key: []interface {}{"a"}'),
    ('~: 1\n', 'unsupported map key of type: %!s(<nil>), key: <nil>, value: 1'),
    ('  ---\na: 1\n', 'yaml: line 2: mapping values are not allowed in this context'),
    ('a: !<tag b\n', "yaml: did not find the expected '>'"),
    ('%YAML 2.0\n---\na: 1\n', 'yaml: found incompatible YAML document'),
    ('users:\n  - name: a\n    user: {token: [}\n', 'yaml: line 2: did not find expected node content'),
    ('a: b\nc: \x01\n', 'yaml: control characters are not allowed'),
    ('a: b\nc: ÿ\n', 'yaml: invalid leading UTF-8 octet'),
    ('current-context: "x"\nclusters: [{name: a, cluster: {server: .Inf}}]\n', 'json: unsupported value: +Inf'),
    ("k" * 1100 + ": v\n", "yaml: mapping values are not allowed in this context"),  # a simple key > 1024 chars
    ("a: " + "[" * 10001 + "]" * 10001 + "\n", "yaml: exceeded max depth of 10000"),
    # PyYAML said: while parsing a flow node did not find expected node content in "<byte string>", line 2, column 1
    ("users:\n- name: u\n  user: {token: [\n", "yaml: line 3: did not find expected node content"),
]


@pytest.mark.parametrize(("text", "message"), YAML_ERRORS, ids=[repr(t[:30]) for t, _ in YAML_ERRORS])
def test_malformed_yaml_is_one_line_in_client_gos_words(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "kc"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        load_raw(GlobalFlags(kubeconfig=str(path)), {})
    assert err.value.message == f'error loading config file "{path}": {message}'
    assert "\n" not in err.value.message


# go-yaml v2's reading of untagged plain scalars (each row seen through the reference binary)
PLAIN = [
    ("y", True), ("Y", True), ("yes", True), ("On", True), ("TRUE", True), ("n", False), ("NO", False), ("off", False),
    ("tRue", "tRue"), ("nULL", "nULL"), ("~", None), ("null", None), ("", None),
    ("017", 15), ("0o17", 15), ("0O17", 15), ("0x1F", 31), ("0X1f", 31), ("0b101", 5), ("0B11", 3), ("-0b11", -3),
    ("+12", 12), ("-0", 0), ("1_000", 1000), ("1__", 1), ("1_2", 12), ("+0x1", 1),
    ("08", 8.0), ("1e3", 1000.0), ("1.", 1.0), ("-.5", -0.5), (".5", 0.5), ("1_2.5", 12.5),
    ("9223372036854775808", 9223372036854775808), ("18446744073709551615", 18446744073709551615),
    ("99999999999999999999", 1e20),
    ("1e400", "1e400"), ("0b102", "0b102"), ("0x", "0x"), ("0o", "0o"), (".", "."), ("-", "-"), ("+", "+"),
    ("1:20", "1:20"), ("1:20:30", "1:20:30"), ("2001-01-01", "2001-01-01"), ("2001-01-01T10:00:00Z", "2001-01-01T10:00:00Z"),
    ("=", "="), ("<<", "<<"), ("inf", "inf"), ("nan", "nan"), ("Infinity", "Infinity"), ("0x1p4", "0x1p4"),
]


@pytest.mark.parametrize(("text", "value"), PLAIN, ids=[repr(t) for t, _ in PLAIN])
def test_plain_scalars_resolve_like_go_yaml(text: str, value: object) -> None:
    got = goyaml.resolve_plain(text)
    assert (type(got), got) == (type(value), value)


@pytest.mark.parametrize(("text", "value"), [(".inf", math.inf), ("-.INF", -math.inf), ("+.Inf", math.inf)])
def test_infinities(text: str, value: float) -> None:
    assert goyaml.resolve_plain(text) == value
    assert math.isnan(goyaml.resolve_plain(".NaN"))


# Go's base64.StdEncoding.Decode (the reference's answer for certificate-authority-data: <text>)
BASE64 = [
    ("YWJjZA==", b"abcd"), ("YWJj\r\nZA==", b"abcd"), ("\nYWJj", b"abc"), ("YWJjZA=\n=", b"abcd"), ("YWJ=", b"ab"),
    ("YWK=", b"ab"), ("YR==", b"a"), ("", b""),
    ("YWJjZA", 4), ("YWJjZA=", 7), ("YWJjZA===", 8), ("YW Jj", 2), ("====", 0), ("YQ==YQ==", 4), ("YW", 0),
    ("YWJjZ", 4), ("-_", 0), ("YQ==x", 4), ("YW=j", 2), ("Y===", 1), ("YQ=", 3), ("YWJj=", 4), ("\u00e9", 0),
]


@pytest.mark.parametrize(("text", "expected"), BASE64, ids=[repr(t) for t, _ in BASE64])
def test_base64_like_go(text: str, expected: bytes | int) -> None:
    if isinstance(expected, bytes):
        assert goyaml.base64_decode(text.encode()) == expected
    else:
        with pytest.raises(goyaml.Base64Error) as err:
            goyaml.base64_decode(text.encode())
        assert str(err.value) == f"illegal base64 data at input byte {expected}"


@pytest.mark.parametrize(
    ("value", "text"),
    [(1000.0, "1000"), (1.5, "1.5"), (-0.0, "-0"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
     (1e-7, "1e-7"), (0.000001, "0.000001"), (123456789.0, "123456789"), (7, "7")],
)
def test_json_numbers_like_encoding_json(value: float, text: str) -> None:
    assert goyaml.json_number(value) == text


@pytest.mark.parametrize(
    ("value", "bits", "text"),
    [(1.5, 64, "1.5"), (1e6, 64, "1e+06"), (100000.0, 64, "100000"), (123456789.0, 64, "1.23456789e+08"),
     (0.1, 32, "0.1"), (123456789.0, 32, "1.2345679e+08"), (1e39, 32, "+Inf"), (1e-5, 64, "1e-05")],
)
def test_format_float_g(value: float, bits: int, text: str) -> None:
    assert goyaml.format_float_g(value, bits) == text


def test_map_keys_become_strings_like_yaml_to_json() -> None:
    doc = goyaml.load(b"y: a\n1: b\n1.5: c\n.inf: d\n1e6: e\n0.1: f\n")
    assert doc == {"true": "a", "1": "b", "1.5": "c", ".inf": "d", "1e+06": "e", "0.1": "f"}


def test_merge_keys_and_aliases_like_go_yaml() -> None:
    assert goyaml.load(b"x: &a {k: one, j: two}\n<<: *a\nk: three\n") == {"x": {"k": "one", "j": "two"}, "k": "three", "j": "two"}
    assert goyaml.load(b"<<: [{k: one}, {k: two, j: x}]\n") == {"k": "one", "j": "x"}
    assert goyaml.load(b'"<<": {k: v}\n') == {"<<": {"k": "v"}}


def test_deep_nesting_is_read_up_to_go_yamls_limit() -> None:
    # libyaml alone stops at 1,000 levels; go-yaml (and so client-go) reads up to 10,000
    assert goyaml.load(b"a: " + b"[" * 3000 + b"]" * 3000 + b"\n") is not None
    deep = "".join(" " * i + "k:\n" for i in range(1500)).encode()
    assert goyaml.load(deep)["k"]["k"]["k"] is not None


def test_excessive_aliasing_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(goyaml.GoYAMLError) as err:
        goyaml.load("\n".join(lines).encode())
    assert err.value.message == "yaml: document contains excessive aliasing"


def test_plain_kubeconfigs_never_import_pyyaml(tmp_path: Path) -> None:
    kc = tmp_path / "kc"
    kc.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://h:1\n"
        "    certificate-authority-data: YWJj\n    insecure-skip-tls-verify: false\ncontexts:\n- name: x\n  context:\n"
        "    cluster: c\n    user: u\n    namespace: ns\ncurrent-context: x\npreferences: {}\nusers:\n- name: u\n  user:\n"
        "    token: abc\n"
    )
    code = (
        "import sys\nfrom pyvirtctl.kube.config import load_config, GlobalFlags\n"
        f"cfg = load_config(GlobalFlags(kubeconfig={str(kc)!r}), env={{}})\n"
        "print(cfg.namespace, cfg.ca_data, 'yaml' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert out.stdout == "ns b'abc' False\n", out.stderr
