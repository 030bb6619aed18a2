"""Record the reference virtctl's answers for `template process` (tests/fixtures/template_process_cases.json).

    VIRTCTL_REF=/path/to/virtctl python scripts/gen_template_fixtures.py

Every case processes local files (`-f`, stdin, `--params-file`) or stops at an argument check, so
no cluster is needed: the reference runs in a scratch directory with no kubeconfig, as in
scripts/gen_create_fixtures.py (whose runner this uses; the server-version probe line virtctl adds
after an error is dropped). Values made by the `expression` generator are random: each case lists
`masks`, regular expressions whose matches are replaced before comparing (the test applies them to
both outputs, so a value of the wrong shape still fails).

Tests never run this script or the reference binary: they read the JSON.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_create_fixtures import STDIN, run  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "template_process_cases.json"

FULL = """apiVersion: template.kubevirt.io/v1beta1
kind: VirtualMachineTemplate
metadata:
  name: fedora-server
  namespace: templates
  labels:
    app: fedora
spec:
  message: "VirtualMachine ${NAME} is ready; log in as ${USER} (password ${PASSWORD}) with ${{CPU_CORES}} cores"
  parameters:
  - name: NAME
    displayName: VM name
    description: Name of the new VirtualMachine
    generate: expression
    from: "fedora-[a-z0-9]{6}"
  - name: USER
    value: fedora
  - name: PASSWORD
    generate: expression
    from: "pw[A-Z]{4}[\\\\d]{4}"
    required: true
  - name: CPU_CORES
    value: "2"
  - name: MEMORY
    value: 2048Mi
  - name: DISK_SIZE
    value: 30Gi
  - name: RUNNING
    value: Always
  - name: TIER
    value: backend
  virtualMachine:
    apiVersion: kubevirt.io/v1
    kind: VirtualMachine
    metadata:
      name: ${NAME}
      namespace: templates
      labels:
        app: ${NAME}
        tier: ${TIER}
      annotations:
        description: "made from fedora-server for ${USER}"
    spec:
      runStrategy: ${RUNNING}
      dataVolumeTemplates:
      - metadata:
          name: ${NAME}-root
        spec:
          sourceRef:
            kind: DataSource
            name: fedora
            namespace: openshift-virtualization-os-images
          storage:
            resources:
              requests:
                storage: ${DISK_SIZE}
      template:
        metadata:
          labels:
            kubevirt.io/domain: ${NAME}
        spec:
          domain:
            cpu:
              cores: ${{CPU_CORES}}
              sockets: 1
            memory:
              guest: ${MEMORY}
            devices:
              disks:
              - name: root
                disk:
                  bus: virtio
                bootOrder: 1
              - name: cloudinit
                disk:
                  bus: virtio
              interfaces:
              - name: default
                masquerade: {}
          networks:
          - name: default
            pod: {}
          terminationGracePeriodSeconds: 180
          volumes:
          - name: root
            dataVolume:
              name: ${NAME}-root
          - name: cloudinit
            cloudInitNoCloud:
              userData: |
                #cloud-config
                user: ${USER}
                password: ${PASSWORD}
                chpasswd: { expire: False }
"""

FULL_JSON = json.dumps({
    "kind": "VirtualMachineTemplate",
    "apiVersion": "template.kubevirt.io/v1beta1",
    "metadata": {"name": "small"},
    "spec": {
        "parameters": [
            {"name": "NAME", "value": "small-vm"},
            {"name": "CORES", "value": "4"},
            {"name": "PAUSE", "value": "false"},
            {"name": "ZONE", "value": "{\"zone\": \"a\", \"rack\": 7}"},
        ],
        "virtualMachine": {
            "kind": "VirtualMachine", "apiVersion": "kubevirt.io/v1",
            "metadata": {"name": "${NAME}", "annotations": {"note": "cores=${CORES} & <html>"}},
            "spec": {
                "runStrategy": "Halted",
                "template": {
                    "metadata": {"annotations": {"paused": "${PAUSE}"}},
                    "spec": {
                        "domain": {"cpu": {"cores": "${{CORES}}"}, "memory": {"guest": "1.5Gi"},
                                   "features": {"acpi": {"enabled": "${{PAUSE}}"}}, "devices": {}},
                        "nodeSelector": {"topology.kubernetes.io/zone": "eu-1"},
                        "evictionStrategy": "LiveMigrate",
                    },
                },
                "instancetype": {"name": "u1.small"},
            },
        },
    },
}, indent=2)

MINIMAL = """apiVersion: template.kubevirt.io/v1beta1
kind: VirtualMachineTemplate
metadata:
  name: minimal
spec:
  virtualMachine:
    apiVersion: kubevirt.io/v1
    kind: VirtualMachine
    metadata:
      name: plain
    spec:
      runStrategy: Manual
      template:
        spec:
          domain:
            devices: {}
            resources:
              requests:
                memory: 1e9
"""


def vmt(params: str, vm: str, message: str = "") -> str:
    """A small VirtualMachineTemplate with the given parameter list and VirtualMachine (YAML text)."""
    text = "apiVersion: template.kubevirt.io/v1beta1\nkind: VirtualMachineTemplate\nmetadata:\n  name: t\nspec:\n"
    if message:
        text += f"  message: {message}\n"
    if params:
        text += "  parameters:\n" + params
    if vm:
        text += "  virtualMachine:\n" + vm
    return text


VM_NAMED = """    apiVersion: kubevirt.io/v1
    kind: VirtualMachine
    metadata:
      name: ${NAME}
    spec:
      template:
        spec:
          domain:
            devices: {}
"""

FILES = {
    "full.yaml": FULL,
    "full.json": FULL_JSON,
    "minimal.yaml": MINIMAL,
    "required.yaml": vmt("  - name: NAME\n    required: true\n", VM_NAMED),
    "required-value.yaml": vmt("  - name: NAME\n    required: true\n    value: given\n", VM_NAMED),
    "unused.yaml": vmt("  - name: NAME\n    value: a\n  - name: EXTRA\n    value: b\n", VM_NAMED),
    "undefined.yaml": vmt("", VM_NAMED),
    "undefined-message.yaml": vmt("  - name: NAME\n    value: a\n", VM_NAMED, message="'hello ${WHO}'"),
    "duplicate.yaml": vmt("  - name: NAME\n    value: a\n  - name: NAME\n    value: b\n", VM_NAMED),
    "empty-name.yaml": vmt("  - name: NAME\n    value: a\n  - name: ''\n    value: b\n", VM_NAMED),
    "bad-generator.yaml": vmt("  - name: NAME\n    generate: random\n    from: '[a-z]{4}'\n", VM_NAMED),
    "no-from.yaml": vmt("  - name: NAME\n    generate: expression\n", VM_NAMED),
    "bad-length.yaml": vmt("  - name: NAME\n    generate: expression\n    from: 'vm-[a-z]{0}'\n", VM_NAMED),
    "long-length.yaml": vmt("  - name: NAME\n    generate: expression\n    from: 'vm-[a-z]{256}'\n", VM_NAMED),
    "word-length.yaml": vmt("  - name: NAME\n    generate: expression\n    from: 'vm-[a-z]{ten}'\n", VM_NAMED),
    "bad-range.yaml": vmt("  - name: NAME\n    generate: expression\n    from: 'vm-[z-a]{4}'\n", VM_NAMED),
    "no-expression.yaml": vmt("  - name: NAME\n    generate: expression\n    from: 'fixed-name'\n", VM_NAMED),
    "classes.yaml": vmt("  - name: NAME\n    generate: expression\n    from: 'x[\\w]{3}-[\\d]{2}-[\\a]{2}-[0-3]{4}'\n",
                        VM_NAMED),
    "no-vm.yaml": vmt("  - name: NAME\n    value: a\n", ""),
    "vm-list.yaml": vmt("", "    [1, 2]\n"),
    "ns-param.yaml": vmt("  - name: NAME\n    value: a\n  - name: NS\n    value: prod\n",
                         VM_NAMED.replace("      name: ${NAME}\n", "      name: ${NAME}\n      namespace: ${NS}\n")),
    "null-value.yaml": vmt("  - name: NAME\n    value: a\n  - name: NOTHING\n    value: 'null'\n",
                           VM_NAMED + "      runStrategy: ${{NOTHING}}\n"),
    "key-number.yaml": vmt("  - name: NAME\n    value: a\n  - name: K\n    value: '5'\n",
                           VM_NAMED.replace("      name: ${NAME}\n", "      name: ${NAME}\n      labels:\n"
                                                                     "        ${{K}}: x\n")),
    "key-subst.yaml": vmt("  - name: NAME\n    value: a\n  - name: K\n    value: team\n  - name: Q\n    value: '\"quoted\"'\n",
                          VM_NAMED.replace("      name: ${NAME}\n", "      name: ${NAME}\n      labels:\n"
                                                                    "        ${K}-label: ${K}\n        ${{Q}}: v\n")),
    "types.yaml": vmt("  - name: NAME\n    value: a\n  - name: CORES\n    value: two\n",
                      VM_NAMED.replace("            devices: {}\n",
                                       "            devices: {}\n            cpu:\n              cores: ${{CORES}}\n")),
    "unknown.yaml": vmt("  - name: NAME\n    value: a\n",
                        VM_NAMED.replace("    spec:\n", "    spec:\n      colour: red\n      flavour: x\n", 1)
                        + "      status:\n        bogus: 1\n"),
    "lenient.yaml": vmt("  - name: NAME\n    value: a\n",
                        VM_NAMED.replace("          domain:\n            devices: {}\n",
                                         "          Domain:\n            devices: {}\n            notAField: 1\n"
                                         "            Memory: {Guest: 1Gi}\n          dnsConfig:\n"
                                         "            nameservers: ['010.000.001.001', '::0:1']\n")),
    "quantity.yaml": vmt("  - name: NAME\n    value: a\n",
                         VM_NAMED.replace("            devices: {}\n",
                                          "            devices: {}\n            memory:\n              guest: lots\n")),
    "struct-string.yaml": vmt("  - name: NAME\n    value: a\n", VM_NAMED + "      dataVolumeTemplates: none\n"),
    "bad-yaml.yaml": "spec: [unclosed\n",
    "bad-yaml-mapping.yaml": "spec:\n  parameters: x\n    name: y\n",
    "bad-yaml-indent.yaml": "spec:\n  parameters:\n  - name: a\n   value: b\n",
    "bad-yaml-tab.yaml": "spec:\n\tparameters: []\n",
    "bad-yaml-flow-map.yaml": "spec: {parameters: [}\n",
    "bad-json.json": '{"spec": {"parameters": 5}}',
    "params.yaml": "USER: admin\nCPU_CORES: 4\nTIER: frontend\n",
    "params.json": '{"USER": "root", "RUNNING": "Halted"}',
    "params-list.yaml": "- USER\n- admin\n",
    "params-unknown.yaml": "NOPE: 1\n",
    "params-empty.yaml": "",
    "params-numbers.json": '{"CPU_CORES": 4, "USER": true}',
    "params-value-list.yaml": "CPU_CORES: [1]\n",
    "params-trailing.json": '{"USER": "a"} trailing',
}

GEN_NAME = ["fedora-[a-z0-9]{6}", "fedora-XXXXXX"]
GEN_PW = ["pw[A-Z]{4}[0-9]{4}", "pwXXXX0000"]
FULL_MASKS = [GEN_NAME, GEN_PW]

# (id, argv, files (names from FILES, or STDIN: text), masks)
CASES: list[tuple[str, list[str], dict[str, str], list[list[str]]]] = [
    ("full-yaml", ["template", "process", "-f", "full.yaml"], {}, FULL_MASKS),
    ("full-json-out", ["template", "process", "--file", "full.yaml", "-o", "json"], {}, FULL_MASKS),
    ("full-params", ["template", "process", "-f", "full.yaml", "-p", "USER=admin", "-p", "CPU_CORES=8,MEMORY=4Gi",
                     "--param=NAME=my-vm"], {}, [GEN_PW]),
    ("full-param-unknown", ["template", "process", "-f", "full.yaml", "-p", "COLOUR=red"], {}, []),
    ("full-param-bad", ["template", "process", "-f", "full.yaml", "-p", "USER"], {}, []),
    ("full-params-file", ["template", "process", "-f", "full.yaml", "--params-file", "params.yaml"], {}, FULL_MASKS),
    ("full-params-file-json", ["template", "process", "-f", "full.yaml", "--params-file", "params.json", "-o", "json"],
     {}, FULL_MASKS),
    ("params-file-missing", ["template", "process", "-f", "full.yaml", "--params-file", "nope.yaml"], {}, []),
    ("params-file-list", ["template", "process", "-f", "full.yaml", "--params-file", "params-list.yaml"], {}, []),
    ("params-file-unknown", ["template", "process", "-f", "full.yaml", "--params-file", "params-unknown.yaml"], {}, []),
    ("params-file-empty", ["template", "process", "-f", "full.yaml", "--params-file", "params-empty.yaml"], {}, []),
    ("params-file-numbers", ["template", "process", "-f", "full.yaml", "--params-file", "params-numbers.json"], {},
     FULL_MASKS),
    ("params-file-value-list", ["template", "process", "-f", "full.yaml", "--params-file", "params-value-list.yaml"],
     {}, []),
    ("params-file-trailing", ["template", "process", "-f", "full.yaml", "--params-file", "params-trailing.json"], {},
     FULL_MASKS),
    ("params-both", ["template", "process", "-f", "full.yaml", "-p", "A=b", "--params-file", "params.yaml"], {}, []),
    ("json-template", ["template", "process", "-f", "full.json"], {}, []),
    ("json-template-json-out", ["template", "process", "-f", "full.json", "-o", "json"], {}, []),
    ("json-template-object-param", ["template", "process", "-f", "full.json", "-p", "PAUSE=true", "-p", "CORES=1e3"],
     {}, []),
    ("stdin", ["template", "process", "-f", "-"], {STDIN: MINIMAL}, []),
    ("minimal-json", ["template", "process", "-f", "minimal.yaml", "-o", "json"], {}, []),
    ("print-params", ["template", "process", "-f", "full.yaml", "--print-params"], {}, []),
    ("print-params-json", ["template", "process", "-f", "full.yaml", "--print-params", "-o", "json"], {}, []),
    ("print-params-none", ["template", "process", "-f", "minimal.yaml", "--print-params"], {}, []),
    ("print-params-none-json", ["template", "process", "-f", "minimal.yaml", "--print-params", "-o", "json"], {}, []),
    ("print-params-missing", ["template", "process", "-f", "nope.yaml", "--print-params"], {}, []),
    ("required-missing", ["template", "process", "-f", "required.yaml"], {}, []),
    ("required-given", ["template", "process", "-f", "required.yaml", "-p", "NAME=given-on-cli"], {}, []),
    ("required-value", ["template", "process", "-f", "required-value.yaml"], {}, []),
    ("unused-warning", ["template", "process", "-f", "unused.yaml"], {}, []),
    ("undefined-reference", ["template", "process", "-f", "undefined.yaml"], {}, []),
    ("undefined-in-message", ["template", "process", "-f", "undefined-message.yaml"], {}, []),
    ("duplicate-parameter", ["template", "process", "-f", "duplicate.yaml"], {}, []),
    ("empty-parameter-name", ["template", "process", "-f", "empty-name.yaml"], {}, []),
    ("unknown-generator", ["template", "process", "-f", "bad-generator.yaml"], {}, []),
    ("generator-no-from", ["template", "process", "-f", "no-from.yaml"], {}, []),
    ("generator-zero-length", ["template", "process", "-f", "bad-length.yaml"], {}, []),
    ("generator-long", ["template", "process", "-f", "long-length.yaml"], {}, []),
    ("generator-word-length", ["template", "process", "-f", "word-length.yaml"], {}, []),
    ("generator-bad-range", ["template", "process", "-f", "bad-range.yaml"], {}, []),
    ("generator-no-expression", ["template", "process", "-f", "no-expression.yaml"], {}, []),
    ("generator-classes", ["template", "process", "-f", "classes.yaml"], {},
     [["x[A-Za-z0-9_]{3}-[0-9]{2}-[A-Za-z0-9]{2}-[0-3]{4}", "xAAA-00-AA-0000"]]),
    ("no-virtual-machine", ["template", "process", "-f", "no-vm.yaml"], {}, []),
    ("virtual-machine-list", ["template", "process", "-f", "vm-list.yaml"], {}, []),
    ("namespace-parameter", ["template", "process", "-f", "ns-param.yaml"], {}, []),
    ("null-value", ["template", "process", "-f", "null-value.yaml"], {}, []),
    ("key-not-string", ["template", "process", "-f", "key-number.yaml"], {}, []),
    ("key-substitution", ["template", "process", "-f", "key-subst.yaml", "-o", "json"], {}, []),
    ("type-error", ["template", "process", "-f", "types.yaml"], {}, []),
    ("type-error-fixed", ["template", "process", "-f", "types.yaml", "-p", "CORES=3"], {}, []),
    ("unknown-fields", ["template", "process", "-f", "unknown.yaml"], {}, []),
    ("lenient-vmi-spec", ["template", "process", "-f", "lenient.yaml"], {}, []),
    ("bad-quantity", ["template", "process", "-f", "quantity.yaml"], {}, []),
    ("struct-from-string", ["template", "process", "-f", "struct-string.yaml"], {}, []),
    ("bad-yaml", ["template", "process", "-f", "bad-yaml.yaml"], {}, []),
    ("bad-yaml-mapping", ["template", "process", "-f", "bad-yaml-mapping.yaml"], {}, []),
    ("bad-yaml-indent", ["template", "process", "-f", "bad-yaml-indent.yaml"], {}, []),
    ("bad-yaml-tab", ["template", "process", "-f", "bad-yaml-tab.yaml"], {}, []),
    ("bad-yaml-flow-map", ["template", "process", "-f", "bad-yaml-flow-map.yaml"], {}, []),
    ("bad-json", ["template", "process", "-f", "bad-json.json"], {}, []),
    ("file-missing", ["template", "process", "-f", "nope.yaml"], {}, []),
    ("file-directory", ["template", "process", "-f", "."], {}, []),
    ("no-source", ["template", "process"], {}, []),
    ("name-and-file", ["template", "process", "t", "-f", "full.yaml"], {}, []),
    ("name-twice", ["template", "process", "t", "--name", "u"], {}, []),
    ("two-names", ["template", "process", "a", "b"], {}, []),
    ("bad-output", ["template", "process", "-f", "full.yaml", "-o", "table"], {}, []),
    ("local-with-file", ["template", "process", "-f", "full.yaml", "--local"], {}, []),
    ("create-with-file", ["template", "process", "-f", "full.yaml", "--create"], {}, []),
    ("create-print-params", ["template", "process", "t", "--create", "--print-params"], {}, []),
    ("unknown-flag", ["template", "process", "-f", "full.yaml", "--colour"], {}, []),
    ("create-no-vm-name", ["template", "create"], {}, []),
    ("create-extra-arg", ["template", "create", "--vm-name", "a", "extra"], {}, []),
    ("help-template", ["template", "--help"], {}, []),
    ("help-template-process", ["template", "process", "--help"], {}, []),
    ("help-template-create", ["template", "create", "-h"], {}, []),
]


def main() -> int:
    ref = os.environ.get("VIRTCTL_REF")
    if not ref:
        print("set VIRTCTL_REF to the reference virtctl binary", file=sys.stderr)
        return 2
    seen: set[str] = set()
    cases = []
    for case_id, argv, extra, masks in CASES:
        if case_id in seen:
            raise SystemExit(f"duplicate case id {case_id}")
        seen.add(case_id)
        files = {n: text for n, text in FILES.items() if n in argv or any(a.endswith("=" + n) for a in argv)}
        files.update(extra)
        cases.append({"id": case_id, "argv": argv, "files": files, "masks": masks, **run(ref, argv, files)})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
