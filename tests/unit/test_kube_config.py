"""kubeconfig resolution: kubectl/client-go's rules, file by file and flag by flag."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pyvirtctl.errors import ConfigError
from pyvirtctl.kube.config import (
    GlobalFlags,
    format_go_duration,
    kubeconfig_names,
    load_config,
    parse_go_duration,
    parse_request_timeout,
    proxy_from_environment,
    resolve_namespace,
    strip_namespace_prefix,
)

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def kubeconfig(path: Path, *, current: str | None, clusters=(), contexts=(), users=()) -> Path:
    lines = ["apiVersion: v1", "kind: Config"]
    if current is not None:
        lines.append(f"current-context: {current}")
    lines.append("clusters:")
    for name, server in clusters:
        lines += [f"- name: {name}", "  cluster:", f"    server: {server}"]
    lines.append("contexts:")
    for name, cluster, user, ns in contexts:
        lines += [f"- name: {name}", "  context:", f"    cluster: {cluster}", f"    user: {user}"]
        if ns:
            lines.append(f"    namespace: {ns}")
    lines.append("users:")
    for name, token in users:
        lines += [f"- name: {name}", "  user:", f"    token: {token}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture()
def two_files(tmp_path: Path) -> tuple[Path, Path]:
    a = kubeconfig(
        tmp_path / "a" / "config",
        current="ctxa",
        clusters=[("ca", "https://a.example:6443"), ("shared", "https://shared-from-a:6443")],
        contexts=[("ctxa", "ca", "ua", "ns-a"), ("shared", "shared", "ua", "")],
        users=[("ua", "token-a")],
    )
    b = kubeconfig(
        tmp_path / "b" / "config",
        current="ctxb",
        clusters=[("cb", "https://b.example:6443"), ("shared", "https://shared-from-b:6443")],
        contexts=[("ctxb", "cb", "ub", "ns-b"), ("shared", "cb", "ub", "ns-shared-b")],
        users=[("ub", "token-b")],
    )
    return a, b


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"HOME": str(tmp_path / "home")}
    env.update(extra)
    return env


# ------------------------------------------------------------------ pure helpers


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("ns/foo", "foo"),
        ("namespace/foo", "foo"),
        ("namespaces/foo", "foo"),
        ("NS/foo", "foo"),
        ("Namespaces/foo", "foo"),
        ("ns/", "ns/"),
        ("namespaces/", "namespaces/"),
        ("foo", "foo"),
        ("nsx/foo", "nsx/foo"),
        ("ns/a/b", "a/b"),
        ("", ""),
    ],
)
def test_strip_namespace_prefix(given: str, expected: str) -> None:
    assert strip_namespace_prefix(given) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("1s", 1.0),
        ("2m", 120.0),
        ("3h", 10800.0),
        ("500ms", 0.5),
        ("1h30m", 5400.0),
        ("1.5s", 1.5),
        ("2m3.5s", 123.5),
        ("100us", 0.0001),
        ("100\u00b5s", 0.0001),
        ("10ns", 1e-8),
        ("-1s", -1.0),
        ("+4s", 4.0),
    ],
)
def test_parse_go_duration(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1", 'time: missing unit in duration "1"'),
        ("1x", 'time: unknown unit "x" in duration "1x"'),
        ("s", 'time: invalid duration "s"'),
        ("", 'time: invalid duration ""'),
        ("-", 'time: invalid duration "-"'),
    ],
)
def test_parse_go_duration_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_go_duration(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", None), ("", None), ("5", 5.0), ("30s", 30.0), ("2m", 120.0), ("500ms", 0.5), ("-1s", None)],
)
def test_parse_request_timeout(text: str, expected: float | None) -> None:
    assert parse_request_timeout(text) == expected


@pytest.mark.parametrize("text", ["abc", "1x", "-5", "5 s", "1.5"])
def test_parse_request_timeout_invalid(text: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_request_timeout(text)
    assert err.value.message.startswith("Invalid timeout value. Timeout must be a single integer in seconds")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5s"),
        (90, "1m30s"),
        (0.5, "500ms"),
        (3600, "1h0m0s"),
        (120, "2m0s"),
        (1.5, "1.5s"),
        (0, "0s"),
        (0.000001, "1\u00b5s"),
    ],
)
def test_format_go_duration(seconds: float, text: str) -> None:
    assert format_go_duration(seconds) == text


# ------------------------------------------------------------------ which files


def test_kubeconfig_env_merges_first_wins(tmp_path: Path, two_files) -> None:
    a, b = two_files
    env = env_for(tmp_path, KUBECONFIG=f"{a}:{b}")
    cfg = load_config(GlobalFlags(), env)
    assert cfg.context_name == "ctxa"  # the first file setting current-context wins
    assert cfg.server == "https://a.example:6443"
    assert cfg.namespace == "ns-a"
    assert cfg.token == "token-a"
    # a name defined in both files: the first file's entry, as a whole
    shared = load_config(GlobalFlags(context="shared"), env)
    assert shared.server == "https://shared-from-a:6443"
    assert shared.namespace == "default"  # a's 'shared' context has no namespace; b's is not merged in
    # names only in the second file are still available
    assert load_config(GlobalFlags(context="ctxb"), env).server == "https://b.example:6443"


def test_first_file_without_current_context_lets_a_later_one_decide(tmp_path: Path, two_files) -> None:
    a, b = two_files
    first = kubeconfig(tmp_path / "c" / "config", current=None, clusters=[("cx", "https://x:1")])
    cfg = load_config(GlobalFlags(), env_for(tmp_path, KUBECONFIG=f"{first}:{b}:{a}"))
    assert cfg.context_name == "ctxb"
    assert cfg.namespace == "ns-b"


def test_missing_files_in_kubeconfig_env_are_skipped(tmp_path: Path, two_files) -> None:
    _, b = two_files
    cfg = load_config(GlobalFlags(), env_for(tmp_path, KUBECONFIG=f"{tmp_path}/nope::{b}"))
    assert cfg.context_name == "ctxb"
    assert cfg.kubeconfig_files == [str(b)]


def test_explicit_kubeconfig_beats_env(tmp_path: Path, two_files) -> None:
    a, b = two_files
    cfg = load_config(GlobalFlags(kubeconfig=str(b)), env_for(tmp_path, KUBECONFIG=str(a)))
    assert cfg.context_name == "ctxb"


def test_explicit_kubeconfig_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(GlobalFlags(kubeconfig=str(tmp_path / "nope")), env_for(tmp_path))
    assert err.value.message == f"stat {tmp_path}/nope: no such file or directory"


def test_home_kube_config_is_the_fallback(tmp_path: Path, two_files) -> None:
    _, b = two_files
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text(b.read_text())
    cfg = load_config(GlobalFlags(), {"HOME": str(home)})
    assert cfg.context_name == "ctxb"


def test_no_config_at_all_is_the_legacy_localhost_default(tmp_path: Path) -> None:
    cfg = load_config(GlobalFlags(), env_for(tmp_path), serviceaccount_dir=str(tmp_path / "nosa"))
    assert cfg.server == "http://localhost:8080"
    assert cfg.namespace == "default"
    master = load_config(
        GlobalFlags(),
        env_for(tmp_path, KUBERNETES_MASTER="http://10.1.2.3:8080"),
        serviceaccount_dir=str(tmp_path),
    )
    assert master.server == "http://10.1.2.3:8080"


def test_broken_yaml_is_one_clear_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad", "clusters: [\n  - {name: x\n")
    with pytest.raises(ConfigError) as err:
        load_config(GlobalFlags(kubeconfig=str(bad)), env_for(tmp_path))
    assert err.value.message.startswith(f'error loading config file "{bad}": ')
    assert "\n" not in err.value.message


def test_bad_base64_data(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad",
        """\
        clusters:
        - name: c
          cluster: {server: "https://h:1", certificate-authority-data: "not*base64"}
        """,
    )
    with pytest.raises(ConfigError) as err:
        load_config(GlobalFlags(kubeconfig=str(bad)), env_for(tmp_path))
    assert err.value.message == f'error loading config file "{bad}": illegal base64 data at input byte 3'


# ------------------------------------------------------------------ in-cluster


@pytest.fixture()
def sa_dir(tmp_path: Path) -> Path:
    d = tmp_path / "sa"
    d.mkdir()
    (d / "token").write_text("pod-token\n")
    (d / "namespace").write_text("pod-ns\n")
    return d


def test_in_cluster_when_nothing_else_is_configured(tmp_path: Path, sa_dir: Path) -> None:
    env = env_for(tmp_path, KUBERNETES_SERVICE_HOST="10.0.0.1", KUBERNETES_SERVICE_PORT="443")
    cfg = load_config(GlobalFlags(), env, serviceaccount_dir=str(sa_dir))
    assert cfg.in_cluster
    assert cfg.server == "https://10.0.0.1:443"
    assert cfg.auth_headers()["Authorization"] == "Bearer pod-token"
    assert cfg.namespace == "pod-ns"
    env["POD_NAMESPACE"] = "from-env"
    assert load_config(GlobalFlags(), env, serviceaccount_dir=str(sa_dir)).namespace == "from-env"
    assert resolve_namespace(GlobalFlags(), env, serviceaccount_dir=str(sa_dir)) == "from-env"
    assert load_config(GlobalFlags(namespace="ns/x"), env, serviceaccount_dir=str(sa_dir)).namespace == "x"


def test_in_cluster_ipv6_host(tmp_path: Path, sa_dir: Path) -> None:
    env = env_for(tmp_path, KUBERNETES_SERVICE_HOST="fd00::1", KUBERNETES_SERVICE_PORT="6443")
    assert load_config(GlobalFlags(), env, serviceaccount_dir=str(sa_dir)).server == "https://[fd00::1]:6443"


def test_in_cluster_needs_the_token_file(tmp_path: Path) -> None:
    env = env_for(tmp_path, KUBERNETES_SERVICE_HOST="10.0.0.1", KUBERNETES_SERVICE_PORT="443")
    cfg = load_config(GlobalFlags(), env, serviceaccount_dir=str(tmp_path / "empty"))
    assert not cfg.in_cluster
    assert cfg.server == "http://localhost:8080"


def test_kubeconfig_beats_in_cluster_but_pod_namespace_fills_a_gap(
    tmp_path: Path, sa_dir: Path, two_files
) -> None:
    a, _ = two_files
    env = env_for(
        tmp_path, KUBECONFIG=str(a), KUBERNETES_SERVICE_HOST="10.0.0.1", KUBERNETES_SERVICE_PORT="443"
    )
    cfg = load_config(GlobalFlags(), env, serviceaccount_dir=str(sa_dir))
    assert not cfg.in_cluster and cfg.namespace == "ns-a"
    # the 'shared' context sets no namespace: in a pod, the pod's namespace is used (clientcmd rule)
    assert (
        load_config(GlobalFlags(context="shared"), env, serviceaccount_dir=str(sa_dir)).namespace == "pod-ns"
    )


def test_a_flag_makes_the_config_non_default_so_no_in_cluster(tmp_path: Path, sa_dir: Path) -> None:
    env = env_for(tmp_path, KUBERNETES_SERVICE_HOST="10.0.0.1", KUBERNETES_SERVICE_PORT="443")
    cfg = load_config(GlobalFlags(server="https://other:6443"), env, serviceaccount_dir=str(sa_dir))
    assert not cfg.in_cluster and cfg.server == "https://other:6443"


# ------------------------------------------------------------------ contexts and overrides


def test_context_cluster_user_overrides(tmp_path: Path, two_files) -> None:
    a, b = two_files
    env = env_for(tmp_path, KUBECONFIG=f"{a}:{b}")
    cfg = load_config(GlobalFlags(context="ctxa", cluster="cb", user="ub"), env)
    assert (cfg.server, cfg.token, cfg.namespace) == ("https://b.example:6443", "token-b", "ns-a")
    assert (cfg.context_name, cfg.cluster_name, cfg.user_name) == ("ctxa", "cb", "ub")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (GlobalFlags(context="nope"), 'context "nope" does not exist'),
        (GlobalFlags(cluster="nope"), 'cluster "nope" does not exist'),
        (GlobalFlags(user="nope"), 'auth info "nope" does not exist'),
    ],
)
def test_unknown_names(tmp_path: Path, two_files, flags: GlobalFlags, message: str) -> None:
    a, _ = two_files
    with pytest.raises(ConfigError) as err:
        load_config(flags, env_for(tmp_path, KUBECONFIG=str(a)))
    assert err.value.message == message


def test_dangling_current_context(tmp_path: Path) -> None:
    kc = kubeconfig(tmp_path / "kc", current="gone", clusters=[("c", "https://h:1")])
    with pytest.raises(ConfigError) as err:
        load_config(GlobalFlags(kubeconfig=str(kc)), env_for(tmp_path))
    assert err.value.message == "invalid configuration: context was not found for specified context: gone"


def test_namespace_resolution(tmp_path: Path, two_files) -> None:
    a, _ = two_files
    env = env_for(tmp_path, KUBECONFIG=str(a))
    cases = [
        (GlobalFlags(), "ns-a", False),
        (GlobalFlags(namespace="explicit"), "explicit", True),
        (GlobalFlags(namespace="namespaces/explicit"), "explicit", True),
        (GlobalFlags(context="shared"), "default", False),
    ]
    for flags, ns, explicit in cases:
        cfg = load_config(flags, env, serviceaccount_dir=str(tmp_path / "nosa"))
        assert (cfg.namespace, cfg.namespace_explicit) == (ns, explicit)
        assert resolve_namespace(flags, env, serviceaccount_dir=str(tmp_path / "nosa")) == ns


def test_kubeconfig_names(tmp_path: Path, two_files, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = two_files
    monkeypatch.setenv("KUBECONFIG", f"{a}:{b}")
    assert kubeconfig_names(GlobalFlags(), "contexts") == ["ctxa", "ctxb", "shared"]
    assert kubeconfig_names(GlobalFlags(), "clusters") == ["ca", "cb", "shared"]
    assert kubeconfig_names(GlobalFlags(kubeconfig=str(b)), "users") == ["ub"]
    assert kubeconfig_names(GlobalFlags(kubeconfig=str(tmp_path / "none")), "users") == []


def test_server_token_and_tls_flags(tmp_path: Path, two_files) -> None:
    a, _ = two_files
    ca = write(tmp_path / "ca.crt", "x")
    cfg = load_config(
        GlobalFlags(
            server="https://flag:1", token="flagtok", certificate_authority=str(ca), tls_server_name="api"
        ),
        env_for(tmp_path, KUBECONFIG=str(a)),
    )
    assert (cfg.server, cfg.token, cfg.ca_file, cfg.tls_server_name) == (
        "https://flag:1",
        "flagtok",
        str(ca),
        "api",
    )


def test_relative_paths_are_relative_to_their_file(tmp_path: Path) -> None:
    d = tmp_path / "dir"
    write(d / "certs" / "ca.crt", "ca")
    write(d / "tok", "file-token\n")
    kc = write(
        d / "config",
        """\
        current-context: c
        clusters:
        - name: c
          cluster: {server: "https://h:1", certificate-authority: certs/ca.crt}
        contexts:
        - name: c
          context: {cluster: c, user: u}
        users:
        - name: u
          user: {tokenFile: tok}
        """,
    )
    os.chdir(tmp_path)
    cfg = load_config(GlobalFlags(kubeconfig=str(kc)), env_for(tmp_path))
    assert cfg.ca_file == str(d / "certs" / "ca.crt")
    assert cfg.token_file == str(d / "tok")
    assert cfg.auth_headers()["Authorization"] == "Bearer file-token"


def tls_kubeconfig(tmp_path: Path, cluster_extra: str = "", user: str = "token: t") -> Path:
    """One context `c` -> cluster `c` (https://h:6443) + user `u`; extra lines are indented 4 spaces."""
    text = (
        "current-context: c\n"
        "clusters:\n"
        "- name: c\n"
        "  cluster:\n"
        "    server: https://h:6443\n"
        f"    {cluster_extra}\n"
        "contexts:\n"
        "- name: c\n"
        "  context: {cluster: c, user: u}\n"
        "users:\n"
        "- name: u\n"
        "  user:\n"
        f"    {user}\n"
    )
    path = tmp_path / "tlskc"
    path.write_text(text)
    return path


def test_insecure_flag_replaces_the_kubeconfig_ca(tmp_path: Path) -> None:
    data = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    kc = tls_kubeconfig(tmp_path, f"certificate-authority-data: {data}")
    cfg = load_config(GlobalFlags(kubeconfig=str(kc), insecure_skip_tls_verify=True), env_for(tmp_path))
    assert cfg.insecure and not cfg.has_ca
    assert cfg.ssl_context().verify_mode.name == "CERT_NONE"


def test_insecure_and_ca_together_conflict(tmp_path: Path) -> None:
    ca = write(tmp_path / "ca.crt", "x")
    kc = tls_kubeconfig(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_config(
            GlobalFlags(kubeconfig=str(kc), insecure_skip_tls_verify=True, certificate_authority=str(ca)),
            env_for(tmp_path),
        )
    assert err.value.message == "specifying a root certificates file with the insecure flag is not allowed"
    kc2 = tls_kubeconfig(tmp_path, f"certificate-authority: {ca}\n    insecure-skip-tls-verify: true")
    with pytest.raises(ConfigError):
        load_config(GlobalFlags(kubeconfig=str(kc2)), env_for(tmp_path))


def test_unreadable_certificate_files(tmp_path: Path) -> None:
    kc = tls_kubeconfig(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_config(GlobalFlags(kubeconfig=str(kc), certificate_authority="/nope/ca.crt"), env_for(tmp_path))
    assert err.value.message == (
        "invalid configuration: unable to read certificate-authority /nope/ca.crt for c due to "
        "open /nope/ca.crt: no such file or directory"
    )
    with pytest.raises(ConfigError) as err:
        load_config(GlobalFlags(kubeconfig=str(kc), client_certificate="/nope/c.crt"), env_for(tmp_path))
    assert err.value.message == (
        "invalid configuration: [client-key-data or client-key must be specified for u to use the clientCert "
        "authentication method., unable to read client-cert /nope/c.crt for u due to open /nope/c.crt: no such "
        "file or directory]"
    )


def test_impersonation_headers(tmp_path: Path) -> None:
    kc = tls_kubeconfig(tmp_path)
    cfg = load_config(
        GlobalFlags(kubeconfig=str(kc), as_user="alice", as_group=["g1", "g2"], as_uid="42"),
        env_for(tmp_path),
    )
    assert cfg.auth_header_items() == [
        ("Authorization", "Bearer t"),
        ("Impersonate-User", "alice"),
        ("Impersonate-Uid", "42"),
        ("Impersonate-Group", "g1"),
        ("Impersonate-Group", "g2"),
    ]
    from_file = tls_kubeconfig(
        tmp_path,
        user="as: bob\n    as-groups: [devs]\n    as-user-extra: {scopes: [a, b]}\n    token: t",
    )
    cfg = load_config(GlobalFlags(kubeconfig=str(from_file)), env_for(tmp_path))
    assert cfg.auth_header_items()[1:] == [
        ("Impersonate-User", "bob"),
        ("Impersonate-Group", "devs"),
        ("Impersonate-Extra-scopes", "a"),
        ("Impersonate-Extra-scopes", "b"),
    ]


def test_groups_without_user_are_rejected(tmp_path: Path) -> None:
    kc = tls_kubeconfig(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_config(GlobalFlags(kubeconfig=str(kc), as_group=["g"]), env_for(tmp_path))
    assert (
        err.value.message
        == "invalid configuration: requesting uid, groups or user-extra for u without impersonating a user"
    )


def test_basic_auth(tmp_path: Path) -> None:
    kc = tls_kubeconfig(tmp_path, user="username: admin\n    password: s3cret")
    cfg = load_config(GlobalFlags(kubeconfig=str(kc)), env_for(tmp_path))
    assert cfg.auth_headers() == {"Authorization": "Basic " + base64.b64encode(b"admin:s3cret").decode()}
    assert "s3cret" not in repr(cfg)


def test_token_and_basic_auth_together(tmp_path: Path) -> None:
    kc = tls_kubeconfig(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_config(GlobalFlags(kubeconfig=str(kc), username="u", password="p"), env_for(tmp_path))
    assert err.value.message == (
        "invalid configuration: more than one authentication method found for u; found [token basicAuth], only one is allowed"
    )
    tok = write(tmp_path / "tok", "from-file")
    kc2 = tls_kubeconfig(tmp_path, user=f"tokenFile: {tok}\n    username: u\n    password: p")
    with pytest.raises(ConfigError) as err:
        load_config(GlobalFlags(kubeconfig=str(kc2)), env_for(tmp_path))
    assert err.value.message == "username/password or bearer token may be set, but not both"


def test_plain_http_server_sends_no_credentials(tmp_path: Path) -> None:
    # client-go only reads user credentials for https servers; impersonation still applies
    cfg = load_config(GlobalFlags(server="http://127.0.0.1:1", token="t", as_user="x"), env_for(tmp_path))
    assert cfg.auth_header_items() == [("Impersonate-User", "x")]


def test_request_timeout_and_proxy_flags(tmp_path: Path) -> None:
    cfg = load_config(
        GlobalFlags(server="https://h:1", request_timeout="2m", proxy_url="socks5://p:1080"),
        env_for(tmp_path),
    )
    assert cfg.timeout == 120.0
    assert cfg.proxy_for("https://h:1") == "socks5://p:1080"
    with pytest.raises(ConfigError) as err:
        load_config(GlobalFlags(request_timeout="soon"), env_for(tmp_path))
    assert err.value.message.startswith("Invalid timeout value.")
    with pytest.raises(ConfigError) as err:
        load_config(GlobalFlags(server="https://h:1", proxy_url="ftp://p:1"), env_for(tmp_path))
    assert err.value.message == (
        'invalid configuration: invalid \'proxy-url\' "ftp://p:1" for cluster "": '
        'unsupported scheme "ftp", must be http, https, or socks5'
    )


def test_exec_plugin(tmp_path: Path) -> None:
    plugin = write(
        tmp_path / "bin" / "cred-plugin",
        f"""\
        #!{sys.executable}
        import json, os, sys
        info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
        assert info["kind"] == "ExecCredential"
        print(json.dumps({{"apiVersion": info["apiVersion"], "kind": "ExecCredential",
                          "status": {{"token": "exec-" + sys.argv[1] + "-" + os.environ["EXTRA"]}}}}))
        """,
    )
    plugin.chmod(0o755)
    kc = tls_kubeconfig(
        tmp_path,
        user=(
            "exec:\n"
            "      apiVersion: client.authentication.k8s.io/v1beta1\n"
            "      command: bin/cred-plugin\n"
            "      args: [arg1]\n"
            "      env: [{name: EXTRA, value: ok}]"
        ),
    )
    cfg = load_config(GlobalFlags(kubeconfig=str(kc)), env_for(tmp_path))
    assert cfg.auth_headers() == {"Authorization": "Bearer exec-arg1-ok"}


def test_exec_plugin_failure_is_one_line(tmp_path: Path) -> None:
    kc = tls_kubeconfig(
        tmp_path,
        user="exec:\n      apiVersion: client.authentication.k8s.io/v1\n      interactiveMode: Never\n      command: no-such-plugin-xyz",
    )
    cfg = load_config(GlobalFlags(kubeconfig=str(kc)), env_for(tmp_path))
    with pytest.raises(ConfigError) as err:
        cfg.auth_headers()
    assert err.value.message == "getting credentials: exec: executable no-such-plugin-xyz not found"


def test_exec_v1_needs_interactive_mode(tmp_path: Path) -> None:
    kc = tls_kubeconfig(
        tmp_path, user="exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: x"
    )
    with pytest.raises(ConfigError) as err:
        load_config(GlobalFlags(kubeconfig=str(kc)), env_for(tmp_path))
    assert (
        err.value.message
        == "invalid configuration: interactiveMode must be specified for u to use exec authentication plugin"
    )


def test_static_credentials_do_not_import_kubernetes(tmp_path: Path) -> None:
    kc = tls_kubeconfig(tmp_path)
    code = (
        "import sys\n"
        "from pyvirtctl.kube.config import GlobalFlags, load_config\n"
        "from pyvirtctl.kube.session import Session\n"
        f"cfg = load_config(GlobalFlags(kubeconfig={str(kc)!r}, insecure_skip_tls_verify=True))\n"
        "from pyvirtctl.streams.websocket import dial_target\n"
        "s = Session(cfg); dial_target(s, '/x'); cfg.auth_headers()\n"
        "print(sorted(m for m in ('kubernetes', 'rich', 'websocket', 'pydantic') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ proxies from the environment


@pytest.mark.parametrize(
    ("url", "env", "expected"),
    [
        ("https://api.example.com:6443", {"HTTPS_PROXY": "http://p:3128"}, "http://p:3128"),
        ("https://api.example.com:6443", {"https_proxy": "p:3128"}, "http://p:3128"),
        ("https://api.example.com:6443", {"HTTP_PROXY": "http://p:3128"}, None),
        ("http://api.example.com:8080", {"HTTP_PROXY": "http://p:3128"}, "http://p:3128"),
        ("https://127.0.0.1:6443", {"HTTPS_PROXY": "http://p:3128"}, None),
        ("https://localhost:6443", {"HTTPS_PROXY": "http://p:3128"}, None),
        ("https://[::1]:6443", {"HTTPS_PROXY": "http://p:3128"}, None),
        ("https://api.example.com", {"HTTPS_PROXY": "http://p", "NO_PROXY": "example.com"}, None),
        ("https://api.example.com", {"HTTPS_PROXY": "http://p", "NO_PROXY": ".example.com"}, None),
        ("https://api.example.com", {"HTTPS_PROXY": "http://p", "NO_PROXY": "*.example.com"}, None),
        ("https://example.com", {"HTTPS_PROXY": "http://p", "NO_PROXY": ".example.com"}, None),
        ("https://badexample.com", {"HTTPS_PROXY": "http://p", "NO_PROXY": "example.com"}, "http://p"),
        ("https://10.1.2.3:6443", {"HTTPS_PROXY": "http://p", "NO_PROXY": "10.0.0.0/8"}, None),
        ("https://10.1.2.3:6443", {"HTTPS_PROXY": "http://p", "NO_PROXY": "10.1.2.3"}, None),
        ("https://11.1.2.3:6443", {"HTTPS_PROXY": "http://p", "NO_PROXY": "10.0.0.0/8"}, "http://p"),
        (
            "https://api.example.com:6443",
            {"HTTPS_PROXY": "http://p", "NO_PROXY": "api.example.com:443"},
            "http://p",
        ),
        (
            "https://api.example.com:6443",
            {"HTTPS_PROXY": "http://p", "NO_PROXY": "api.example.com:6443"},
            None,
        ),
        ("https://api.example.com", {"HTTPS_PROXY": "http://p", "NO_PROXY": "*"}, None),
        ("https://api.example.com", {"HTTPS_PROXY": "socks5://p:1080"}, "socks5://p:1080"),
    ],
)
def test_proxy_from_environment(url: str, env: dict[str, str], expected: str | None) -> None:
    assert proxy_from_environment(url, env) == expected


def test_global_flags_from_params() -> None:
    flags = GlobalFlags.from_params(
        {
            "namespace": "x",
            "as_group": ("a", "b"),
            "insecure_skip_tls_verify": True,
            "token": None,
            "unknown": 1,
        }
    )
    assert flags.namespace == "x" and flags.as_group == ["a", "b"] and flags.insecure_skip_tls_verify
    assert flags.token == "" and flags.request_timeout == "0"
    assert "token" not in repr(GlobalFlags(token="secret")) or "secret" not in repr(
        GlobalFlags(token="secret")
    )
