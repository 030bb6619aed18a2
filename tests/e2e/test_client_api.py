"""The Python API (`pyvirtctl.Client`) against the simulator, in-process."""

from __future__ import annotations

import pytest

from pyvirtctl import Client
from pyvirtctl.errors import ApiError
from pyvirtctl.kubevirt import WaitError
from tests.e2e.test_lifecycle import vm


@pytest.fixture
def client(sim):
    c = Client.from_kubeconfig(sim.kubeconfig)
    yield c
    c.session.close()


def test_start_wait_stop_wait(sim, client):
    sim.apply(vm("api", strategy="Halted"))
    handle = client.vm("api")
    progress = handle.start(wait=True, timeout=30)
    assert progress.done and progress.phase == "Running" and progress.node.startswith("node")
    assert sim.get("VirtualMachineInstance", "default", "api")["status"]["phase"] == "Running"
    assert handle.stop(wait=True, timeout=30).done
    assert sim.get("VirtualMachineInstance", "default", "api") is None


def test_list_vms_with_selector_and_namespaces(sim, client):
    sim.apply([vm("a", labels={"tier": "web"}), vm("b", labels={"tier": "db"}),
               vm("c", labels={"tier": "web"}, namespace="other")])
    assert [v["metadata"]["name"] for v in client.list_vms(selector="tier=web")] == ["a"]
    names = sorted(v["metadata"]["name"] for v in client.list_vms(selector="tier=web", all_namespaces=True))
    assert names == ["a", "c"]
    assert [v["metadata"]["name"] for v in client.list_vms(namespace="other")] == ["c"]


def test_errors_carry_virtctl_text_and_status(sim, client):
    with pytest.raises(ApiError) as info:
        client.vm("missing").start()
    assert info.value.status == 404
    assert info.value.message.startswith("Error starting VirtualMachine ")


def test_migrate_and_pause(sim, client):
    sim.apply(vm("mig", strategy="Always"))
    assert sim.wait_for("VirtualMachineInstance", "default", "mig",
                        lambda o: o and o.get("status", {}).get("phase") == "Running")
    before = client.vmi("mig").get()["status"]["nodeName"]
    progress = client.vm("mig").migrate(wait=True, timeout=30)
    assert progress.done and progress.node != before
    assert client.vm("mig").pause(wait=True, timeout=10).done
    assert client.vm("mig").unpause(wait=True, timeout=10).done


def test_wait_error_on_timeout(sim, client):
    sim.apply(vm("late", strategy="Halted"))
    sim.config(delay=30)
    try:
        with pytest.raises(WaitError, match="timed out waiting"):
            client.vm("late").start(wait=True, timeout=1)
    finally:
        sim.config(delay=0)


def test_from_api_client(sim):
    kubernetes = pytest.importorskip("kubernetes")
    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=sim.kubeconfig, client_configuration=cfg)
    api = kubernetes.client.ApiClient(cfg)
    client = Client.from_api_client(api, namespace="default")
    sim.apply(vm("k8s", strategy="Halted"))
    client.vm("k8s").start()
    assert sim.wait_for("VirtualMachineInstance", "default", "k8s",
                        lambda o: o and o.get("status", {}).get("phase") == "Running")
    put = [r for r in sim.requests() if r["method"] == "PUT"]
    assert put[-1]["path"].endswith("/virtualmachines/k8s/start") and put[-1]["headers"]["authorization"] == "Bearer ***"
    assert [v["metadata"]["name"] for v in client.list_vms()] == ["k8s"]


# ------------------------------------------------------------------ every public method


PROBE = {"/apis/subresources.kubevirt.io", "/apis/subresources.kubevirt.io/v1/version"}
SUB = "/apis/subresources.kubevirt.io/v1/namespaces/default"


def running(sim, name: str, namespace: str = "default", **template_spec) -> None:
    obj = vm(name, strategy="Always", namespace=namespace)
    obj["spec"]["template"]["spec"].update(template_spec)
    sim.apply(obj)
    assert sim.wait_for("VirtualMachineInstance", namespace, name,
                        lambda o: o and o.get("status", {}).get("phase") == "Running")
    sim.clear_log()


def sent(sim) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in sim.requests() if r["path"] not in PROBE]


def test_from_kubeconfig_rejects_unknown_keywords(sim):
    with pytest.raises(TypeError, match="unexpected keyword argument.*namspace"):
        Client.from_kubeconfig(sim.kubeconfig, namspace="x")
    with pytest.raises(TypeError):
        Client.from_kubeconfig(sim.kubeconfig, verbose=True)


def test_from_kubeconfig_takes_any_global_flag(sim):
    with Client.from_kubeconfig(sim.kubeconfig, namespace="other", request_timeout="5s",
                                disable_compression=True) as c:
        assert c.namespace == "other"
        assert c.session.config.timeout == 5.0
        assert c.list_vms() == []


def test_handles_and_reads(sim, client):
    running(sim, "r")
    handle = client.vm("r")
    assert repr(handle) == "<VirtualMachine default/r>"
    assert handle.get()["kind"] == "VirtualMachine"
    instance = handle.vmi()
    assert instance.get()["status"]["phase"] == "Running"
    assert instance.uid() == sim.get("VirtualMachineInstance", "default", "r")["metadata"]["uid"]
    assert client.vmi("missing").uid() == ""
    assert [i["metadata"]["name"] for i in client.list_vmis()] == ["r"]
    assert client.vm("r", namespace="elsewhere").namespace == "elsewhere"


def test_restart_waits_for_a_new_instance(sim, client):
    running(sim, "rs")
    old = client.vmi("rs").uid()
    progress = client.vm("rs").restart(wait=True, timeout=30)
    assert progress.done and client.vmi("rs").uid() not in ("", old)


def test_stop_checks_force_and_grace_before_sending(sim, client):
    from pyvirtctl.errors import CLIError

    with pytest.raises(CLIError, match=r"^Must both use --force=true and set --grace-period\.$"):
        client.vm("x").stop(grace_period=0)
    assert sent(sim) == []


def test_soft_reboot_and_reset(sim, client):
    running(sim, "sr")
    client.vmi("sr").soft_reboot()
    client.vmi("sr").reset()
    assert sent(sim) == [("PUT", f"{SUB}/virtualmachineinstances/sr/softreboot"),
                         ("PUT", f"{SUB}/virtualmachineinstances/sr/reset")]


def test_vmi_pause_unpause_dry_run_sends_dry_run(sim, client):
    running(sim, "pd")
    client.vmi("pd").pause(dry_run=True)
    assert sim.requests()[-1]["body"] == {"dryRun": ["All"]}
    assert client.vmi("pd").pause(wait=True, timeout=10) is not None
    assert client.vmi("pd").unpause(wait=True, timeout=10).done


def test_expose_through_the_client_and_the_vm(sim, client):
    running(sim, "web")
    svc = client.expose("vm", "web", port=80, target_port="8080", service_name="web-svc")
    assert svc["metadata"]["name"] == "web-svc"
    assert svc["spec"]["ports"][0]["targetPort"] == 8080
    assert sim.get("Service", "default", "web-svc") is not None
    created = client.vm("web").expose(port=22)  # named after the VM
    assert created["metadata"]["name"] == "web" and sim.get("Service", "default", "web") is not None
    would = client.vm("web").expose(port=443, service_name="dry", dry_run=True)
    assert would["spec"]["ports"][0] == {"protocol": "TCP", "port": 443, "targetPort": 443}
    assert sim.get("Service", "default", "dry") is None
    with pytest.raises(ApiError, match='^error fetching VirtualMachineInstance: .*"nope" not found'):
        client.expose("vmi", "nope", port=80)


def test_console_through_the_client_and_the_vmi(sim, client):
    running(sim, "vm1")
    with client.console("vm1", timeout=10) as conn:
        conn.send(b"\r")
        seen = b""
        while b"login: " not in seen:
            chunk = conn.recv()
            assert chunk is not None, seen
            seen += chunk
    with client.vmi("vm1").console(timeout=0) as conn:
        conn.send(b"\r")
        assert conn.recv() is not None
    assert [p for m, p in sent(sim)] == [f"{SUB}/virtualmachineinstances/vm1/console"] * 2


def test_console_of_a_missing_vmi_is_an_error(sim, client):
    from pyvirtctl.errors import CLIError

    with pytest.raises(CLIError, match="not found"):
        client.console("nosuch", timeout=0)


def test_names_are_checked_before_anything_is_sent(sim, client):
    from pyvirtctl.errors import InputError

    for call in (lambda: client.vm("a/b").start(), lambda: client.vm("..").stop(),
                 lambda: client.vm("x", namespace="../y").restart(), lambda: client.vm("%").migrate(),
                 lambda: client.vmi("a/b").pause(), lambda: client.vmi("..").soft_reboot(),
                 lambda: client.console("a/b"), lambda: client.expose("vm", "a/b", port=80),
                 lambda: client.list_vms(namespace="../x")):
        with pytest.raises(InputError, match="invalid (resource name|namespace)"):
            call()
    assert sim.requests() == []
    with pytest.raises(InputError) as info:
        client.vm("a/b").start()
    assert info.value.message == 'Error starting VirtualMachine invalid resource name "a/b": [may not contain \'/\']'


def test_readme_python_api_example_runs(sim, tmp_path):
    """The README's example, taken from the README itself, against the simulator."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "Client.from_kubeconfig(" in code
    sim.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vms"}})
    example = vm("centos7-1905", strategy="Halted", namespace="vms", labels={"app": "web"})
    sim.apply(example)
    import os

    import yaml

    config = yaml.safe_load(Path(sim.kubeconfig).read_text(encoding="utf-8"))
    current = next(c for c in config["contexts"] if c["name"] == config["current-context"])
    config["contexts"].append({"name": "prod", "context": dict(current["context"])})  # the example's context
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(yaml.safe_dump(config), encoding="utf-8")

    old = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(kubeconfig)
    printed: list[str] = []
    try:
        exec(compile(code, "README.md", "exec"), {"print": lambda *a: printed.append(" ".join(map(str, a)))})
    finally:
        if old is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = old
    assert printed == ["centos7-1905 Running"]  # listed while running, between start and stop
    assert sim.get("VirtualMachineInstance", "vms", "centos7-1905") is None  # stopped and waited for
    paths = [p for m, p in sent(sim) if m == "PUT"]
    assert paths == [f"/apis/subresources.kubevirt.io/v1/namespaces/vms/virtualmachines/centos7-1905/{v}"
                     for v in ("start", "migrate", "stop")]
