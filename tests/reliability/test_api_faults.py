"""API faults from the simulator's fault switches: every answer a user can meet, as a real process.

Each case checks: exit status 1, stderr is one line (after a possible version-skew hint, which the
simulator's matching version never triggers), no Python traceback, a message naming what went wrong
and what to do, and that the run ended (every run has a hard subprocess timeout).
"""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyvirtctl.kube.session import UNAUTHORIZED_HINT
from pyvirtctl.kube.status import PROXY_ADVICE

from .sandbox import closed_port

VM = "testvm"
START_PATH = r"/virtualmachines/testvm/start$"
VMIS_PATH = r"/virtualmachineinstances$"

STATUS_CODES = [400, 401, 403, 404, 409, 422, 429, 500, 503, 504]

# client-go's generic texts for raw reads (the version probe), spec/virtctl.md §1.6
GENERIC = {
    400: "the server rejected our request for an unknown reason",
    401: "the server has asked for the client to provide credentials" + UNAUTHORIZED_HINT,
    403: "unknown",
    404: "the server could not find the requested resource",
    409: "the server reported a conflict",
    422: "the server rejected our request due to an error in our request",
    429: "the server has received too many requests and has asked us to try again later",
    500: 'an error on the server ("unknown") has prevented the request from succeeding',
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
}

# figures for the troubleshooting page
FAULT_KINDS: set[str] = set()


def one_error_line(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    assert "internal error" not in r.stderr, r.stderr
    assert r.stderr.endswith("\n") and r.stderr.count("\n") == 1, repr(r.stderr)
    line = r.stderr[:-1]
    assert line.strip()
    return line


@pytest.fixture(scope="module", autouse=True)
def _summary():
    yield
    # the figure the troubleshooting page quotes (visible with -s)
    print(f"\nAPI fault kinds exercised: {len(FAULT_KINDS)}: {', '.join(sorted(FAULT_KINDS))}")


@pytest.fixture
def vm(sim):
    sim.apply({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
               "metadata": {"name": VM, "namespace": "default"},
               "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}}}}})
    return VM


@pytest.mark.parametrize("code", STATUS_CODES)
def test_status_codes_on_a_subresource_put(sim, cli, vm, code):
    sim.fault({"match": {"method": "PUT", "path_regex": START_PATH}, "action": "status", "status": code,
               "message": f"virt-api says {code}"})
    line = one_error_line(cli("start", vm))
    expected = f"Error starting VirtualMachine virt-api says {code}"
    assert line == expected + (UNAUTHORIZED_HINT if code == 401 else "")
    FAULT_KINDS.add(f"status {code}")


@pytest.mark.parametrize("code", STATUS_CODES)
def test_status_codes_on_a_list(sim, cli, code):
    sim.fault({"match": {"method": "GET", "path_regex": VMIS_PATH}, "action": "status", "status": code,
               "message": f"kube-apiserver says {code}"})
    line = one_error_line(cli("list"))
    assert line == f"kube-apiserver says {code}" + (UNAUTHORIZED_HINT if code == 401 else "")


@pytest.mark.parametrize("code", STATUS_CODES)
def test_status_codes_on_raw_reads_use_client_go_texts(sim, cli, code):
    sim.fault({"match": {"path_regex": r"^/apis/subresources\.kubevirt\.io"}, "action": "status",
               "status": code})
    r = cli("version")
    line = one_error_line(r)
    assert line == "failed to get server version: " + GENERIC[code]
    assert r.stdout.startswith("Client Version: ")


def test_html_error_page_from_a_proxy(sim, cli, vm):
    sim.fault({"match": {"path_regex": START_PATH}, "action": "html", "status": 502, "message": "Bad Gateway"})
    line = one_error_line(cli("start", vm))
    assert line.startswith('Error starting VirtualMachine an error on the server ("502 Bad Gateway") '
                           "has prevented the request from succeeding")
    assert "<html>" not in line and PROXY_ADVICE in line
    FAULT_KINDS.add("html 5xx")


def test_html_forbidden_page_is_summarised(sim, cli, vm):
    sim.fault({"match": {"path_regex": START_PATH}, "action": "html", "status": 403, "message": "Access denied"})
    line = one_error_line(cli("start", vm))
    assert line == f"Error starting VirtualMachine 403 Access denied (the answer was an HTML page: {PROXY_ADVICE})"
    FAULT_KINDS.add("html 403")


def test_html_login_page_with_status_200(sim, cli, vm):
    sim.fault({"match": {"path_regex": VMIS_PATH}, "action": "html", "status": 200, "message": "Sign in"})
    line = one_error_line(cli("list"))
    assert "with an HTML page (\"200 Sign in\") instead of JSON" in line
    assert PROXY_ADVICE in line
    FAULT_KINDS.add("html 200")


@pytest.mark.parametrize(("argv", "path"), [(["list"], VMIS_PATH), (["pause", "vm", VM], r"/virtualmachines/testvm$"),
                                            (["status", VM], r"/virtualmachines/testvm$")])
def test_empty_body_with_200(sim, cli, vm, argv, path):
    sim.fault({"match": {"method": "GET", "path_regex": path}, "action": "empty", "status": 200})
    line = one_error_line(cli(*argv))
    assert line.endswith("0-length response with status code: 200 and content type: application/json")
    FAULT_KINDS.add("empty 200")


def test_empty_body_with_500(sim, cli, vm):
    sim.fault({"match": {"path_regex": START_PATH}, "action": "empty", "status": 500})
    line = one_error_line(cli("start", vm))
    assert line == 'Error starting VirtualMachine an error on the server ("unknown") has prevented the request from succeeding'
    FAULT_KINDS.add("empty 500")


def test_connection_refused(run_cli_raw, sim):
    port = closed_port()
    r = run_cli_raw(["--server", f"https://127.0.0.1:{port}", "--insecure-skip-tls-verify", "start", VM])
    line = one_error_line(r)
    assert line == (f'Error starting VirtualMachine Put "https://127.0.0.1:{port}/apis/subresources.kubevirt.io/v1/'
                    f'namespaces/default/virtualmachines/{VM}/start": dial tcp 127.0.0.1:{port}: connect: connection refused')
    FAULT_KINDS.add("connection refused")


def test_reset_before_the_answer(sim, cli, vm):
    sim.fault({"match": {"path_regex": START_PATH}, "action": "reset"})
    line = one_error_line(cli("start", vm))
    assert line.startswith('Error starting VirtualMachine Put "')
    assert line.endswith(("read: connection reset by peer", ": EOF"))
    FAULT_KINDS.add("reset before answer")


def test_reset_mid_response(sim, cli, vm):
    sim.fault({"match": {"method": "GET", "path_regex": VMIS_PATH}, "action": "reset", "bytes": 40})
    line = one_error_line(cli("list"))
    # the head arrived, the body was cut: client-go's words for a body read error (no URL), as virtctl prints
    assert line.startswith("unexpected error when reading response body. Please retry. Original error: "), line
    assert line.endswith(("connection reset by peer", "unexpected EOF")), line
    FAULT_KINDS.add("reset mid-response")


def test_a_server_that_never_answers_is_bounded_by_request_timeout(sim, cli, vm):
    sim.fault({"match": {"path_regex": START_PATH}, "action": "hang", "seconds": 60})
    started = time.monotonic()
    line = one_error_line(cli("--request-timeout=1s", "start", vm, timeout=30))
    elapsed = time.monotonic() - started
    assert line.endswith("context deadline exceeded (Client.Timeout exceeded while awaiting headers)"), line
    assert "?timeout=1s" in line
    print(f"hang bounded by --request-timeout=1s: returned after {elapsed:.1f}s")
    FAULT_KINDS.add("hang")


def test_slow_but_answering_server_is_fine(sim, cli, vm):
    sim.fault({"match": {"path_regex": START_PATH}, "action": "delay", "seconds": 0.5, "times": 1})
    r = cli("--request-timeout=10s", "start", vm)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"VM {VM} was scheduled to start\n", "")
    FAULT_KINDS.add("delay")


def test_expired_or_wrong_token(sim, cli, vm):
    line = one_error_line(cli("--token", "expired-token-123", "start", vm))
    assert line == "Error starting VirtualMachine Unauthorized" + UNAUTHORIZED_HINT
    assert "expired-token-123" not in line
    FAULT_KINDS.add("expired token")


def _kubeconfig_without_ca(sim, tmp_path: Path, server: str) -> Path:
    kc = tmp_path / "no-ca.kubeconfig"
    kc.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters:\n- name: c\n  cluster:\n    server: {server}\n"
        "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n"
        f"users:\n- name: u\n  user:\n    token: {sim.token}\n", encoding="utf-8")
    return kc


def test_tls_unknown_ca_names_the_flags(sim, run_cli_raw, tmp_path, vm):
    kc = _kubeconfig_without_ca(sim, tmp_path, sim.url)
    line = one_error_line(run_cli_raw(["--kubeconfig", str(kc), "start", vm]))
    assert "x509: certificate signed by unknown authority" in line
    assert "--certificate-authority" in line and "--insecure-skip-tls-verify" in line
    # ... and asking for it explicitly works (verification is on unless turned off)
    r = run_cli_raw(["--kubeconfig", str(kc), "--insecure-skip-tls-verify", "list"])
    assert (r.returncode, r.stderr) == (0, "")
    r = run_cli_raw(["--kubeconfig", str(kc), "--certificate-authority", sim.ca_file, "list"])
    assert (r.returncode, r.stderr) == (0, "")
    FAULT_KINDS.add("tls unknown CA")


def test_tls_wrong_name_names_the_flags(sim, run_cli_raw, tmp_path, vm):
    kc = _kubeconfig_without_ca(sim, tmp_path, sim.url)
    line = one_error_line(run_cli_raw(["--kubeconfig", str(kc), "--certificate-authority", sim.ca_file,
                                       "--tls-server-name", "api.wrong.example", "start", vm]))
    assert "x509: certificate is valid for localhost, 127.0.0.1, not api.wrong.example" in line
    assert "--tls-server-name" in line and "--insecure-skip-tls-verify" in line
    assert "--certificate-authority" in line
    r = run_cli_raw(["--kubeconfig", str(kc), "--certificate-authority", sim.ca_file,
                     "--tls-server-name", "localhost", "start", vm])
    assert (r.returncode, r.stderr) == (0, "")
    FAULT_KINDS.add("tls wrong name")


def test_tls_to_a_plain_http_port(run_cli_raw, sim, tmp_path):
    """An https:// URL pointing at a plain-HTTP listener (a common kubeconfig typo)."""
    import http.server
    import threading

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        r = run_cli_raw(["--server", f"https://127.0.0.1:{server.server_address[1]}", "start", VM])
    finally:
        server.shutdown()
        server.server_close()
    line = one_error_line(r)
    assert line.endswith("http: server gave HTTP response to HTTPS client"), line
    FAULT_KINDS.add("https to http port")


def test_bad_ca_file_and_insecure_conflict(run_cli_raw, sim, tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    line = one_error_line(run_cli_raw(["--server", sim.url, "--certificate-authority", str(bad), "start", VM]))
    assert "unable to load root certificates" in line
    line = one_error_line(run_cli_raw(["--server", sim.url, "--certificate-authority", sim.ca_file,
                                       "--insecure-skip-tls-verify", "start", VM]))
    assert "specifying a root certificates file with the insecure flag is not allowed" in line
    FAULT_KINDS.add("bad CA / insecure conflict")


def test_half_configured_kubeconfigs(run_cli_raw, tmp_path):
    cases = {
        "missing file": (["--kubeconfig", str(tmp_path / "nope"), "start", VM], "nope"),
        "unknown context": (["--kubeconfig", str(_write(tmp_path / "a", "apiVersion: v1\nkind: Config\n")),
                             "--context", "ghost", "start", VM], "ghost"),
        "not yaml": (["--kubeconfig", str(_write(tmp_path / "b", "{{{{ not: [yaml")), "start", VM], ""),
        "bad ca data": (["--kubeconfig", str(_write(tmp_path / "c", _kc("https://127.0.0.1:1",
                        "    certificate-authority-data: " + base64.b64encode(b"junk").decode() + "\n"))),
                         "start", VM], "certificate"),
        "unsupported scheme": (["--server", "ftp://127.0.0.1:1", "start", VM], ""),
        "bad proxy url": (["--kubeconfig", str(_write(tmp_path / "d", _kc("https://127.0.0.1:1",
                           "    proxy-url: '::not a url'\n"))), "start", VM], ""),
    }
    for what, (argv, needle) in cases.items():
        r = run_cli_raw(argv)
        assert r.returncode == 1, (what, r.stderr)
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, (what, r.stderr)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        # virtctl prints a client-construction error twice (hint + error, Appendix C.21); at most that
        assert 1 <= len(lines) <= 2, (what, r.stderr)
        assert needle in r.stderr, (what, r.stderr)
    FAULT_KINDS.add("half-configured kubeconfigs")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _kc(server: str, extra_cluster: str = "") -> str:
    return ("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            f"clusters:\n- name: c\n  cluster:\n    server: {server}\n{extra_cluster}"
            "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n"
            "users:\n- name: u\n  user:\n    token: t\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-s"]))


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        (["start"], "accepts 1 arg(s), received 0\n"),
        (["stop", "-A"], "--all-namespaces needs --selector or --all\n"),
        (["pause", "vm"], "accepts 2 arg(s), received 1\n"),
        (["start", "a/b"], "Error starting VirtualMachine invalid resource name \"a/b\": [may not contain '/']\n"),
        (["start", "vm1", "--paused", "false"],
         "\"false\" after --paused would be taken as a VM name: a bool flag takes its value only with '=', "
         "write --paused=false\n"),
    ],
)
def test_a_wrong_command_line_is_reported_without_asking_the_server(sim, cli, argv, err):
    # every request would hang: a wrong command line must not make one (virtctl's version probe included)
    sim.fault({"match": {"path_regex": "."}, "action": "hang", "seconds": 60})
    r = cli(*argv, timeout=20)
    assert (r.returncode, r.stdout, r.stderr) == (1, "", err)
    assert sim.requests() == []
