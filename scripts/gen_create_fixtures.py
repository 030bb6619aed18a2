"""Record the reference virtctl's answers for the `create` argument table (tests/fixtures/create_cases.json).

    VIRTCTL_REF=/path/to/virtctl python scripts/gen_create_fixtures.py

Each case runs the reference binary in a scratch directory holding the case's files, with no
kubeconfig (HOME is the scratch directory). What is stored: argv, files, exit status, stdout and
stderr. virtctl follows every error with a server-version probe; without a cluster that probe adds
its own `dial tcp ...: connection refused` line, which pyvirtctl deliberately does not print (see
README, "Differences from virtctl"), so that line is dropped from the recorded stderr. Random name
suffixes stay as recorded; the test normalises them.

Tests never run this script or the reference binary: they read the JSON.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "create_cases.json"
PROBE_LINE = re.compile(r"^dial tcp [^\n]*: connect: connection refused\n", re.M)

LONG = "a very long value with spaces that goes on and on and on for more than eighty characters in total"
PW = {"pw.txt": "  s3cret!\n", "empty.txt": "\n"}
STDIN = "<stdin>"  # a "file" of this name is the case's standard input

# (id, argv, files)
CASES: list[tuple[str, list[str], dict[str, str]]] = [
    # ---- create vm: basics
    ("vm-name", ["create", "vm", "--name", "foo"], {}),
    ("vm-random-name", ["create", "vm"], {}),
    ("vm-namespace", ["-n", "myns", "create", "vm", "--name", "a"], {}),
    ("vm-run-strategy-case", ["create", "vm", "--name", "a", "--run-strategy", "manual"], {}),
    ("vm-run-strategy-rerun", ["create", "vm", "--name", "a", "--run-strategy=rerunonfailure", "--termination-grace-period", "0"], {}),
    ("vm-run-strategy-bad", ["create", "vm", "--run-strategy", "Sometimes"], {}),
    ("vm-grace-bad", ["create", "vm", "--termination-grace-period", "abc"], {}),
    ("vm-memory", ["create", "vm", "--name", "a", "--memory", "1024Mi", "--volume-import", "type:ds,src:ns/ds"], {}),
    ("vm-memory-forms", ["create", "vm", "--name", "a", "--memory", "1.5Gi"], {}),
    ("vm-memory-decimal", ["create", "vm", "--name", "a", "--memory", "2048"], {}),
    ("vm-memory-bad", ["create", "vm", "--memory", "lots"], {}),
    ("vm-memory-suffix", ["create", "vm", "--memory", "1ki"], {}),
    ("vm-unknown-flag", ["create", "vm", "--colour", "red"], {}),
    ("vm-extra-arg", ["create", "vm", "extra"], {}),
    # ---- instancetype / preference matchers
    ("vm-instancetype", ["create", "vm", "--name", "a", "--instancetype", "u1.medium"], {}),
    ("vm-instancetype-kind", ["create", "vm", "--name", "a", "--instancetype", "VirtualMachineInstancetype/it"], {}),
    ("vm-instancetype-bad-kind", ["create", "vm", "--instancetype", "flavour/x"], {}),
    ("vm-instancetype-slashes", ["create", "vm", "--instancetype", "a/b/c"], {}),
    ("vm-instancetype-empty", ["create", "vm", "--instancetype", ""], {}),
    ("vm-preference-kind", ["create", "vm", "--name", "a", "--preference", "virtualmachinepreference/fedora"], {}),
    ("vm-preference-bad-kind", ["create", "vm", "--preference", "pref/x"], {}),
    ("vm-exclusive-memory", ["create", "vm", "--memory", "1Gi", "--instancetype", "x"], {}),
    ("vm-exclusive-preference", ["create", "vm", "--preference", "p", "--infer-preference"], {}),
    ("vm-exclusive-userdata", ["create", "vm", "--cloud-init-user-data", "e30=", "--user", "u", "--ssh-key", "k"], {}),
    # ---- containerdisk and pvc volumes
    ("vm-containerdisk", ["create", "vm", "--name", "a", "--volume-containerdisk", "src:quay.io/containerdisks/fedora:41"], {}),
    ("vm-containerdisk-two", ["create", "vm", "--name", "a", "--volume-containerdisk", "src:img1,bootorder:2",
                              "--volume-containerdisk", "src:img2,name:second,bootorder:1"], {}),
    ("vm-containerdisk-bad-name", ["create", "vm", "--volume-containerdisk", "src:img,name:Bad_Name"], {}),
    ("vm-containerdisk-dots", ["create", "vm", "--volume-containerdisk", "src:img,name:a.b"], {}),
    ("vm-containerdisk-no-src", ["create", "vm", "--volume-containerdisk", "name:x"], {}),
    ("vm-containerdisk-bootorder-zero", ["create", "vm", "--volume-containerdisk", "src:img,bootorder:0"], {}),
    ("vm-containerdisk-bootorder-bad", ["create", "vm", "--volume-containerdisk", "src:img,bootorder:first"], {}),
    ("vm-containerdisk-bootorder-range", ["create", "vm", "--volume-containerdisk", "src:img,bootorder:4294967296"], {}),
    ("vm-containerdisk-unknown-param", ["create", "vm", "--volume-containerdisk", "src:img,colour:red"], {}),
    ("vm-containerdisk-no-colon", ["create", "vm", "--volume-containerdisk", "src:img,oops"], {}),
    ("vm-containerdisk-empty", ["create", "vm", "--volume-containerdisk", ""], {}),
    ("vm-pvc", ["create", "vm", "--name", "a", "--volume-pvc", "src:my-pvc"], {}),
    ("vm-pvc-named", ["create", "vm", "--name", "a", "--volume-pvc", "src:my-pvc,name:disk0,bootorder:3"], {}),
    ("vm-pvc-namespace", ["create", "vm", "--volume-pvc", "src:ns/my-pvc"], {}),
    ("vm-duplicate-bootorder", ["create", "vm", "--volume-containerdisk", "src:img,bootorder:2",
                                "--volume-pvc", "src:p,bootorder:2"], {}),
    ("vm-duplicate-volume", ["create", "vm", "--volume-containerdisk", "src:img,name:disk",
                             "--volume-pvc", "src:disk"], {}),
    # ---- volume-import, every source type
    ("vm-import-blank", ["create", "vm", "--name", "a", "--volume-import", "type:blank,size:1Gi,name:data"], {}),
    ("vm-import-blank-no-size", ["create", "vm", "--volume-import", "type:blank"], {}),
    ("vm-import-unknown-type", ["create", "vm", "--volume-import", "type:nfs,size:1Gi"], {}),
    ("vm-import-no-type", ["create", "vm", "--volume-import", "src:x,size:1Gi"], {}),
    ("vm-import-empty", ["create", "vm", "--volume-import", ""], {}),
    ("vm-import-http", ["create", "vm", "--name", "a", "--volume-import",
                        "type:http,url:https://example.com/disk.img,size:5Gi,secretref:s,certconfigmap:c,"
                        "extraheaders:A: b;C: d,secretextraheaders:x"], {}),
    ("vm-import-http-no-url", ["create", "vm", "--volume-import", "type:http,size:1Gi"], {}),
    ("vm-import-gcs", ["create", "vm", "--name", "a", "--volume-import", "type:gcs,url:gs://bucket/disk,size:1Gi,name:g"], {}),
    ("vm-import-s3", ["create", "vm", "--name", "a", "--volume-import", "type:s3,url:s3://b/o,size:10G,secretref:s3sec,name:s"], {}),
    ("vm-import-imageio", ["create", "vm", "--name", "a", "--volume-import",
                           "type:imageio,url:https://ovirt/api,diskid:123,size:1Gi,name:i"], {}),
    ("vm-import-imageio-no-diskid", ["create", "vm", "--volume-import", "type:imageio,url:x,size:1Gi"], {}),
    ("vm-import-registry", ["create", "vm", "--name", "a", "--volume-import",
                            "type:registry,url:docker://quay.io/x:1,size:1Gi,pullmethod:node,name:r"], {}),
    ("vm-import-registry-both", ["create", "vm", "--volume-import", "type:registry,imagestream:is,url:x,size:1Gi"], {}),
    ("vm-import-registry-pull", ["create", "vm", "--volume-import", "type:registry,url:x,pullmethod:always,size:1Gi"], {}),
    ("vm-import-vddk", ["create", "vm", "--name", "a", "--volume-import",
                        "type:vddk,url:https://vc,uuid:52,thumbprint:AA:BB,secretref:s,backingfile:[ds] vm.vmdk,"
                        "size:1Gi,initimageurl:quay.io/vddk,name:v"], {}),
    ("vm-import-vddk-no-uuid", ["create", "vm", "--volume-import", "type:vddk,url:u,size:1Gi"], {}),
    ("vm-import-pvc", ["create", "vm", "--name", "a", "--volume-import", "type:pvc,src:ns/golden,name:root"], {}),
    ("vm-import-pvc-no-namespace", ["create", "vm", "--volume-import", "type:pvc,src:golden"], {}),
    ("vm-import-snapshot", ["create", "vm", "--name", "a", "--volume-import", "type:snapshot,src:ns/snap,size:2Gi,name:s"], {}),
    ("vm-import-ds-bootorder", ["create", "vm", "--name", "a", "--volume-containerdisk", "src:img",
                                "--volume-import", "type:ds,src:ns/fedora,bootorder:1,name:root"], {}),
    ("vm-import-ds-slashes", ["create", "vm", "--volume-import", "type:ds,src:a/b/c"], {}),
    ("vm-import-bad-name", ["create", "vm", "--volume-import", "type:blank,size:1Gi,name:UPPER"], {}),
    ("vm-import-bad-size", ["create", "vm", "--volume-import", "type:blank,size:big"], {}),
    ("vm-import-duplicate", ["create", "vm", "--volume-import", "type:blank,size:1Gi,name:d",
                             "--volume-import", "type:blank,size:2Gi,name:d"], {}),
    ("vm-import-namespace-param", ["create", "vm", "--volume-import", "type:pvc,name:my-pvc,namespace:default,size:256Mi"], {}),
    # ---- deprecated volume flags
    ("vm-deprecated-datasource", ["create", "vm", "--name", "a", "--volume-datasource", "src:ns/ds,name:d1"], {}),
    ("vm-deprecated-order", ["create", "vm", "--name", "a", "--volume-clone-pvc", "src:ns/p,name:c1,size:1Gi",
                             "--volume-blank", "size:2Gi,name:b1", "--volume-blank", "size:3Gi,name:b2",
                             "--volume-import", "type:blank,size:4Gi,name:i1"], {}),
    ("vm-deprecated-empty", ["create", "vm", "--volume-blank", ""], {}),
    ("vm-deprecated-then-error", ["create", "vm", "--volume-blank", "size:1Gi,name:x", "--volume-sysprep", "type:secret"], {}),
    # ---- sysprep
    ("vm-sysprep", ["create", "vm", "--name", "a", "--volume-sysprep", "src:unattend"], {}),
    ("vm-sysprep-secret", ["create", "vm", "--name", "a", "--volume-sysprep", "src:unattend,type:Secret"], {}),
    ("vm-sysprep-bad-type", ["create", "vm", "--volume-sysprep", "src:x,type:disk"], {}),
    ("vm-sysprep-namespace", ["create", "vm", "--volume-sysprep", "src:ns/x"], {}),
    # ---- cloud-init
    ("vm-user-ssh", ["create", "vm", "--name", "a", "--user", "fedora", "--ssh-key", "ssh-ed25519 AAAA key1",
                     "--ssh-key", "ssh-rsa BBBB key2"], {}),
    ("vm-ssh-key-csv", ["create", "vm", "--name", "a", "--ssh-key", "k1,k2", "--ssh-key", '"k,3"'], {}),
    ("vm-ssh-key-bare-quote", ["create", "vm", "--ssh-key", 'a"b'], {}),
    ("vm-ssh-key-bad-quote", ["create", "vm", "--ssh-key", 'x,"ab"c'], {}),
    ("vm-flag-before-subcommand", ["create", "--name", "x", "vm"], {}),
    ("it-flag-before-subcommand", ["create", "--namespaced", "instancetype", "--cpu", "1", "--memory", "1Gi"], {}),
    ("vm-password", ["create", "vm", "--name", "a", "--user", "u", "--password-file", "pw.txt"], PW),
    ("vm-password-missing", ["create", "vm", "--password-file", "missing.txt"], {}),
    ("vm-password-directory", ["create", "vm", "--password-file", "."], {}),
    ("vm-password-empty", ["create", "vm", "--name", "a", "--password-file", "empty.txt"], PW),
    ("vm-ga-manage-ssh", ["create", "vm", "--name", "a", "--ga-manage-ssh"], {}),
    ("vm-configdrive", ["create", "vm", "--name", "a", "--cloud-init", "configdrive", "--user", "u"], {}),
    ("vm-cloud-init-explicit", ["create", "vm", "--name", "a", "--cloud-init", "NoCloud"], {}),
    ("vm-cloud-init-none", ["create", "vm", "--name", "a", "--cloud-init", "none", "--ssh-key", "k"], {}),
    ("vm-cloud-init-bad", ["create", "vm", "--cloud-init", "cdrom", "--user", "u"], {}),
    ("vm-cloud-init-data", ["create", "vm", "--name", "a", "--cloud-init-user-data", "I2Nsb3VkLWNvbmZpZw==",
                            "--cloud-init-network-data", "bmV0d29yazoge30="], {}),
    ("vm-cloudinitdisk-taken", ["create", "vm", "--volume-containerdisk", "src:img,name:cloudinitdisk", "--user", "u"], {}),
    # ---- access credentials
    ("vm-access-ssh-ga", ["create", "vm", "--name", "a", "--access-cred", "type:ssh,src:keys,user:fedora"], {}),
    ("vm-access-ssh-user-flag", ["create", "vm", "--name", "a", "--user", "cloud", "--access-cred", "src:keys"], {}),
    ("vm-access-ssh-no-user", ["create", "vm", "--access-cred", "src:keys"], {}),
    ("vm-access-ssh-nocloud", ["create", "vm", "--name", "a", "--access-cred", "type:ssh,src:keys,method:nocloud"], {}),
    ("vm-access-ssh-mismatch", ["create", "vm", "--cloud-init", "nocloud", "--access-cred",
                                "type:ssh,src:keys,method:configdrive"], {}),
    ("vm-access-password", ["create", "vm", "--name", "a", "--access-cred", "type:password,src:pws"], {}),
    ("vm-access-password-method", ["create", "vm", "--access-cred", "type:password,src:pws,method:nocloud"], {}),
    ("vm-access-bad-type", ["create", "vm", "--access-cred", "type:token,src:x"], {}),
    ("vm-access-namespace", ["create", "vm", "--access-cred", "src:ns/x"], {}),
    ("vm-access-user-with-nocloud", ["create", "vm", "--access-cred", "type:ssh,src:k,method:nocloud,user:u"], {}),
    # ---- inference
    ("vm-infer-containerdisk", ["create", "vm", "--infer-instancetype", "--volume-containerdisk", "src:img"], {}),
    ("vm-infer-from-missing", ["create", "vm", "--infer-instancetype-from", "nope", "--volume-pvc", "src:p"], {}),
    ("vm-infer-preference-from", ["create", "vm", "--name", "a", "--volume-containerdisk", "src:img",
                                  "--volume-pvc", "src:p", "--infer-preference-from", "p"], {}),
    ("vm-infer-explicit", ["create", "vm", "--name", "a", "--infer-instancetype", "--volume-import", "type:ds,src:fedora"], {}),
    ("vm-infer-off", ["create", "vm", "--name", "a", "--infer-instancetype=false", "--infer-preference=false",
                      "--volume-import", "type:ds,src:fedora"], {}),
    ("vm-infer-blank", ["create", "vm", "--infer-instancetype", "--volume-import", "type:blank,size:1Gi"], {}),
    ("vm-infer-no-volumes", ["create", "vm", "--infer-preference"], {}),
    # ---- create instancetype
    ("it-cluster", ["create", "instancetype", "--cpu", "2", "--memory", "256Mi"], {}),
    ("it-namespaced", ["create", "instancetype", "--namespaced", "--name", "it", "--cpu", "1", "--memory", "1024Mi"], {}),
    ("it-namespace-flag", ["-n", "ns", "create", "instancetype", "--cpu", "4", "--memory", "1.5Gi", "--iothreadspolicy", "shared"], {}),
    ("it-required", ["create", "instancetype"], {}),
    ("it-cpu-zero", ["create", "instancetype", "--cpu", "0", "--memory", "1Gi"], {}),
    ("it-cpu-negative", ["create", "instancetype", "--cpu", "-1", "--memory", "1Gi"], {}),
    ("it-memory-bad", ["create", "instancetype", "--cpu", "1", "--memory", "lots"], {}),
    ("it-iothreads-bad", ["create", "instancetype", "--cpu", "1", "--memory", "1Gi", "--iothreadspolicy", "dedicated"], {}),
    ("it-gpu-no-device", ["create", "instancetype", "--cpu", "1", "--memory", "1Gi", "--gpu", "name:g"], {}),
    ("it-hostdevice-no-name", ["create", "instancetype", "--cpu", "1", "--memory", "1Gi", "--hostdevice", "devicename:d"], {}),
    ("it-gpu-unknown", ["create", "instancetype", "--cpu", "1", "--memory", "1Gi", "--gpu", "name:g,devicename:d,vendor:n"], {}),
    ("it-devices", ["create", "instancetype", "--name", "gpu", "--cpu", "8", "--memory", "16Gi",
                    "--gpu", "name:g1,devicename:nvidia.com/A100", "--gpu", "name:g2,devicename:nvidia.com/A100",
                    "--hostdevice", "name:h,devicename:intel.com/qat"], {}),
    # ---- create preference
    ("pref-cluster", ["create", "preference"], {}),
    ("pref-namespaced", ["create", "preference", "--namespaced", "--name", "p", "--cpu-topology", "spread"], {}),
    ("pref-all", ["-n", "ns", "create", "preference", "--name", "p", "--machine-type", "pc-q35-rhel9.4.0",
                  "--volume-storage-class", "local", "--cpu-topology", "preferSockets"], {}),
    ("pref-topology-bad", ["create", "preference", "--cpu-topology", "numa"], {}),
    ("pref-empty-machine", ["create", "preference", "--name", "p", "--machine-type", ""], {}),
    # ---- create clone
    ("clone-basic", ["create", "clone", "--name", "c", "--source-name", "vm1", "--target-name", "vm2"], {}),
    ("clone-snapshot", ["-n", "ns", "create", "clone", "--source-name", "snap", "--source-type", "VMSnapshot"], {}),
    ("clone-source-bad", ["create", "clone", "--source-name", "s", "--source-type", "pod"], {}),
    ("clone-target-snapshot", ["create", "clone", "--source-name", "s", "--target-type", "snapshot"], {}),
    ("clone-required", ["create", "clone"], {}),
    ("clone-source-empty", ["create", "clone", "--source-name", ""], {}),
    ("clone-mac-bad", ["create", "clone", "--source-name", "s", "--new-mac-address", "eth0:aa:bb"], {}),
    ("clone-mac-no-iface", ["create", "clone", "--source-name", "s", "--new-mac-address", ":00-11"], {}),
    ("clone-filters", ["create", "clone", "--name", "c", "--source-name", "s", "--label-filter", "*",
                       "--label-filter", "!some/key", "--annotation-filter", "a/*", "--template-label-filter", "x",
                       "--template-annotation-filter", "!y", "--new-smbios-serial", "serial-1",
                       "--new-mac-address", "eth0:02-00-00-00-00-01", "--new-mac-address", "n:02-00-00-00-00-02"], {}),
    # ---- YAML quoting, as go-yaml v2 writes scalars
    ("yaml-quoting-words", ["create", "clone", "--name", "c", "--source-name", "s", "--label-filter", "yes",
                            "--label-filter", "on", "--label-filter", "NO", "--label-filter", "null",
                            "--label-filter", "~", "--label-filter", "true", "--label-filter", ""], {}),
    ("yaml-quoting-numbers", ["create", "clone", "--name", "c", "--source-name", "s", "--label-filter", "1",
                              "--label-filter", "0x1F", "--label-filter", "1e3", "--label-filter", "-.5",
                              "--label-filter", "1_000", "--label-filter", "12:30", "--label-filter", "0b101",
                              "--label-filter", ".inf", "--label-filter", "2024-01-31", "--label-filter", "2024-02-30",
                              "--label-filter", "1.2.3"], {}),
    ("yaml-quoting-indicators", ["create", "clone", "--name", "c", "--source-name", "s", "--label-filter", "*",
                                 "--label-filter", "-", "--label-filter", "- x", "--label-filter", "a: b",
                                 "--label-filter", "a:b", "--label-filter", "#x", "--label-filter", "a #b",
                                 "--label-filter", "[x]", "--label-filter", "{x}", "--label-filter", "it's",
                                 "--label-filter", '"q"', "--label-filter", "@x", "--label-filter", "%x",
                                 "--label-filter", "?x", "--label-filter", "? x", "--label-filter", "---",
                                 "--label-filter", "a,b"], {}),
    ("yaml-quoting-spaces", ["create", "clone", "--name", "c", "--source-name", "s", "--label-filter", " lead",
                             "--label-filter", "trail ", "--label-filter", "tab\there", "--label-filter", "caf\u00e9",
                             "--label-filter", "emoji \U0001f600", "--label-filter", "nb\u00a0sp",
                             "--label-filter", "ctl\x01", "--label-filter", "two  spaces"], {}),
    ("yaml-long-values", ["create", "clone", "--name", "c", "--source-name", "s", "--label-filter", LONG,
                          "--label-filter", LONG + " and: colon", "--label-filter", "it's " + LONG,
                          "--new-smbios-serial", "x" * 90 + " y"], {}),
    ("yaml-literal-blocks", ["create", "vm", "--name", "a", "--user", "u\nsecond line", "--ssh-key", "key with trailing  "], {}),
    ("yaml-block-forms", ["create", "clone", "--name", "c", "--source-name", "s", "--label-filter", "a\nb",
                          "--label-filter", " lead\nx", "--label-filter", "x\n", "--label-filter", "x\n\n",
                          "--label-filter", "trail \nx", "--label-filter", "\nfirst", "--label-filter", "a\n\n\nb",
                          "--label-filter", "tab\t\nx", "--label-filter", "\ufeffbom", "--label-filter", "a\rb",
                          "--new-smbios-serial", "line one\nline two " + LONG], {}),
    ("yaml-complex-keys", ["create", "clone", "--name", "c", "--source-name", "s", "--new-mac-address", "a\nb:1",
                           "--new-mac-address", "k" * 130 + ":2", "--new-mac-address", "e:3"], {}),
    ("yaml-keys", ["create", "clone", "--name", "c", "--source-name", "s", "--new-mac-address", "y:1",
                   "--new-mac-address", "on:2", "--new-mac-address", "eth10:3", "--new-mac-address", "eth9:4",
                   "--new-mac-address", "Eth1:5", "--new-mac-address", "_x:6", "--new-mac-address", "a-b:7",
                   "--new-mac-address", "ab:8", "--new-mac-address", "1:9", "--new-mac-address", "eth09:10"], {}),
]

# ---- template convert (local files and stdin)
OCP_TEMPLATE = """apiVersion: template.openshift.io/v1
kind: Template
metadata:
  name: fedora-small
  namespace: openshift
  labels:
    os.template.kubevirt.io/fedora: "true"
    workload: server
  annotations:
    description: Fedora <small> & friendly
    openshift.io/display-name: Fedora VM
  resourceVersion: "123"
message: "VM ${NAME} created, password ${PASSWORD}"
objects:
- apiVersion: kubevirt.io/v1
  kind: VirtualMachine
  metadata:
    name: ${NAME}
    labels:
      app: ${NAME}
  spec:
    runStrategy: Halted
    template:
      spec:
        domain:
          cpu:
            cores: 1
          memory:
            guest: 2Gi
          devices: {}
        terminationGracePeriodSeconds: 180
        volumes:
        - name: rootdisk
          containerDisk:
            image: quay.io/containerdisks/fedora:41
        - name: cloudinit
          cloudInitNoCloud:
            userData: |
              #cloud-config
              password: ${PASSWORD}
parameters:
- name: NAME
  description: VM name
  generate: expression
  from: fedora-[a-z0-9]{16}
- name: PASSWORD
  displayName: Password
  required: true
  value: changeme
labels:
  template: fedora
"""
TPL_FILES = {
    "t.yaml": OCP_TEMPLATE,
    "t.json": '{"metadata": {"name": "j", "labels": {"a": 1, "b": true, "c": null}}, "Message": 1.50,'
              ' "objects": [{"z": 1, "a": {"y": 1.50, "x": "<b>&", "e": {}, "l": [], "n": null}}]} trailing',
    "values.yaml": "objects:\n- a: 1.0\n  b: 1e3\n  c: 0777\n  d: yes\n  e: 2024-01-01\n  f: ~\n"
                   "  g: 12345678901234567890\n  h: \"x\"\n  i: 1.5\n  j: 0x1F\n  k: 1_000\n  on: off\n  1: one\n",
    "coerce.yaml": "metadata:\n  name: 5\n  labels:\n    a: 1\n    b: true\nmessage: 2.5\nparameters:\n"
                   "- name: 1\n  value: 0x1F\n  required: yes\nobjects:\n- null\n",
    "zero.yaml": "objects: []\n",
    "two.yaml": "objects:\n- a: 1\n- b: 2\n",
    "comment.yaml": "---\n# only a comment\n",
    "multi.yaml": "objects:\n- x: 1\n---\nobjects: []\n",
    "empty.yaml": "",
    "list.json": "[1, 2]",
    "badreq.yaml": 'parameters:\n- name: A\n  required: "yes"\nobjects:\n- {}\n',
    "badobjects.yaml": "objects: 5\n",
    "badmeta.yaml": "metadata: []\nobjects:\n- {}\n",
    "badreq.json": '{"objects": [{}], "parameters": [{"name": "A", "required": "yes"}]}',
    "badmsg.json": '{"message": {}, "objects": [{}]}',
    "truncated.json": '{"objects": [{}',
    "badsyntax.json": '{"objects": [null] [0]}',
}
CASES += [
    ("tpl-convert-yaml", ["template", "convert", "-f", "t.yaml"], TPL_FILES),
    ("tpl-convert-yaml-json", ["template", "convert", "-f", "t.yaml", "-o", "json"], TPL_FILES),
    ("tpl-convert-json", ["template", "convert", "--file", "t.json"], TPL_FILES),
    ("tpl-convert-json-json", ["template", "convert", "--file=t.json", "--output=json"], TPL_FILES),
    ("tpl-convert-values", ["template", "convert", "-f", "values.yaml"], TPL_FILES),
    ("tpl-convert-values-json", ["template", "convert", "-f", "values.yaml", "-o", "json"], TPL_FILES),
    ("tpl-convert-coerce", ["template", "convert", "-f", "coerce.yaml"], TPL_FILES),
    ("tpl-convert-zero", ["template", "convert", "-f", "zero.yaml"], TPL_FILES),
    ("tpl-convert-two", ["template", "convert", "-f", "two.yaml"], TPL_FILES),
    ("tpl-convert-comment", ["template", "convert", "-f", "comment.yaml"], TPL_FILES),
    ("tpl-convert-multi", ["template", "convert", "-f", "multi.yaml"], TPL_FILES),
    ("tpl-convert-empty", ["template", "convert", "-f", "empty.yaml"], TPL_FILES),
    ("tpl-convert-list", ["template", "convert", "-f", "list.json"], TPL_FILES),
    ("tpl-convert-bad-required", ["template", "convert", "-f", "badreq.yaml"], TPL_FILES),
    ("tpl-convert-bad-objects", ["template", "convert", "-f", "badobjects.yaml"], TPL_FILES),
    ("tpl-convert-bad-metadata", ["template", "convert", "-f", "badmeta.yaml"], TPL_FILES),
    ("tpl-convert-bad-required-json", ["template", "convert", "-f", "badreq.json"], TPL_FILES),
    ("tpl-convert-bad-message-json", ["template", "convert", "-f", "badmsg.json"], TPL_FILES),
    ("tpl-convert-truncated-json", ["template", "convert", "-f", "truncated.json"], TPL_FILES),
    ("tpl-convert-syntax-json", ["template", "convert", "-f", "badsyntax.json"], TPL_FILES),
    ("tpl-convert-missing", ["template", "convert", "-f", "missing.yaml"], {}),
    ("tpl-convert-directory", ["template", "convert", "-f", "."], {}),
    ("tpl-convert-no-source", ["template", "convert"], {}),
    ("tpl-convert-name-and-file", ["template", "convert", "a", "-f", "t.yaml"], TPL_FILES),
    ("tpl-convert-two-names", ["template", "convert", "a", "--name", "b"], {}),
    ("tpl-convert-output", ["template", "convert", "-f", "t.yaml", "-o", "xml"], TPL_FILES),
    ("tpl-convert-args", ["template", "convert", "a", "b"], {}),
    ("tpl-convert-exclusive", ["template", "convert", "--name", "a", "-f", "t.yaml"], TPL_FILES),
    ("tpl-convert-stdin", ["template", "convert", "-f", "-", "-o", "json"], {"<stdin>": '{"objects": [{"a": "<1>"}]}'}),
]

# ---- help and usage (pyvirtctl adds its `-o, --output` line to the create commands' flags)
CASES += [
    ("help-create-bare", ["create"], {}),
    ("help-create-unknown", ["create", "disk"], {}),
    ("help-create", ["create", "--help"], {}),
    ("help-create-vm", ["create", "vm", "--help"], {}),
    ("help-create-instancetype", ["create", "instancetype", "-h"], {}),
    ("help-create-preference", ["create", "preference", "--help"], {}),
    ("help-create-clone", ["create", "clone", "--help"], {}),
    ("help-template-convert", ["template", "convert", "--help"], {}),
]


def run(ref: str, argv: list[str], files: dict[str, str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in files.items():
            if name != STDIN:
                Path(tmp, name).write_text(content)
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "LANG": "C.UTF-8"}
        stdin = files.get(STDIN, "").encode()
        proc = subprocess.run([ref, *argv], capture_output=True, cwd=tmp, env=env, timeout=60, input=stdin)
    stderr = PROBE_LINE.sub("", proc.stderr.decode("utf-8", "surrogateescape"))
    return {"rc": proc.returncode, "stdout": proc.stdout.decode("utf-8", "surrogateescape"), "stderr": stderr}


def main() -> int:
    ref = os.environ.get("VIRTCTL_REF")
    if not ref:
        print("set VIRTCTL_REF to the reference virtctl binary", file=sys.stderr)
        return 2
    seen: set[str] = set()
    cases = []
    for case_id, argv, files in CASES:
        if case_id in seen:
            raise SystemExit(f"duplicate case id {case_id}")
        seen.add(case_id)
        cases.append({"id": case_id, "argv": argv, "files": files, **run(ref, argv, files)})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
