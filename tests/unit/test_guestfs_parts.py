"""guestfs without a cluster: flag rules, the image, the pod virtctl POSTs (pinned from virtctl v1.9.0's
request log against the simulator), the Go re-encoding of a VM's scheduling constraints, the wait."""

from __future__ import annotations

import json

import pytest

from pyvirtctl.errors import ApiError, CLIError, InputError
from pyvirtctl.kubevirt import guestfs as gfs
from pyvirtctl.kubevirt.guestfs import GuestfsOptions, Scheduling, SecurityIds

# virtctl v1.9.0 `guestfs disk1` (filesystem PVC, defaults), its POST body as sent
DEFAULT_POD = (
    '{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "libguestfs-tools-disk1"}, "spec": {"volumes": '
    '[{"name": "volume", "persistentVolumeClaim": {"claimName": "disk1"}}, {"name": "libguestfs-tmp-dir", '
    '"emptyDir": {}}, {"name": "guestfs", "emptyDir": {}}], "containers": [{"name": "libguestfs", "image": '
    '"quay.io/kubevirt/libguestfs-tools:v1.9.0", "command": ["/entrypoint.sh"], "workingDir": "/disk", "env": '
    '[{"name": "LIBGUESTFS_BACKEND", "value": "direct"}, {"name": "LIBGUESTFS_PATH", "value": '
    '"/usr/local/lib/guestfs/appliance"}, {"name": "LIBGUESTFS_TMPDIR", "value": "/tmp/guestfs"}, {"name": '
    '"HOME", "value": "/home/guestfs"}], "resources": {"limits": {"devices.kubevirt.io/kvm": "1"}}, '
    '"volumeMounts": [{"name": "libguestfs-tmp-dir", "mountPath": "/tmp/guestfs"}, {"name": "guestfs", '
    '"mountPath": "/home/guestfs"}, {"name": "volume", "mountPath": "/disk"}], "imagePullPolicy": '
    '"IfNotPresent", "securityContext": {"capabilities": {"drop": ["ALL"]}, "allowPrivilegeEscalation": false}, '
    '"stdin": true, "tty": true}], "restartPolicy": "Never", "securityContext": {"runAsNonRoot": true, '
    '"seccompProfile": {"type": "RuntimeDefault"}}}, "status": {}}'
)

# virtctl v1.9.0 `guestfs blk --root --kvm=false --image my/img:1 --pull-policy Always --vm sched`
# (a block PVC; the VM has labels, a nodeSelector, a node affinity and a toleration)
BLOCK_ROOT_VM_POD = (
    '{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "libguestfs-tools-blk", "labels": {"app": "web", '
    '"kubevirt.io/domain": "sched"}}, "spec": {"volumes": [{"name": "volume", "persistentVolumeClaim": '
    '{"claimName": "blk"}}, {"name": "libguestfs-tmp-dir", "emptyDir": {}}, {"name": "guestfs", "emptyDir": {}}], '
    '"containers": [{"name": "libguestfs", "image": "my/img:1", "command": ["/entrypoint.sh"], "env": [{"name": '
    '"LIBGUESTFS_BACKEND", "value": "direct"}, {"name": "LIBGUESTFS_PATH", "value": '
    '"/usr/local/lib/guestfs/appliance"}, {"name": "LIBGUESTFS_TMPDIR", "value": "/tmp/guestfs"}, {"name": '
    '"HOME", "value": "/home/guestfs"}], "resources": {}, "volumeMounts": [{"name": "libguestfs-tmp-dir", '
    '"mountPath": "/tmp/guestfs"}, {"name": "guestfs", "mountPath": "/home/guestfs"}], "volumeDevices": '
    '[{"name": "volume", "devicePath": "/dev/vda"}], "imagePullPolicy": "Always", "securityContext": '
    '{"capabilities": {"drop": ["ALL"]}, "allowPrivilegeEscalation": false}, "stdin": true, "tty": true}], '
    '"restartPolicy": "Never", "nodeSelector": {"kubernetes.io/hostname": "node01"}, "securityContext": '
    '{"runAsUser": 0, "runAsGroup": 0, "runAsNonRoot": false, "fsGroup": 0, "seccompProfile": {"type": '
    '"RuntimeDefault"}}, "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": '
    '{"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": '
    '["amd64"]}]}]}}}, "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "vms", "effect": '
    '"NoSchedule"}]}, "status": {}}'
)


def dumps(obj: object) -> str:
    return json.dumps(obj)  # order-preserving: the comparison checks Go's field order too


# --------------------------------------------------------------------------- flags


@pytest.mark.parametrize(
    ("kw", "ids"),
    [
        ({}, SecurityIds(None, None, None)),
        ({"root": True}, SecurityIds(0, 0, 0)),
        ({"uid": "1001"}, SecurityIds(1001, None, None)),
        ({"uid": "1001", "gid": "1002", "fs_group": "1003"}, SecurityIds(1001, 1002, 1003)),
        ({"fs_group": "7"}, SecurityIds(None, None, 7)),
        ({"uid": "-5"}, SecurityIds(-5, None, None)),  # ParseInt takes a sign
        ({"pull_policy": "Always"}, SecurityIds(None, None, None)),
        ({"pull_policy": "Never"}, SecurityIds(None, None, None)),
    ],
)
def test_valid_flags(kw, ids):
    assert gfs.validate_guestfs(GuestfsOptions("pvc", **kw)) == ids


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        # virtctl v1.9.0's words for each
        ({"pull_policy": "x"}, "Invalid pull policy: x"),
        ({"pull_policy": "always"}, "Invalid pull policy: always"),
        ({"root": True, "uid": "5"}, "cannot set uid if root is true"),
        ({"uid": "abc"}, 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ({"gid": "5"}, "gid requires the uid to be set"),
        ({"root": True, "gid": "5"}, "gid requires the uid to be set"),
        ({"root": True, "fs_group": "3"}, "cannot set fsGroup id with root"),
        ({"uid": "5", "gid": "x"}, 'strconv.ParseInt: parsing "x": invalid syntax'),
        ({"fs_group": "1x"}, 'strconv.ParseInt: parsing "1x": invalid syntax'),
        ({"uid": "0x10"}, 'strconv.ParseInt: parsing "0x10": invalid syntax'),  # base 10 only
        ({"uid": "99999999999999999999"}, 'strconv.ParseInt: parsing "99999999999999999999": value out of range'),
        ({"pull_policy": "x", "uid": "abc"}, "Invalid pull policy: x"),  # virtctl's order
    ],
)
def test_refused_flags(kw, message):
    with pytest.raises(InputError) as e:
        gfs.validate_guestfs(GuestfsOptions("pvc", **kw))
    assert e.value.message == message


# --------------------------------------------------------------------------- image


@pytest.mark.parametrize(
    ("info", "image"),
    [
        ({"registry": "quay.io/kubevirt", "tag": "v1.9.0", "digest": "", "imagePrefix": "", "gsImage": ""},
         "quay.io/kubevirt/libguestfs-tools:v1.9.0"),
        ({"registry": "reg.example:5000/kv", "tag": "v1.9.0", "imagePrefix": "kv-"},
         "reg.example:5000/kv/kv-libguestfs-tools:v1.9.0"),
        ({"registry": "r", "tag": "v1", "digest": "sha256:abc"}, "r/libguestfs-tools@sha256:abc"),
        ({"tag": "v1"}, "libguestfs-tools:v1"),
        ({"registry": "r", "tag": "v1", "gsImage": "my/own:tag"}, "my/own:tag"),
    ],
)
def test_image_from_info(info, image):
    assert gfs.image_from_info(info) == image


def test_image_needs_a_tag_or_digest():
    with pytest.raises(CLIError) as e:
        gfs.image_from_info({"registry": "r"})
    assert e.value.message == "Neither the digest nor the tag for the image has been specified"


# --------------------------------------------------------------------------- the pod


def test_default_pod_is_virtctls_body():
    o = GuestfsOptions("disk1")
    pod = gfs.libguestfs_pod(o, "quay.io/kubevirt/libguestfs-tools:v1.9.0", gfs.validate_guestfs(o), False)
    assert dumps(pod) == DEFAULT_POD


def test_block_root_vm_pod_is_virtctls_body():
    o = GuestfsOptions("blk", image="my/img:1", kvm=False, pull_policy="Always", root=True, vm="sched")
    vm = {"spec": {"template": {
        "metadata": {"labels": {"kubevirt.io/domain": "sched", "app": "web"}},
        "spec": {"nodeSelector": {"kubernetes.io/hostname": "node01"},
                 "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "vms", "effect": "NoSchedule"}],
                 "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                     "nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}]}}},
                 "domain": {"devices": {}}}}}}
    pod = gfs.libguestfs_pod(o, o.image, gfs.validate_guestfs(o), True, gfs.scheduling_from_vm(vm))
    assert dumps(pod) == BLOCK_ROOT_VM_POD


def test_uid_gid_fsgroup_in_the_pod_security_context():
    o = GuestfsOptions("disk1", uid="1001", gid="1002", fs_group="1003")
    pod = gfs.libguestfs_pod(o, "img", gfs.validate_guestfs(o), False)
    # virtctl v1.9.0 `--uid 1001 --gid 1002 --fsGroup 1003`
    assert dumps(pod["spec"]["securityContext"]) == (
        '{"runAsUser": 1001, "runAsGroup": 1002, "runAsNonRoot": true, "fsGroup": 1003, '
        '"seccompProfile": {"type": "RuntimeDefault"}}')


def test_scheduling_is_reencoded_as_go_writes_it():
    """A VM written in any field order, with fields Go leaves out when empty: virtctl v1.9.0 sent this."""
    sched = Scheduling(
        labels={"zeta": "z", "app": "web", "kubevirt.io/domain": "sched"},
        node_selector={"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"},
        tolerations=[{"effect": "NoSchedule", "value": "vms", "operator": "Equal", "key": "dedicated"},
                     {"operator": "Exists", "tolerationSeconds": 0, "effect": "NoExecute"},
                     {"key": "x", "value": ""}],
        affinity={
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [{
                    "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname", "labelSelector": {
                        "matchLabels": {"b": "2", "a": "1"},
                        "matchExpressions": [{"values": ["x"], "operator": "In", "key": "k"}]}},
                    "weight": 10}],
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {}, "topologyKey": "zone", "namespaces": ["default"]}]},
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [{
                    "preference": {"matchFields": [{"operator": "In", "key": "metadata.name", "values": ["node01"]}]},
                    "weight": 5}],
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"operator": "Exists", "key": "kubernetes.io/arch"}]}]}},
            "podAffinity": {},
        })
    o = GuestfsOptions("disk1", vm="sched")
    pod = gfs.libguestfs_pod(o, "img", gfs.validate_guestfs(o), False, sched)
    assert dumps(pod["metadata"]) == (
        '{"name": "libguestfs-tools-disk1", "labels": {"app": "web", "kubevirt.io/domain": "sched", "zeta": "z"}}')
    assert dumps(pod["spec"]["nodeSelector"]) == '{"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux"}'
    assert dumps(pod["spec"]["affinity"]) == (
        '{"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": '
        '[{"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "Exists"}]}]}, '
        '"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 5, "preference": {"matchFields": '
        '[{"key": "metadata.name", "operator": "In", "values": ["node01"]}]}}]}, "podAffinity": {}, '
        '"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {}, '
        '"namespaces": ["default"], "topologyKey": "zone"}], "preferredDuringSchedulingIgnoredDuringExecution": '
        '[{"weight": 10, "podAffinityTerm": {"labelSelector": {"matchLabels": {"a": "1", "b": "2"}, '
        '"matchExpressions": [{"key": "k", "operator": "In", "values": ["x"]}]}, '
        '"topologyKey": "kubernetes.io/hostname"}}]}}')
    assert dumps(pod["spec"]["tolerations"]) == (
        '[{"key": "dedicated", "operator": "Equal", "value": "vms", "effect": "NoSchedule"}, '
        '{"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}, {"key": "x"}]')
    keys = list(pod["spec"])
    assert keys == ["volumes", "containers", "restartPolicy", "nodeSelector", "securityContext", "affinity",
                    "tolerations"]


def test_a_vm_without_constraints_adds_nothing():
    o = GuestfsOptions("disk1", vm="plain")
    pod = gfs.libguestfs_pod(o, "img", gfs.validate_guestfs(o), False,
                             gfs.scheduling_from_vm({"spec": {"template": {"spec": {"tolerations": []}}}}))
    assert "labels" not in pod["metadata"]
    assert not {"nodeSelector", "affinity", "tolerations"} & set(pod["spec"])


@pytest.mark.parametrize(("block", "where"), [(False, "/disk"), (True, "/dev/vda")])
def test_mount_point(block, where):
    assert gfs.mount_point(block) == where


def test_pods_using_the_claim():
    def pod(name, *claims):
        return {"metadata": {"name": name}, "spec": {"volumes": [
            {"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}} for i, c in enumerate(claims)] + [
            {"name": "e", "emptyDir": {}}]}}

    pods = [pod("a", "x"), pod("b", "y", "disk1"), pod("c"), {"metadata": {"name": "d"}}]
    assert [p["metadata"]["name"] for p in gfs.pods_using(pods, "disk1")] == ["b"]
    assert gfs.pods_using(pods, "z") == []


def test_waiting_lines_are_virtctls():
    pod = {"status": {"containerStatuses": [
        {"name": "libguestfs", "state": {"waiting": {"reason": "ContainerCreating"}}},
        {"name": "other", "state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}}},
        {"name": "up", "state": {"running": {}}}]}}
    assert gfs.waiting_lines(pod) == [
        "Waiting for container libguestfs still in pending, reason: ContainerCreating, message:  ",
        "Waiting for container other still in pending, reason: ErrImagePull, message: not found ",
    ]


# --------------------------------------------------------------------------- waiting for the pod


class FakeResponse:
    def __init__(self, obj):
        self.obj = obj

    def json(self):
        return self.obj


class PodReads:
    """A session whose pod GETs answer the given phases (or raise an ApiError)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.paths: list[str] = []

    def send(self, req):
        self.paths.append(req.path)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return FakeResponse(answer)


def phase(p, waiting=None):
    st = {"phase": p}
    if waiting:
        st["containerStatuses"] = [{"name": "libguestfs", "state": {"waiting": {"reason": waiting}}}]
    return {"status": st}


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.sleeps.append(s)
        self.now += s


def test_wait_reports_waiting_containers_until_running():
    s, clock, said = PodReads(phase("Pending"), phase("Pending", "ContainerCreating"), phase("Running")), Clock(), []
    gfs.wait_running(s, "default", "p", said.append, sleep=clock.sleep, clock=clock)
    assert said == ["Waiting for container libguestfs still in pending, reason: ContainerCreating, message:  "]
    assert clock.sleeps == [1.0, 1.0]
    assert s.paths == ["/api/v1/namespaces/default/pods/p"] * 3


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (phase("Failed"), "Pod is not in running state but got Failed"),
        (phase("Succeeded"), "Pod is not in running state but got Succeeded"),
        ({"status": {}}, "Pod is not in running state but got "),
        (ApiError('pods "p" not found', 404), 'Pod is not in running state but got pods "p" not found'),
    ],
)
def test_wait_fails_like_virtctl(answer, message):
    clock = Clock()
    with pytest.raises(CLIError) as e:
        gfs.wait_running(PodReads(answer), "default", "p", sleep=clock.sleep, clock=clock)
    assert e.value.message == message


def test_wait_times_out_after_500_seconds():
    clock = Clock()
    s = PodReads(*[phase("Pending")] * 1000)
    with pytest.raises(CLIError) as e:
        gfs.wait_running(s, "default", "p", sleep=clock.sleep, clock=clock)
    assert e.value.message == "timeout in waiting for the containers to be started in pod p"
    assert 499 <= clock.now <= 500
