"""The fast kubeconfig reader returns exactly what PyYAML returns, or declines (Unsupported).

Its contract: "exactly PyYAML's result, or PyYAML decides". Where PyYAML fails (an error or a
crash), the reader must decline, never answer. With go-yaml's scalar rules plugged in (what the
kubeconfig loader does), it must return exactly what the full go-yaml path (libyaml events,
kube/goyaml.py) returns.
"""

from __future__ import annotations

import os
import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvirtctl.kube import goyaml, miniyaml

# CI replays a fixed, already-explored set of examples (CI=true); developers' runs draw new ones
DERANDOMIZE = bool(os.environ.get("CI"))

KUBECONFIG = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=
    server: https://127.0.0.1:6443
    proxy-url: socks5://localhost:1080
  name: sim
- cluster:
    insecure-skip-tls-verify: true
    server: https://10.0.0.1
  name: other
contexts:
- context:
    cluster: sim
    namespace: default
    user: sim
  name: sim
current-context: sim
kind: Config
preferences: {}
users:
- name: sim
  user:
    token: 7d30e15bb2ccc697b9d9e02fa489a7b7
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - get-token
      - --cluster-name
      - "prod"
      command: aws
      env:
      - name: AWS_PROFILE
        value: 'it''s me'
      interactiveMode: IfAvailable
      provideClusterInfo: false
"""

DECLINED = [
    "a: &anchor x\nb: *anchor\n",
    "a: !!str 1\n",
    "a: |\n  block\n",
    "a: >\n  folded\n",
    "a: [1, 2]\n",
    "a: {b: c}\n",
    "a: 1.5\n",
    "a: 0x10\n",
    "a: 2026-11-27\n",
    "a: value # comment\n",
    "a: multi\n  line\n",
    "a:\tb\n",
    "a: café\n",
    '"quoted key": x\n',
    "---\na: 1\n---\nb: 2\n",
    "a: 1_000\n",
    # PyYAML refuses or crashes on these: the reader must decline, not answer
    'a: "\\UFFFFFFFF"\n',  # OverflowError in chr() before
    'a: "\\U00110000"\n',  # beyond Unicode
    'a: "\\uD800"\n',  # a lone surrogate (libyaml: an error)
    "---\n---\na: 1\n",  # two documents (safe_load: an error)
    "---\n# c\n---\na: 1\n",
    "  ---\na: 1\n",  # an indented `---` is no marker
    "   ...\na: 1\n",
    "k" * 1025 + ": v\n",  # an implicit key over 1,024 characters
    "- " + "k" * 1030 + ": v\n",
    "a:\n  " + "k" * 1100 + ": v\n",
]


def test_a_real_kubeconfig_parses_like_pyyaml():
    assert miniyaml.load(KUBECONFIG) == yaml.safe_load(KUBECONFIG)


@pytest.mark.parametrize("text", DECLINED)
def test_declines_what_it_does_not_handle(text):
    with pytest.raises(miniyaml.Unsupported):
        miniyaml.load(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a: yes\nb: Off\nc: ~\nd: null\ne: 0\nf: -12\ng: +3\n",
         {"a": True, "b": False, "c": None, "d": None, "e": 0, "f": -12, "g": 3}),
        ("a: 'x'\nb: \"y\\tz\\u0041\"\nc: ''\nd:\n", {"a": "x", "b": "y\tzA", "c": "", "d": None}),
        ("- a\n- - b\n", None),
        ("a:\n- 1\n- x: y\n  z: w\n-\n  k: v\n", {"a": [1, {"x": "y", "z": "w"}, {"k": "v"}]}),
        ("a: http://x:8080/p?q=1#frag\n", {"a": "http://x:8080/p?q=1#frag"}),
        ("a: -x\nb: :y\nc: ?z\n", {"a": "-x", "b": ":y", "c": "?z"}),
        ("# only a comment\n\na: b  \n", {"a": "b"}),
        ("a: b\r\nc: d\r\n", {"a": "b", "c": "d"}),
    ],
)
def test_cases(text, value):
    try:
        got = miniyaml.load(text)
    except miniyaml.Unsupported:
        assert value is None  # declined: only where the table says so
        return
    assert got == yaml.safe_load(text) == value


# generated documents: kubeconfig-shaped mappings and lists of tricky scalars, in PyYAML's own dumps
_text = st.text(alphabet=string.ascii_letters + string.digits + " -_.:/@#'\"\\,[]{}=~!&*%?|>", max_size=12)
_scalar = st.one_of(_text, st.integers(-10**6, 10**6), st.booleans(), st.none(),
                    st.sampled_from(["yes", "No", "on", "0x1f", "1.5", "2026-01-01", "~", "null", "0777", "-",
                                     "- a", "a: b", "#x", "x #y", "", " lead", "trail ", "'q'", '"d"']))
_key = st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=10)
_doc = st.recursive(
    st.dictionaries(_key, _scalar, max_size=4),
    lambda children: st.one_of(st.dictionaries(_key, children, max_size=4), st.lists(children, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=600, deadline=None, database=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow])
@given(_doc, st.sampled_from([2, 4]), st.booleans())
def test_generated_documents(doc, indent, sort_keys):
    text = yaml.safe_dump(doc, default_flow_style=False, indent=indent, sort_keys=sort_keys, allow_unicode=False)
    try:
        got = miniyaml.load(text)
    except miniyaml.Unsupported:
        return
    assert got == yaml.safe_load(text)


def test_most_generated_documents_take_the_fast_path():
    """The fast reader must actually serve kubectl-style files, not decline everything."""
    doc = yaml.safe_load(KUBECONFIG)
    for indent in (2, 4):
        assert miniyaml.load(yaml.safe_dump(doc, default_flow_style=False, indent=indent)) == doc


def test_long_keys_around_the_limit():
    for length in range(990, 1040):
        for text in ("k" * length + ": v\n", "- " + "k" * length + ": v\n"):
            expect_same_as_pyyaml(text)


def test_deep_nesting_declines_instead_of_crashing():
    deep = "".join(" " * i + "k:\n" for i in range(3000))
    with pytest.raises(miniyaml.Unsupported):
        miniyaml.load(deep)


# --------------------------------------------------------------------------- raw text, not PyYAML's dumps

def _typed(value):
    """A value with its types spelled out: 1, 1.0 and True must not compare equal."""
    if isinstance(value, dict):
        return ("map", sorted(((_typed(k), _typed(v)) for k, v in value.items()), key=repr))
    if isinstance(value, list):
        return ("seq", [_typed(v) for v in value])
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    return (type(value).__name__, value)


def pyyaml_results(text):
    """What each PyYAML loader makes of `text`: ("ok", value) or ("error", kind)."""
    out = []
    for loader in (yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        try:
            out.append(("ok", _typed(yaml.load(text, Loader=loader))))  # noqa: S506 - safe loaders
        except Exception as exc:  # PyYAML errors and crashes alike: the reader must decline then
            out.append(("error", type(exc).__name__))
    return out


def expect_same_as_pyyaml(text):
    try:
        got = miniyaml.load(text)
    except miniyaml.Unsupported:
        return False
    assert pyyaml_results(text) == [("ok", _typed(got))] * 2, text
    return True


def _outcome(produce):
    try:
        return ("ok", _typed(produce()))
    except goyaml.GoYAMLError as exc:
        return ("error", exc.message)


def expect_same_as_go_yaml(text):
    """Go mode: the fast path answers exactly what the full go-yaml path (libyaml events) answers."""
    data = text.encode()
    try:
        fast = _outcome(lambda: goyaml.load_fast(data))
    except miniyaml.Unsupported:
        return False
    assert fast == _outcome(lambda: goyaml.load_full(data)), text
    return True


_word = st.text(alphabet=string.ascii_letters + string.digits + "-_./", min_size=1, max_size=8)
_tricky = st.sampled_from([
    "y", "n", "yes", "No", "on", "OFF", "~", "null", "true", "0", "017", "0o17", "0x1f", "0b11", "08", "1e3",
    "1.5", ".5", ".inf", "-.Inf", ".nan", "1_000", "1:20", "2001-01-01", "2001-01-01 10:00:00", "=", "<<",
    "-", "- a", "-x", ":x", "?x", "? x", "a: b", "a:b", "#x", "x #y", "x#y", "a b", "'q'", "''", "'it''s'", "'a",
    '"d"', '""', '"\\t\\x41"', '"\\u00e9"', '"\\U0001F600"', '"\\UFFFFFFFF"', '"\\U00110000"', '"\\uD800"',
    '"\\/"', '"\\q"', '"a\\"', '"a"b"', "{}", "[]", "[a]", "{a: b}", "|", ">", "&a x", "*a", "!!str 1",
    "!x y", "@x", "`x", "%x", "k" * 1030, "http://h:1/p?q=1#f", "C:\\x",
])
_scalar_text = st.one_of(_word, _tricky)
_line = st.tuples(
    st.sampled_from([0, 0, 0, 1, 2, 2, 3, 4, 6]),
    st.sampled_from(["kv", "kv", "k", "dash", "dashkv", "dashk", "doc", "end", "comment", "blank", "scalar"]),
    st.one_of(_word, st.sampled_from(["y", "1", "~", "<<", "-a", "a b", "k" * 1025, "k" * 1023, "'q'", "a#b"])),
    _scalar_text,
)


def _render(parts):
    indent, shape, key, value = parts
    body = {
        "kv": f"{key}: {value}", "k": f"{key}:", "dash": f"- {value}", "dashkv": f"- {key}: {value}",
        "dashk": f"- {key}:", "doc": "---", "end": "...", "comment": f"# {value}", "blank": "", "scalar": value,
    }[shape]
    return " " * indent + body


@settings(max_examples=1500, deadline=None, database=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(_line, min_size=1, max_size=12), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_raw_documents(lines, newline, trailing):
    text = newline.join(_render(p) for p in lines) + (newline if trailing else "")
    expect_same_as_pyyaml(text)
    expect_same_as_go_yaml(text)


# well-formed block structure written by hand (not by PyYAML), with raw scalars in every slot
_leaf = st.tuples(st.just("leaf"), _scalar_text)
_tree = st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.tuples(st.just("map"), st.lists(st.tuples(st.one_of(_word, st.sampled_from(["y", "1", "~", "'q'", "-a"])),
                                                      children), min_size=1, max_size=4)),
        st.tuples(st.just("seq"), st.lists(children, min_size=1, max_size=4)),
    ),
    max_leaves=20,
)


def _lines(node, step):
    """Block YAML for a generated tree: mappings indented by `step`, sequence items by `- `."""
    kind, body = node
    if kind == "leaf":
        return [body]
    lines = []
    for entry in body:
        key, child = entry if kind == "map" else ("", entry)
        head = f"{key}:" if kind == "map" else "-"
        if child[0] == "leaf":
            lines.append(f"{head} {child[1]}")
            continue
        sub = _lines(child, step)
        if kind == "seq" and child[0] == "map":
            lines.append(f"- {sub[0]}")  # the first key shares the dash's line
            lines += ["  " + line for line in sub[1:]]
        else:
            lines.append(head)
            lines += [" " * (step if kind == "map" else 2) + line for line in sub]
    return lines


@settings(max_examples=1500, deadline=None, database=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(_tree, st.sampled_from([2, 4]))
def test_structured_raw_documents(tree, step):
    text = "\n".join(_lines(tree, step)) + "\n"
    expect_same_as_pyyaml(text)
    expect_same_as_go_yaml(text)


@pytest.mark.parametrize("text", [
    KUBECONFIG,
    "a: y\nb: n\nc: 017\nd: 0o17\ne: 1e3\nf: 08\ng: 1:20\nh: 2001-01-01\ni: 1_000\nj: .inf\nk: =\n",
    "- y\n- - a\n",
    "a:\n- 1\n- x: y\n  z: w\n",
])
def test_go_mode_matches_the_full_go_yaml_path(text):
    assert expect_same_as_go_yaml(text) or text == "- y\n- - a\n"


def test_the_fuzzer_can_tell():
    # both checks must be able to fail: a wrong answer is caught
    with pytest.raises(AssertionError):
        assert pyyaml_results("a: 1\n") == [("ok", _typed({"a": True}))] * 2
    assert _typed(goyaml.load_full(b"a: y\n")) != _typed({"a": "y"})
