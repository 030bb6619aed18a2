"""Pure manifest builders: options dataclass -> checks -> a JSON-shaped dict (no I/O, no CLI).

`vm.build_vm`, `instancetype.build_instancetype`, `instancetype.build_preference`,
`clone.build_clone` and `template.convert_template` raise `params.ManifestError` with virtctl's
one-line text for a bad argument. Render the dicts with `pyvirtctl.output.go_yaml` (byte for byte
what virtctl prints) or `go_json`.
"""
