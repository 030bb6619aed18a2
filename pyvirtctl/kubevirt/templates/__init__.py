"""VirtualMachineTemplates (template.kubevirt.io/v1beta1): the processing engine and Go's typed VirtualMachine.

* `engine`: what virt-template does with a template - merge the given parameters, check which ones
  are referenced, generate values (`expression`), substitute `${X}` and `${{X}}`, and turn the
  result into a VirtualMachine - with its error texts.
* `typed`: the VirtualMachine as Go's typed struct sees it (`vmtypes`, generated from KubeVirt's
  API): unknown fields, type errors, the field order and the empty values json.Marshal writes.
* `vmtypes`: the generated type table (scripts/gen_vm_types.py).

Pure code: no HTTP, no CLI. `pyvirtctl.commands.template` is the adapter.
"""
