"""Kubeconfig values have types: what client-go refuses, pyvirtctl refuses in client-go's words.

Every expected message below is the reference virtctl's stderr line for the same file (after its
`error loading config file "<path>": ` prefix, which is checked too). A value of the wrong type is
never guessed at: `insecure-skip-tls-verify: "false"` used to turn certificate checks *off*
(`bool("false")`), `token: no` sent no credentials and `token: 017` sent `Bearer 15`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvirtctl.errors import ConfigError
from pyvirtctl.kube.config import load_config
from pyvirtctl.kube.flags import GlobalFlags
from pyvirtctl.kube.kubeconfig import load_raw

BASES = {
    # the value under test goes into the user, the cluster, or is the whole document
    "user": (
        "apiVersion: v1\nkind: Config\ncurrent-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
        "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\nusers:\n- name: u\n  user:\n    %s\n"
    ),
    "cluster": (
        "apiVersion: v1\nkind: Config\ncurrent-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
        "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n    %s\nusers:\n- name: u\n  user:\n"
        "    token: abc\n"
    ),
    "top": "%s\n",
}
ENV = {"HOME": "/nonexistent"}

# (where, the YAML, the reference virtctl's message)
MISTYPED = [
    ('cluster', 'insecure-skip-tls-verify: "false"',
     'json: cannot unmarshal string into Go struct field Cluster.clusters.cluster.insecure-skip-tls-verify of type bool'),
    ('cluster', 'insecure-skip-tls-verify: 0',
     'json: cannot unmarshal number into Go struct field Cluster.clusters.cluster.insecure-skip-tls-verify of type bool'),
    ('cluster', 'disable-compression: "no"',
     'json: cannot unmarshal string into Go struct field Cluster.clusters.cluster.disable-compression of type bool'),
    ('cluster', 'tls-server-name: 1',
     'json: cannot unmarshal number into Go struct field Cluster.clusters.cluster.tls-server-name of type string'),
    ('cluster', 'proxy-url: 1',
     'json: cannot unmarshal number into Go struct field Cluster.clusters.cluster.proxy-url of type string'),
    ('cluster', 'certificate-authority: [a]',
     'json: cannot unmarshal array into Go struct field Cluster.clusters.cluster.certificate-authority of type string'),
    ('cluster', 'certificate-authority-data: YWJjZA',
     'illegal base64 data at input byte 4'),
    ('cluster', 'certificate-authority-data: {}',
     'json: cannot unmarshal object into Go struct field Cluster.clusters.cluster.certificate-authority-data of type []uint8'),
    ('cluster', 'extensions: [x]',
     'json: cannot unmarshal string into Go struct field Cluster.clusters.cluster.extensions of type v1.NamedExtension'),
    ('user', 'token: no',
     'json: cannot unmarshal bool into Go struct field AuthInfo.users.user.token of type string'),
    ('user', 'token: yes',
     'json: cannot unmarshal bool into Go struct field AuthInfo.users.user.token of type string'),
    ('user', 'token: 017',
     'json: cannot unmarshal number into Go struct field AuthInfo.users.user.token of type string'),
    ('user', 'token: y',
     'json: cannot unmarshal bool into Go struct field AuthInfo.users.user.token of type string'),
    ('user', 'token: Off',
     'json: cannot unmarshal bool into Go struct field AuthInfo.users.user.token of type string'),
    ('user', 'token: 1e3',
     'json: cannot unmarshal number into Go struct field AuthInfo.users.user.token of type string'),
    ('user', 'token: 08',
     'json: cannot unmarshal number into Go struct field AuthInfo.users.user.token of type string'),
    ('user', 'token: 0o17',
     'json: cannot unmarshal number into Go struct field AuthInfo.users.user.token of type string'),
    ('user', 'token: 1_000',
     'json: cannot unmarshal number into Go struct field AuthInfo.users.user.token of type string'),
    ('user', 'token: .nan',
     'json: unsupported value: NaN'),
    ('user', 'token: -.inf',
     'json: unsupported value: -Inf'),
    ('user', 'token: [a]',
     'json: cannot unmarshal array into Go struct field AuthInfo.users.user.token of type string'),
    ('user', 'token: {a: b}',
     'json: cannot unmarshal object into Go struct field AuthInfo.users.user.token of type string'),
    ('user', 'token: 99999999999999999999',
     'json: cannot unmarshal number into Go struct field AuthInfo.users.user.token of type string'),
    ('user', 'token: !!int "5"',
     'json: cannot unmarshal number into Go struct field AuthInfo.users.user.token of type string'),
    ('user', 'password: 5',
     'json: cannot unmarshal number into Go struct field AuthInfo.users.user.password of type string'),
    ('user', 'username: true',
     'json: cannot unmarshal bool into Go struct field AuthInfo.users.user.username of type string'),
    ('user', 'tokenFile: 1',
     'json: cannot unmarshal number into Go struct field AuthInfo.users.user.tokenFile of type string'),
    ('user', 'as: {}',
     'json: cannot unmarshal object into Go struct field AuthInfo.users.user.as of type string'),
    ('user', 'as-groups: a',
     'json: cannot unmarshal string into Go struct field AuthInfo.users.user.as-groups of type []string'),
    ('user', 'as-groups: [1]',
     'json: cannot unmarshal number into Go struct field AuthInfo.users.user.as-groups of type string'),
    ('user', 'as-user-extra: a',
     'json: cannot unmarshal string into Go struct field AuthInfo.users.user.as-user-extra of type map[string][]string'),
    ('user', 'as-user-extra: {a: b}',
     'json: cannot unmarshal string into Go struct field AuthInfo.users.user.as-user-extra of type []string'),
    ('user', 'as-user-extra: {a: [1]}',
     'json: cannot unmarshal number into Go struct field AuthInfo.users.user.as-user-extra of type string'),
    ('user', 'auth-provider: x',
     'json: cannot unmarshal string into Go struct field AuthInfo.users.user.auth-provider of type v1.AuthProviderConfig'),
    ('user', 'auth-provider: {name: 1}',
     'json: cannot unmarshal number into Go struct field AuthProviderConfig.users.user.auth-provider.name of type string'),
    ('user', 'auth-provider: {config: {a: 1}}',
     'json: cannot unmarshal number into Go struct field AuthProviderConfig.users.user.auth-provider.config of type string'),
    ('user', 'auth-provider: {config: x}',
     'json: cannot unmarshal string into Go struct field AuthProviderConfig.users.user.auth-provider.config of type map[string]string'),
    ('user', 'exec: x',
     'json: cannot unmarshal string into Go struct field AuthInfo.users.user.exec of type v1.ExecConfig'),
    ('user', 'exec: {command: 1}',
     'json: cannot unmarshal number into Go struct field ExecConfig.users.user.exec.command of type string'),
    ('user', 'exec: {args: 1}',
     'json: cannot unmarshal number into Go struct field ExecConfig.users.user.exec.args of type []string'),
    ('user', 'exec: {args: [1]}',
     'json: cannot unmarshal number into Go struct field ExecConfig.users.user.exec.args of type string'),
    ('user', 'exec: {env: x}',
     'json: cannot unmarshal string into Go struct field ExecConfig.users.user.exec.env of type []v1.ExecEnvVar'),
    ('user', 'exec: {env: [x]}',
     'json: cannot unmarshal string into Go struct field ExecConfig.users.user.exec.env of type v1.ExecEnvVar'),
    ('user', 'exec: {env: [{name: 1}]}',
     'json: cannot unmarshal number into Go struct field ExecEnvVar.users.user.exec.env.name of type string'),
    ('user', 'exec: {provideClusterInfo: "true"}',
     'json: cannot unmarshal string into Go struct field ExecConfig.users.user.exec.provideClusterInfo of type bool'),
    ('user', 'exec: {interactiveMode: 1}',
     'json: cannot unmarshal number into Go struct field ExecConfig.users.user.exec.interactiveMode of type v1.ExecInteractiveMode'),
    ('user', 'client-certificate-data: 1',
     'json: cannot unmarshal number into Go struct field AuthInfo.users.user.client-certificate-data of type []uint8'),
    ('user', 'client-certificate-data: "abc"',
     'illegal base64 data at input byte 0'),
    ('user', 'client-key-data: [300]',
     'json: cannot unmarshal number 300 into Go struct field AuthInfo.users.user.client-key-data of type uint8'),
    ('user', 'client-key-data: [1.5]',
     'json: cannot unmarshal number 1.5 into Go struct field AuthInfo.users.user.client-key-data of type uint8'),
    ('user', "client-key-data: ['a']",
     'json: cannot unmarshal string into Go struct field AuthInfo.users.user.client-key-data of type uint8'),
    ('user', 'extensions: [{name: 1}]',
     'json: cannot unmarshal number into Go struct field NamedExtension.users.user.extensions.name of type string'),
    ('top', 'current-context: 5',
     'json: cannot unmarshal number into Go struct field Config.current-context of type string'),
    ('top', 'current-context: [a]',
     'json: cannot unmarshal array into Go struct field Config.current-context of type string'),
    ('top', 'preferences: {colors: "x"}',
     'json: cannot unmarshal string into Go struct field Preferences.preferences.colors of type bool'),
    ('top', 'preferences: 5',
     'json: cannot unmarshal number into Go struct field Config.preferences of type v1.Preferences'),
    ('top', 'clusters: 5',
     'json: cannot unmarshal number into Go struct field Config.clusters of type []v1.NamedCluster'),
    ('top', 'clusters: [5]',
     'json: cannot unmarshal number into Go struct field Config.clusters of type v1.NamedCluster'),
    ('top', 'clusters: [{name: 5}]',
     'json: cannot unmarshal number into Go struct field NamedCluster.clusters.name of type string'),
    ('top', 'clusters: [{name: a, cluster: 5}]',
     'json: cannot unmarshal number into Go struct field NamedCluster.clusters.cluster of type v1.Cluster'),
    ('top', 'contexts: [{name: a, context: {namespace: 1}}]',
     'json: cannot unmarshal number into Go struct field Context.contexts.context.namespace of type string'),
    ('top', 'contexts: [{name: a, context: {user: 1}}]',
     'json: cannot unmarshal number into Go struct field Context.contexts.context.user of type string'),
    ('top', 'users: {a: 1}',
     'json: cannot unmarshal object into Go struct field Config.users of type []v1.NamedAuthInfo'),
    ('top', 'users: [{name: a, user: [5]}]',
     'json: cannot unmarshal array into Go struct field NamedAuthInfo.users.user of type v1.AuthInfo'),
    ('top', 'extensions: 5',
     'json: cannot unmarshal number into Go struct field Config.extensions of type []v1.NamedExtension'),
    ('top', 'apiVersion: 1',
     "couldn't get version/kind; json parse error: json: cannot unmarshal number into Go struct field .apiVersion of type string"),
    ('top', 'kind: 5',
     "couldn't get version/kind; json parse error: json: cannot unmarshal number into Go struct field .kind of type string"),
    ('top', '- a',
     'couldn\'t get version/kind; json parse error: json: cannot unmarshal array into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'),
    ('top', 'hello',
     'couldn\'t get version/kind; json parse error: json: cannot unmarshal string into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'),
    ('top', 'kind: Foo',
     'no kind "Foo" is registered for version "v1" in scheme "pkg/runtime/scheme.go:110"'),
    ('top', 'apiVersion: v2',
     'no kind "Config" is registered for version "v2" in scheme "pkg/runtime/scheme.go:110"'),
    ('top', 'apiVersion: a/b/c',
     'unexpected GroupVersion string: a/b/c'),
    ('top', 'APIVERSION: v2',
     'no kind "Config" is registered for version "v2" in scheme "pkg/runtime/scheme.go:110"'),
    ('top', 'users: [{name: a, user: {token: 1}}]\nclusters: [{name: a, cluster: {server: 1}}]\ncurrent-context: 1',
     'json: cannot unmarshal number into Go struct field Cluster.clusters.cluster.server of type string'),
    ('top', 'users: [{name: a, user: {username: 3, token: 1, as: 2}}]',
     'json: cannot unmarshal number into Go struct field AuthInfo.users.user.as of type string'),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kubeconfig.yaml"
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize(("where", "snippet", "message"), MISTYPED, ids=[f"{w}:{s[:40]}" for w, s, _ in MISTYPED])
def test_a_mistyped_value_is_refused_in_client_gos_words(tmp_path: Path, where: str, snippet: str, message: str) -> None:
    path = write(tmp_path, BASES[where] % snippet)
    with pytest.raises(ConfigError) as err:
        load_config(GlobalFlags(kubeconfig=str(path)), env=ENV)
    assert err.value.message == f'error loading config file "{path}": {message}'


def test_the_table_is_large_enough() -> None:
    assert len(MISTYPED) >= 25
    assert len({(w, s) for w, s, _ in MISTYPED}) == len(MISTYPED)


def config_with(tmp_path: Path, where: str, snippet: str):
    return load_config(GlobalFlags(kubeconfig=str(write(tmp_path, BASES[where] % snippet))), env=ENV)


@pytest.mark.parametrize(
    ("snippet", "header"),
    [
        # client-go accepts these and reads them as strings (PyYAML would not: 80, a date, ...)
        ('token: "017"', "Bearer 017"),
        ("token: '0x10'", "Bearer 0x10"),
        ("token: !!str 017", "Bearer 017"),
        ("token: 1:20", "Bearer 1:20"),
        ("token: 2001-01-01", "Bearer 2001-01-01"),
        ("token: 0b102", "Bearer 0b102"),
        ("token: 1e400", "Bearer 1e400"),
        ("token: =", "Bearer ="),
        ("token: <<", "Bearer <<"),
        ('token: "\\\'x"', "Bearer 'x"),  # go-yaml knows the \' escape
        ("token: ~", None),  # null: the zero value, no credentials
        ("Token: x", None),  # fields are matched case-sensitively; unknown ones are ignored
    ],
)
def test_values_client_go_accepts_are_read_as_client_go_reads_them(tmp_path: Path, snippet: str, header) -> None:
    cfg = config_with(tmp_path, "user", snippet)
    assert cfg.auth_headers().get("Authorization") == header


@pytest.mark.parametrize(("value", "insecure"), [("false", False), ("true", True), ("n", False), ("y", True),
                                                 ("no", False), ("On", True), ("~", False)])
def test_insecure_skip_tls_verify_is_a_go_yaml_bool(tmp_path: Path, value: str, insecure: bool) -> None:
    # YAML 1.1 as go-yaml reads it: `n` is false (the old reader took it as the string "n": true)
    cfg = config_with(tmp_path, "cluster", f"insecure-skip-tls-verify: {value}")
    assert cfg.insecure is insecure


@pytest.mark.parametrize(
    ("value", "data"),
    [
        ('"YWJj\\r\\nZA=="', b"abcd"),  # Go's decoder skips CR and LF anywhere
        ('"YWJjZA=\\n="', b"abcd"),
        ("YWK=", b"ab"),  # the unused bits of the last quantum are not checked
        ("[1, 2, 255]", b"\x01\x02\xff"),  # encoding/json also takes a []byte as an array of numbers
        ("[null, 1e1]", b"\x00\x0a"),
        ("null", b""),
    ],
)
def test_certificate_data_is_decoded_like_encoding_json(tmp_path: Path, value: str, data: bytes) -> None:
    cfg = config_with(tmp_path, "cluster", f"certificate-authority-data: {value}")
    assert cfg.ca_data == data


def test_the_first_error_in_document_order_wins(tmp_path: Path) -> None:
    # json.Marshal sorted the keys: `as` comes before `token` and `username`, clusters before users
    path = write(tmp_path, "users: [{name: a, user: {username: 3, token: 1, as: 2}}]\nclusters: [{name: c, cluster: {server: 1}}]\n")
    with pytest.raises(ConfigError, match="Cluster.clusters.cluster.server of type string$"):
        load_raw(GlobalFlags(kubeconfig=str(path)), ENV)


def test_only_the_first_document_counts(tmp_path: Path) -> None:
    # go-yaml reads one document: the second one's broken YAML and wrong types are never seen
    path = write(tmp_path, "---\ncurrent-context: a\n---\ncurrent-context: [b\n")
    assert load_raw(GlobalFlags(kubeconfig=str(path)), ENV).current_context == "a"
    path = write(tmp_path, "---\n---\ncurrent-context: a\n")  # an empty first document: an empty config
    assert load_raw(GlobalFlags(kubeconfig=str(path)), ENV).current_context == ""


# --------------------------------------------------------------------------- duplicate names


def test_duplicate_cluster_names_are_refused_with_client_gos_listing(tmp_path: Path) -> None:
    path = write(tmp_path, (
        "clusters:\n"
        "- name: a\n  cluster: {server: https://x, certificate-authority-data: YWJj, extensions: [{name: e, extension: {a: 1}}]}\n"
        "- name: a\n  cluster: {server: https://y, insecure-skip-tls-verify: true, proxy-url: 'http://p', tls-server-name: t,"
        " disable-compression: true, certificate-authority: /ca}\n"
    ))
    with pytest.raises(ConfigError) as err:
        load_raw(GlobalFlags(kubeconfig=str(path)), ENV)
    assert err.value.message == (
        f'error loading config file "{path}": error converting *[]NamedCluster into *map[string]*api.Cluster: '
        'duplicate name "a" in list: [{a {https://x  false  [97 98 99]  false [{e {[123 34 97 34 58 49 125] <nil>}}]}} '
        "{a {https://y t true /ca [] http://p true []}}]"
    )


def test_duplicate_context_and_extension_names(tmp_path: Path) -> None:
    path = write(tmp_path, "contexts:\n- name: a\n  context: {cluster: c}\n- name: a\n  context: {}\n")
    with pytest.raises(ConfigError) as err:
        load_raw(GlobalFlags(kubeconfig=str(path)), ENV)
    assert err.value.message.endswith(
        'error converting *[]NamedContext into *map[string]*api.Context: duplicate name "a" in list: [{a {c   []}} {a {   []}}]'
    )
    path = write(tmp_path, "extensions:\n- name: a\n  extension: {}\n- name: a\n  extension: {}\n")
    with pytest.raises(ConfigError) as err:
        load_raw(GlobalFlags(kubeconfig=str(path)), ENV)
    assert err.value.message.endswith(
        'error converting *[]NamedExtension into *map[string]runtime.Object: duplicate name "a" in list: '
        "[{a {[123 125] <nil>}} {a {[123 125] <nil>}}]"
    )


def test_duplicate_user_names_never_print_the_credentials(tmp_path: Path) -> None:
    # client-go lists both users, token included; pyvirtctl stops before the list
    path = write(tmp_path, "users:\n- name: u\n  user: {token: s3cr3t}\n- name: u\n  user: {}\n")
    with pytest.raises(ConfigError) as err:
        load_raw(GlobalFlags(kubeconfig=str(path)), ENV)
    assert err.value.message == (
        f'error loading config file "{path}": error converting *[]NamedAuthInfo into *map[string]*api.AuthInfo: '
        'duplicate name "u" in list'
    )
    assert "s3cr3t" not in err.value.message


# --------------------------------------------------------------------------- several files


def test_every_broken_file_is_reported_like_gos_aggregate_error(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    a.write_text("current-context: 5\n")
    b = tmp_path / "b.yaml"
    b.write_text("a: [\n")
    ok = tmp_path / "ok.yaml"
    ok.write_text("current-context: x\n")
    env = {**ENV, "KUBECONFIG": f"{ok}:{a}:{tmp_path / 'missing'}:{b}"}
    with pytest.raises(ConfigError) as err:
        load_raw(GlobalFlags(), env)
    assert err.value.message == (
        f'[error loading config file "{a}": json: cannot unmarshal number into Go struct field Config.current-context '
        f'of type string, error loading config file "{b}": yaml: line 1: did not find expected node content]'
    )


def test_a_directory_is_read_like_os_readfile(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_raw(GlobalFlags(kubeconfig=str(tmp_path)), ENV)
    assert err.value.message == f'error loading config file "{tmp_path}": read {tmp_path}: is a directory'
