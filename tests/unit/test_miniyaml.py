"""The fast kubeconfig reader returns exactly what yaml.safe_load returns, or declines (Unsupported)."""

from __future__ import annotations

import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvirtctl.kube import miniyaml

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


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
