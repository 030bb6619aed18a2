"""virt-template in the simulator: processing VirtualMachineTemplates, and its two controllers.

Processing (`process_template`) is what the aggregated API behind
`/apis/subresources.template.kubevirt.io/v1beta1/.../virtualmachinetemplates/NAME/process|create`
does with a stored template and the request's `{"parameters": {...}}`:

* a parameter the template does not define -> 409 Conflict (`Operation cannot be fulfilled on  "NAME":
  parameter X not found in template` - virt-template builds it from the typed template, whose kind
  client-go leaves empty, hence the double space);
* references to undefined parameters, empty or duplicate names, unknown generators, bad `from`
  expressions, required values missing, a value that cannot replace `${{X}}`, fields a
  VirtualMachine does not have -> 422 Invalid (` "NAME" is invalid: <field errors>`);
* parameters nothing references -> warnings (`Warning` headers);
* otherwise the VirtualMachine (kind and apiVersion set, a hard-coded namespace dropped) and the
  template's message, both with `${X}` / `${{X}}` substituted and generated values filled in.

Controllers (`reconcile`, run by `controllers.Controllers` on every pass):

* a VirtualMachineTemplate gets `Ready=True` (`Reconciled`, "VirtualMachineTemplate is ready to be
  processed");
* a VirtualMachineTemplateRequest makes a template from its VM (in steps, one per `delay`): first
  `Ready=False/Waiting` while the (simulated) snapshot is taken, then the template is created - named
  `spec.templateName` or after the request, labelled `template.kubevirt.io/RequestUID`, the VM's spec
  with MAC addresses and firmware serial/UUID removed, each PVC or DataVolume volume turned into a
  DataVolumeTemplate `<volume>-${NAME}` cloned from a DataVolume the request creates in its namespace,
  one parameter `NAME` (required, generated `vm-[a-z0-9]{5}`) - and the request ends `Ready=True`,
  `Progressing=False`, `status.templateRef.name` set. A VM that does not exist ends it with
  `Ready=False/Failed` ("VirtualMachineSnapshot NS/NAME failed"). Simplifications: no snapshot
  objects, no instancetype expansion, the clones hold no data.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyvirtctl.sim import kstatus
from pyvirtctl.sim.kstatus import StatusError, clone
from pyvirtctl.sim.store import now_iso

if TYPE_CHECKING:
    from pyvirtctl.sim.state import SimState

GROUP = "template.kubevirt.io"
REQUEST_UID_LABEL = GROUP + "/RequestUID"
READY_MESSAGE = "VirtualMachineTemplate is ready to be processed"
NAME_PARAM = "NAME"

_REF = re.compile(r"\$\{([a-zA-Z0-9_]+)\}")
_WHOLE_REF = re.compile(r"\$\{\{([a-zA-Z0-9_]+)\}\}\Z")
_EXPR = re.compile(r"\[([a-zA-Z0-9\-\\]+)\](\{(\w+)\})", re.ASCII)
_RANGES = re.compile(r"(\\w)|(\\d)|(\\a)|(\\A)|(.-.)|([a-zA-Z0-9]+)")
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_CLASSES = {"\\w": _ALNUM + "_", "\\d": "0123456789", "\\a": _ALNUM, "\\A": "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"}


# ----------------------------------------------------------------------------------------------
# field errors and the Status answers built from them


def _go_json(value: Any) -> str:
    """json.Marshal's text: compact, UTF-8 kept, HTML characters escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return _go_json(value)


def _number(text: str) -> int | float:
    """A JSON number as Go's float64, written back without a fraction when it has none."""
    f = float(text)
    return int(f) if f.is_integer() and abs(f) < 2**63 else f


class FieldError(Exception):
    def __init__(self, field: str, kind: str, body: str) -> None:
        super().__init__(f"{field}: {body}")
        self.field, self.kind, self.body = field, kind, body

    @classmethod
    def invalid(cls, field: str, value: Any, detail: str) -> FieldError:
        return cls(field, "FieldValueInvalid", f"Invalid value: {_shown(value)}: {detail}")


def invalid_status(name: str, errors: list[FieldError]) -> StatusError:
    texts: list[str] = []
    for e in errors:
        if str(e) not in texts:
            texts.append(str(e))
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details = {"name": name, "causes": [{"reason": e.kind, "message": e.body, "field": e.field} for e in errors]}
    return StatusError(422, "Invalid", f' "{name}" is invalid: {joined}', details)


# ----------------------------------------------------------------------------------------------
# processing


def _each_string(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_each_string(v))]
    if isinstance(value, list):
        return [s for v in value for s in _each_string(v)]
    return []


def _refs(text: str) -> list[str]:
    found = _WHOLE_REF.match(text)
    return ([found.group(1)] if found else []) + _REF.findall(text)


def generate(expression: str) -> str:
    """The `expression` generator: `[a-z0-9]{5}` -> five random characters of those ranges."""
    while (m := _EXPR.search(expression)) is not None:
        expr = m.group(0)
        brace = expr.rindex("{")
        ranges, count = expr[1 : brace - 1], expr[brace + 1 : -1]
        if not _RANGES.search(ranges):
            raise ValueError(f"malformed ranges syntax: {ranges}")
        if not re.fullmatch(r"[+-]?\d+", count):
            raise ValueError(f'malformed length syntax: strconv.Atoi: parsing "{count}": invalid syntax')
        length = int(count)
        if not 1 <= length <= 255:
            raise ValueError(f"range must be within [1-255] characters: {length}")
        alphabet: set[str] = set()
        for part in (g.group(0) for g in _RANGES.finditer(ranges)):
            if part in _CLASSES:
                alphabet.update(_CLASSES[part])
            elif len(part) == 3 and part[1] == "-":
                lo, hi = _ALNUM.find(part[0]), _ALNUM.find(part[2])
                if lo < 0:
                    raise ValueError(f"invalid start character in range: {part[0]}")
                if hi < 0:
                    raise ValueError(f"invalid end character in range: {part[2]}")
                if lo > hi:
                    raise ValueError(f"invalid range specified: {part}")
                alphabet.update(_ALNUM[lo : hi + 1])
            else:
                alphabet.update(part)
        chars = sorted(alphabet)
        expression = expression.replace(expr, "".join(secrets.choice(chars) for _ in range(length)), 1)
    return expression


def _values(params: list[dict]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, p in enumerate(params):
        at = f"spec.parameters[{i}]"
        name = p.get("name") or ""
        if not name:
            raise FieldError.invalid(f"{at}.name", name, "parameter name is empty")
        if name in out:
            raise FieldError(f"{at}.name", "FieldValueDuplicate", f"Duplicate value: {_shown(name)}")
        value = p.get("value") or ""
        gen = p.get("generate") or ""
        if not value and gen:
            if gen != "expression":
                raise FieldError.invalid(f"{at}.generate", gen, f"unknown generator name '{gen}' for parameter '{name}'")
            source = p.get("from") or ""
            if not source:
                raise FieldError.invalid(f"{at}.from", source,
                                         f"from cannot be empty for parameter '{name}' using generator '{gen}'")
            try:
                value = generate(source)
            except ValueError as e:
                raise FieldError.invalid(f"{at}.from", source, str(e)) from None
        if not value and p.get("required"):
            raise FieldError(f"{at}.value", "FieldValueRequired",
                             f"Required value: parameter '{name}' is required and a value must be specified")
        out[name] = value
    return out


def _substitute_text(text: str, values: dict[str, str]) -> tuple[str, bool]:
    whole = _WHOLE_REF.match(text)
    if whole:
        if whole.group(1) not in values:
            raise ValueError(f"found parameter '{whole.group(1)}' but it was not defined")
        return values[whole.group(1)], False
    out = text
    for m in _REF.finditer(text):
        if m.group(1) not in values:
            raise ValueError(f"found parameter '{m.group(1)}' but it was not defined")
        out = out.replace(m.group(0), values[m.group(1)], 1)
    return out, True


def _substitute(value: Any, values: dict[str, str], target: str) -> Any:
    if isinstance(value, str):
        text, as_string = _substitute_text(value, values)
        if as_string:
            return text
        try:
            parsed = json.loads(text, parse_float=_number, parse_int=_number,
                                parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except ValueError:
            return text
        if parsed is None:
            raise ValueError(f"cannot assign nil value to target type {target}")
        if target == "string" and not isinstance(parsed, str):
            go = {bool: "bool", int: "float64", float: "float64", list: "[]interface {}",
                  dict: "map[string]interface {}"}[type(parsed)]
            raise ValueError(f"substituted value type {go} is not assignable to target type string")
        return parsed
    if isinstance(value, dict):
        pairs = [(_substitute(k, values, "string"), _substitute(v, values, "interface {}")) for k, v in value.items()]
        value.clear()
        value.update(pairs)
    elif isinstance(value, list):
        value[:] = [_substitute(v, values, "interface {}") for v in value]
    return value


def process_template(tpl: dict, given: dict[str, str], conversion_error: Callable[[dict], str] | None = None,
                     ) -> tuple[dict, str, list[str]]:
    """(VirtualMachine, message, warnings) of a stored template; errors are StatusErrors.

    `conversion_error(vm)` says why the processed object is not a VirtualMachine ("" when it is)."""
    name = tpl["metadata"]["name"]
    spec = tpl.get("spec") or {}
    params = [dict(p) for p in spec.get("parameters") or []]
    for key in sorted(given):
        match = next((p for p in params if p.get("name") == key), None)
        if match is None:
            raise StatusError(409, "Conflict", f'Operation cannot be fulfilled on  "{name}": parameter {key} not found '
                                               "in template", {"name": name})
        match["value"] = given[key]
    vm = spec.get("virtualMachine")
    if vm is None:
        raise invalid_status(name, [FieldError.invalid("spec.virtualMachine", None,
                                                       "virtualMachine is required and cannot be empty")])
    if not isinstance(vm, dict):
        import base64

        raw = base64.b64encode(json.dumps(vm, separators=(",", ":")).encode()).decode()
        word = {bool: "bool", str: "string", int: "number", float: "number", list: "array"}[type(vm)]
        raise invalid_status(name, [FieldError.invalid(
            "spec.virtualMachine.raw", raw,
            f"error decoding virtualMachine: json: cannot unmarshal {word} into Go value of type map[string]interface {{}}")])
    vm = clone(vm)
    referenced: list[str] = []
    for text in [*_each_string(vm), spec.get("message") or ""]:
        referenced += [r for r in _refs(text) if r not in referenced]
    defined = {p.get("name") or "": i for i, p in enumerate(params)}
    warnings = [f"spec.parameters[{i}].name: {n} is defined but never referenced"
                for n, i in defined.items() if n not in referenced]
    undefined = [FieldError.invalid("spec.virtualMachine", r, f"references undefined parameter {r}")
                 for r in referenced if r not in defined]
    if undefined:
        raise invalid_status(name, undefined)
    try:
        values = _values(params)
    except FieldError as e:
        raise invalid_status(name, [e]) from None
    meta = vm.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("namespace"), str) and meta["namespace"] \
            and not _REF.search(meta["namespace"]):
        del meta["namespace"]
    shown_params = [{k: v for k, v in p.items() if v not in ("", False, None)} for p in params]
    try:
        _substitute(vm, values, "interface {}")
    except ValueError as e:
        raise invalid_status(name, [FieldError.invalid("spec.parameters", shown_params,
                                                       f"error processing template: {e}")]) from None
    problem = conversion_error(vm) if conversion_error else ""
    if problem:
        detail = f"failed to convert unstructured object to VirtualMachine: {problem}"
        raise invalid_status(name, [FieldError.invalid("spec.virtualMachine", _sorted(vm), detail)])
    vm = {"kind": "VirtualMachine", "apiVersion": "kubevirt.io/v1",
          **{k: v for k, v in vm.items() if k not in ("kind", "apiVersion")}}
    message, _ = _substitute_text(spec.get("message") or "", values)
    return vm, message, warnings


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


# ----------------------------------------------------------------------------------------------
# controllers


def _condition(obj: dict, ctype: str, status: str, reason: str, message: str = "") -> bool:
    """meta.SetStatusCondition; True when something changed."""
    conds = obj.setdefault("status", {}).setdefault("conditions", [])
    gen = obj["metadata"].get("generation") or 0
    for c in conds:
        if c.get("type") == ctype:
            before = dict(c)
            if c.get("status") != status:
                c["lastTransitionTime"] = now_iso()
            c.update(status=status, observedGeneration=gen, reason=reason, message=message)
            return c != before
    conds.append({"type": ctype, "status": status, "observedGeneration": gen, "lastTransitionTime": now_iso(),
                  "reason": reason, "message": message})
    return True


def _find(obj: dict, ctype: str) -> dict | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == ctype), None)


def stable_name(base: str, *inputs: str) -> str:
    """virt-template's GetStableName: `<base>-<fnv32a of base and inputs>`, a valid DNS-1035 label."""
    h = 0x811C9DC5
    for part in (base, *inputs):
        for byte in part.encode():
            h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    digest = f"{h:08x}"
    if not base or not ("a" <= base[0] <= "z"):
        base = "x-" + base
    base = base[:54].rstrip("-")
    name = f"{base}-{digest}"
    if len(name) > 63 or not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name):
        return f"obj-{digest}"
    return name


def _template_spec(vm_spec: dict, namespace: str, template_name: str, uid: str) -> tuple[dict, list[str]]:
    """The template's VirtualMachine spec and the volumes to clone (their DataVolume names)."""
    spec = clone(vm_spec)
    domain = ((spec.get("template") or {}).get("spec") or {}).get("domain") or {}
    for iface in (domain.get("devices") or {}).get("interfaces") or []:
        iface.pop("macAddress", None)
    for key in ("serial", "uuid"):
        (domain.get("firmware") or {}).pop(key, None)
    volumes = ((spec.get("template") or {}).get("spec") or {}).get("volumes") or []
    clones: list[str] = []
    dvts = spec.setdefault("dataVolumeTemplates", [])
    for vol in volumes:
        if "persistentVolumeClaim" not in vol and "dataVolume" not in vol:
            continue
        vol_name = vol["name"]
        dv_name = (vol.get("dataVolume") or {}).get("name") or vol_name
        vol.clear()
        vol.update({"name": vol_name, "dataVolume": {"name": f"{dv_name}-${{{NAME_PARAM}}}"}})
        clone_name = stable_name(template_name, uid, vol_name)
        clones.append(clone_name)
        dvt = {"metadata": {"name": f"{dv_name}-${{{NAME_PARAM}}}"},
               "spec": {"source": {"pvc": {"namespace": namespace, "name": clone_name}}, "storage": {}}}
        for i, existing in enumerate(dvts):
            if (existing.get("metadata") or {}).get("name") == dv_name:
                dvts[i] = dvt
                break
        else:
            dvts.append(dvt)
    if not dvts:
        del spec["dataVolumeTemplates"]
    return spec, clones


def reconcile(state: SimState, gate: Callable[[str], bool]) -> None:
    store = state.store
    vmt_res = state.res("VirtualMachineTemplate")
    for tpl in store.list(vmt_res):
        cond = _find(tpl, "Ready")
        if cond is None or cond.get("status") != "True":
            md = tpl["metadata"]
            store.mutate(vmt_res, md["namespace"], md["name"],
                         lambda o: _condition(o, "Ready", "True", "Reconciled", READY_MESSAGE))
    for req in store.list(state.res("VirtualMachineTemplateRequest")):
        progressing = _find(req, "Progressing")
        if progressing is not None and progressing.get("status") == "False":
            continue
        if gate("vmtr/" + req["metadata"]["uid"]):
            _reconcile_request(state, req)


def _reconcile_request(state: SimState, req: dict) -> None:
    store = state.store
    res = state.res("VirtualMachineTemplateRequest")
    md = req["metadata"]
    ns, uid = md["namespace"], md["uid"]
    spec = req.get("spec") or {}
    ref = spec.get("virtualMachineRef") or {}
    template_name = spec.get("templateName") or md["name"]

    def update(fn: Callable[[dict], Any]) -> None:
        store.mutate(res, ns, md["name"], fn)

    def finish(status: str, reason: str, message: str, template: str = "") -> None:
        def fn(o: dict) -> None:
            _condition(o, "Ready", status, reason, message)
            _condition(o, "Progressing", "False", reason)
            if template:
                o["status"]["templateRef"] = {"name": template}
        update(fn)

    for key in ("namespace", "name"):
        if not ref.get(key):
            finish("False", "InvalidConfiguration", f"virtualMachineRef.{key} cannot be empty")
            return
    vmt_res = state.res("VirtualMachineTemplate")
    existing = store.get(vmt_res, ns, template_name)
    if existing is not None:
        if (existing["metadata"].get("labels") or {}).get(REQUEST_UID_LABEL) != uid:
            finish("False", "Failed", f"existing VirtualMachineTemplate {ns}/{template_name} was not created by this "
                                      "request")
            return
        finish("True", "Reconciled", READY_MESSAGE, template_name)
        return
    snapshot = stable_name(md["name"], uid)
    vm = store.get(state.res("VirtualMachine"), ref["namespace"], ref["name"])
    if vm is None:
        finish("False", "Failed", f"VirtualMachineSnapshot {ref['namespace']}/{snapshot} failed")
        return
    if _find(req, "Ready") is None:  # first step: the snapshot is being taken
        def waiting(o: dict) -> None:
            _condition(o, "Ready", "False", "Waiting",
                       f"Waiting for VirtualMachineSnapshot {ref['namespace']}/{snapshot} to be ready")
            _condition(o, "Progressing", "True", "Waiting")
        update(waiting)
        return
    vm_spec, clones = _template_spec(vm.get("spec") or {}, ns, template_name, uid)
    labels = {k: v for k, v in (spec.get("templateLabels") or {}).items() if not k.startswith(GROUP + "/")}
    labels[REQUEST_UID_LABEL] = uid
    tpl = {"apiVersion": f"{GROUP}/v1beta1", "kind": "VirtualMachineTemplate",
           "metadata": {"name": template_name, "namespace": ns, "labels": labels},
           "spec": {"virtualMachine": {"metadata": {"name": f"${{{NAME_PARAM}}}"}, "spec": vm_spec},
                    "parameters": [{"name": NAME_PARAM, "generate": "expression", "from": "vm-[a-z0-9]{5}",
                                    "required": True}]}}
    try:
        created = store.create(vmt_res, tpl)
    except StatusError as e:
        finish("False", "Failed", e.message)
        return
    dv_res = state.res("DataVolume")
    for name in clones:
        dv = {"apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume",
              "metadata": {"name": name, "namespace": ns, "labels": {REQUEST_UID_LABEL: uid},
                           "annotations": {"cdi.kubevirt.io/storage.bind.immediate.requested": ""},
                           "ownerReferences": [{"apiVersion": f"{GROUP}/v1beta1", "kind": "VirtualMachineTemplate",
                                                "name": template_name, "uid": created["metadata"]["uid"],
                                                "controller": True, "blockOwnerDeletion": True}]},
              "spec": {"source": {"snapshot": {"namespace": ref["namespace"], "name": snapshot}}, "storage": {}}}
        try:
            store.create(dv_res, dv)
        except kstatus.StatusError:
            pass
    finish("True", "Reconciled", READY_MESSAGE, template_name)
