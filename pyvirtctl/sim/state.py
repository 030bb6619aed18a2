"""The simulated cluster's state: the object store, the settings, the guest data, seeds and --state files.

`SimState` is what the controllers and the object defaulting work on; `pyvirtctl.sim.core.Simulator`
adds the serving side (request log, faults, controllers, reset). Nothing here knows about HTTP.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pyvirtctl.sim import kstatus, launcher, resources
from pyvirtctl.sim.guestagent import default_data
from pyvirtctl.sim.guests import GuestHooks
from pyvirtctl.sim.kstatus import clone
from pyvirtctl.sim.resources import Resource
from pyvirtctl.sim.store import Store

DEFAULT_VERSION = "v1.9.0"
DEFAULT_NODES = ("node01", "node02")
PF_ANNOTATION = "sim.pyvirtctl.io/portforward"
GA_ANNOTATION = "sim.pyvirtctl.io/guest-agent"


class InputError(ValueError):
    """A seed or state file the simulator cannot use (reported as one line, exit status 1)."""


class SimState:
    def __init__(self, namespace: str = "default", delay: float = 0.0, seeds: list[str] | None = None,
                 state_file: str | None = None) -> None:
        self.namespace = namespace
        self.seeds = seeds or []
        self.state_file = state_file
        self.store = Store()
        self.config: dict[str, Any] = {"delay": delay, "version": DEFAULT_VERSION, "guest_agent": True,
                                       "hotplug_volumes": True, "user": "sim-user", "nodes": list(DEFAULT_NODES)}
        self.initial_config = clone(self.config)
        self.guest_data: dict[tuple[str, str], dict] = {}
        self.store.create_hooks.append(self._defaults_on_create)
        self._nodes: list[str] = []
        self.guests = GuestHooks(self)  # the built-in guest; pyvirtctl.sim.core.Simulator may add QEMU guests

    # -- lookups
    @staticmethod
    def res(kind: str) -> Resource:
        r = resources.by_kind(kind)
        if r is None:
            raise KeyError(kind)
        return r

    def guest_agent(self, ns: str, name: str) -> dict:
        data = self.guest_data.get((ns, name))
        if data is None:
            data = self.guests.agent_data(ns, name)
        return data if data is not None else default_data(name)

    def portforward_target(self, vmi: dict, port: int, protocol: str = "tcp") -> str | None:
        """"host:port" for a VMI port from the `sim.pyvirtctl.io/portforward` annotation (VMI, VM, VM template)."""
        md = vmi.get("metadata", {})
        sources = [md.get("annotations") or {}]
        vm = self.store.get(self.res("VirtualMachine"), md.get("namespace"), md.get("name", ""))
        if vm:
            sources.append(vm["metadata"].get("annotations") or {})
            sources.append(((vm.get("spec") or {}).get("template") or {}).get("metadata", {}).get("annotations") or {})
        for ann in sources:
            raw = ann.get(PF_ANNOTATION)
            if not raw:
                continue
            try:
                mapping = json.loads(raw)
            except ValueError:
                continue
            key = str(port) if protocol == "tcp" else f"{protocol}/{port}"
            if key in mapping:
                return str(mapping[key])
            if f"tcp/{port}" in mapping and protocol == "tcp":
                return str(mapping[f"tcp/{port}"])
        return None

    # -- objects
    def _defaults_on_create(self, res: Resource, obj: dict) -> None:
        if res.defaults is not None:
            res.defaults(self, obj)

    def ensure_namespace(self, ns: str | None) -> None:
        if not ns:
            return
        nsres = self.res("Namespace")
        if self.store.get(nsres, None, ns) is None:
            self.store.create(nsres, {"metadata": {"name": ns}})

    def ensure_nodes(self) -> None:
        """A Node object for every name in config["nodes"] (VMIs are scheduled on them)."""
        names = [str(n) for n in self.config.get("nodes") or []]
        if names == self._nodes and all(self.store.get(self.res("Node"), None, n) for n in names[:1]):
            return
        from pyvirtctl.sim.store import now_iso

        for i, n in enumerate(names):
            if self.store.get(self.res("Node"), None, n) is None:
                self.store.create(self.res("Node"), launcher.node(n, i, now_iso()))
        self._nodes = names

    def admin_apply(self, obj: dict) -> dict:
        """Create or replace an object as given, status included (admin API, seeds)."""
        if not isinstance(obj, dict):
            raise kstatus.bad_request("an object must be a mapping")
        kind = obj.get("kind")
        if not kind or not isinstance(kind, str):
            raise kstatus.bad_request("Object 'Kind' is missing")
        api_version = obj.get("apiVersion")
        res = resources.by_kind(kind, api_version if isinstance(api_version, str) else None)
        if res is None:
            raise kstatus.bad_request(f"unknown kind {kind!r}")
        obj = clone(obj)
        md = obj.setdefault("metadata", {})
        if not isinstance(md, dict):
            raise kstatus.bad_request(f"{kind}: metadata must be a mapping")
        if res.namespaced:
            md.setdefault("namespace", self.namespace)
            self.ensure_namespace(md["namespace"])
        cur = self.store.get(res, md.get("namespace"), md.get("name", "")) if md.get("name") else None
        if cur is None:
            status = obj.get("status")
            created = self.store.create(res, obj)
            if status is not None and created.get("status") != status:
                created = self.store.mutate(res, md.get("namespace"), created["metadata"]["name"],
                                            lambda o: o.__setitem__("status", status)) or created
            return created
        md["resourceVersion"] = cur["metadata"]["resourceVersion"]
        if "status" not in obj and "status" in cur:
            obj["status"] = cur["status"]
        return self.store.update(res, obj)

    def load_seeds(self) -> None:
        """Load every --seed file; a file the simulator cannot use raises `InputError` naming it."""
        self.ensure_namespace(self.namespace)
        self.ensure_nodes()
        for seed in self.seeds:
            for obj in load_documents(seed):
                try:
                    self.admin_apply(obj)
                except kstatus.StatusError as e:
                    raise InputError(f"seed {seed}: {e.message}") from None

    # -- --state persistence
    def load_state(self) -> bool:
        if not self.state_file or not os.path.exists(self.state_file):
            return False
        try:
            with open(self.state_file, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"state file {self.state_file}: {e}") from None
        except ValueError as e:
            raise InputError(f"state file {self.state_file} is not JSON: {e}") from None
        if not isinstance(data, dict) or not isinstance(data.get("objects", []), list):
            raise InputError(f"state file {self.state_file}: expected an object with an \"objects\" list")
        for obj in data.get("objects", []):
            md = obj.get("metadata") if isinstance(obj, dict) else None
            if not isinstance(md, dict) or not md.get("name") or not isinstance(obj.get("kind"), str):
                raise InputError(f"state file {self.state_file}: every object needs a kind and metadata.name")
            res = resources.by_kind(obj["kind"], obj.get("apiVersion"))
            if res is None:
                continue
            self.store.load(res, obj)
        try:
            self.store.rv = max(self.store.rv, int(data.get("resourceVersion", 0)))
        except (TypeError, ValueError):
            raise InputError(f"state file {self.state_file}: resourceVersion is not a number") from None
        return True

    def save_state(self) -> None:
        if not self.state_file:
            return
        objs = [obj for _, obj in self.store.all_objects()]
        tmp = self.state_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"resourceVersion": self.store.rv, "objects": objs}, f)
        os.replace(tmp, self.state_file)


# the packaged `default` seed: the demo VM, and the KubeVirt CR of the installation
DEFAULT_SEED = ("centos7-1905.yaml", "kubevirt-cr.yaml")


def load_documents(path: str) -> list[dict]:
    """Objects from a YAML/JSON file; `default` is the packaged demo seed. Raises `InputError`."""
    if path == "default":
        here = os.path.dirname(__file__)
        return [doc for name in DEFAULT_SEED for doc in load_documents(os.path.join(here, name))]
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"seed {path}: {getattr(e, 'strerror', None) or e}") from None
    try:
        docs = parse_documents(text)
    except ValueError as e:
        raise InputError(f"seed {path}: {e}") from None
    for i, d in enumerate(docs):
        md = d.get("metadata")
        if not isinstance(d.get("kind"), str) or not d.get("kind"):
            raise InputError(f"seed {path}: object {i + 1} has no kind")
        if not isinstance(md, dict) or not (md.get("name") or md.get("generateName")):
            raise InputError(f"seed {path}: {d['kind']} (object {i + 1}) has no metadata.name")
        if resources.by_kind(d["kind"], d.get("apiVersion") if isinstance(d.get("apiVersion"), str) else None) \
                is None:
            raise InputError(f"seed {path}: unknown kind {d['kind']!r} (object {i + 1})")
    return docs


def parse_documents(text: str) -> list[dict]:
    """The objects in a JSON value or a YAML stream (`kind: ...List` documents are unpacked).

    Raises ValueError with the parser's message when the text is neither."""
    try:
        data = json.loads(text)
        docs = data if isinstance(data, list) else [data]
    except ValueError:
        import yaml

        try:
            docs = [d for d in yaml.safe_load_all(text) if d]
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            what = getattr(e, "problem", None) or " ".join(str(e).split())
            raise ValueError(f"invalid YAML{where}: {what}") from None
    out = []
    for d in docs:
        if isinstance(d, dict) and str(d.get("kind", "")).endswith("List") and isinstance(d.get("items"), list):
            out.extend(x for x in d["items"] if isinstance(x, dict))
        elif isinstance(d, dict):
            out.append(d)
        else:
            raise ValueError(f"expected an object, found {type(d).__name__}")
    return out
