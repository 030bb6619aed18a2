"""The Python API: `pyvirtctl.Client`, the layer the lifecycle commands stand on.

    from pyvirtctl import Client

    client = Client.from_kubeconfig(context="prod", namespace="vms")
    vm = client.vm("centos7-1905")
    vm.start(wait=True, timeout=300)           # returns when the VMI is Running and Ready
    for item in client.list_vms(selector="app=web"):
        print(item["metadata"]["name"], item.get("status", {}).get("printableStatus"))
    vm.migrate(wait=True)
    vm.stop(wait=True)

Every method sends exactly the request the matching virtctl command sends (the builders in
`pyvirtctl.kubevirt.requests` are shared with the CLI), and raises `pyvirtctl.errors.CLIError`
subclasses (`ApiError` carries `.status`) with virtctl's message text. Names and namespaces are
checked before anything is sent (`InputError`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyvirtctl.errors import CLIError
from pyvirtctl.kube import paths
from pyvirtctl.kubevirt import requests as rq

if TYPE_CHECKING:
    from pyvirtctl.kube.request import Request
    from pyvirtctl.kube.session import Session
    from pyvirtctl.kubevirt.devices import PermittedDevices
    from pyvirtctl.kubevirt.guestfs import GuestfsShell
    from pyvirtctl.kubevirt.usbredir import UsbRedir
    from pyvirtctl.kubevirt.waiting import Key, Progress, Reporter
    from pyvirtctl.streams.websocket import Conn

DEFAULT_TIMEOUT = 300.0


class WaitError(CLIError):
    """`wait=True` ended without reaching the state: the VMI failed, or the timeout passed."""


@dataclass
class Client:
    """A connection to one cluster (and a default namespace)."""

    session: Session

    @property
    def namespace(self) -> str:
        return self.session.namespace

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str = "", *, context: str = "", namespace: str = "",
                        **flags: Any) -> Client:
        """Connect like the CLI does: kubectl's kubeconfig rules; any global flag by its Python name
        (`server`, `token`, `insecure_skip_tls_verify`, `as_user`, `request_timeout`, ...).

        An unknown keyword is a TypeError, as for any Python function.
        """
        from pyvirtctl.kube.flags import GlobalFlags
        from pyvirtctl.kube.session import Session

        unknown = sorted(set(flags) - set(GlobalFlags.names()))
        if unknown:
            raise TypeError(f"from_kubeconfig() got unexpected keyword argument(s): {', '.join(unknown)}"
                            f" (known: {', '.join(GlobalFlags.names())})")
        params = {"kubeconfig": kubeconfig, "context": context, "namespace": namespace, **flags}
        return cls(Session.from_flags(GlobalFlags.from_params(params)))

    @classmethod
    def from_api_client(cls, api_client: Any, namespace: str = "default") -> Client:
        """Reuse a `kubernetes.client.ApiClient`: its host, TLS files, token and proxy."""
        from pyvirtctl.kube.flags import GlobalFlags
        from pyvirtctl.kube.session import Session

        cfg = api_client.configuration
        token = ""
        try:
            auth = cfg.auth_settings().get("BearerToken", {}).get("value", "")
            token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else auth
        except Exception:  # an older Configuration without auth_settings
            token = ""
        flags = GlobalFlags.from_params(
            {
                "server": cfg.host,
                "token": token,
                "certificate_authority": cfg.ssl_ca_cert or "",
                "client_certificate": cfg.cert_file or "",
                "client_key": cfg.key_file or "",
                "insecure_skip_tls_verify": not cfg.verify_ssl,
                "tls_server_name": getattr(cfg, "tls_server_name", None) or "",
                "proxy_url": cfg.proxy or "",
                "namespace": namespace,
                "kubeconfig": "/dev/null",
            }
        )
        return cls(Session.from_flags(flags))

    def close(self) -> None:
        """Close the pooled connections (the client can still be used; it reconnects)."""
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def vm(self, name: str, namespace: str | None = None) -> VirtualMachine:
        return VirtualMachine(self, name, namespace or self.namespace)

    def vmi(self, name: str, namespace: str | None = None) -> VirtualMachineInstance:
        return VirtualMachineInstance(self, name, namespace or self.namespace)

    def list_vms(self, namespace: str | None = None, selector: str = "",
                 all_namespaces: bool = False) -> list[dict[str, Any]]:
        """The VirtualMachine objects of a namespace (default: the client's), or of every namespace."""
        return self._list(paths.VMS, namespace, selector, all_namespaces)

    def list_vmis(self, namespace: str | None = None, selector: str = "",
                  all_namespaces: bool = False) -> list[dict[str, Any]]:
        return self._list(paths.VMIS, namespace, selector, all_namespaces)

    def _list(self, resource: paths.Resource, namespace: str | None, selector: str,
              all_namespaces: bool) -> list[dict[str, Any]]:
        ns = None if all_namespaces else (namespace or self.namespace)
        return list(self.session.send(rq.list_request(resource, ns, selector)).json().get("items") or [])

    def expose(self, kind: str, name: str, namespace: str | None = None, **options: Any) -> dict[str, Any]:
        """Create a Service for a VM, VMI or VMI replica set, as `pyvirtctl expose` does; returns it.

        `kind` is what the command takes (`vm`, `vmi`, `vmirs`, or their long forms); `options` are
        the fields of `pyvirtctl.kubevirt.expose.ExposeOptions` (`port`, `target_port`, `service_name`,
        `service_type`, `protocol`, `dry_run`, ...). With `dry_run=True` nothing is created and the
        Service that would be is returned.
        """
        from pyvirtctl.kubevirt.expose import ExposeOptions, expose_service

        o = ExposeOptions(type=kind, name=name, **options)
        return expose_service(self.session, o, namespace or self.namespace)

    def create(self, manifest: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        """Create an object built by `pyvirtctl.kubevirt.manifests` (a VirtualMachine, instancetype,
        preference or clone - what `create ... --apply` does); returns it as the server created it.

        A namespaced object goes to its `metadata.namespace`, else to `namespace` (default: the
        client's). Errors read `error creating VirtualMachine NS/NAME: ...`.
        """
        from pyvirtctl.kube.request import Request
        from pyvirtctl.kubevirt.manifests.target import collection_ref, display_name, target_namespace

        ns = namespace or self.namespace
        shown = {"metadata": {**(manifest.get("metadata") or {}), "namespace": target_namespace(manifest, ns) or ""}}
        prefix = f"error creating {manifest.get('kind')} {display_name(shown)}: "
        with _prefixed(prefix):
            ref = collection_ref(manifest, ns)
        req = Request("POST", ref, body=manifest, content_type="application/json")
        return dict(self.session.send(req, error_prefix=prefix).json())

    def console(self, name: str, namespace: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Conn:
        """A connection to the VMI's serial console (`send(bytes)`, `recv()`, `close()`; a context manager).

        Waits up to `timeout` seconds for the VMI to be running (0: one attempt).
        """
        from pyvirtctl.kubevirt.console import open_console

        return open_console(self.session, namespace or self.namespace, name, timeout / 60.0)

    def log_verbosity(self) -> dict[str, int]:
        """Every component's log level from the KubeVirt CR (`adm log-verbosity --all`), defaults filled in."""
        from pyvirtctl.kubevirt import adm

        lines = adm.log_verbosity(self.session, adm.LogVerbosityOptions({adm.ALL: adm.SHOW}))
        return {name: int(level) for name, _, level in (line.partition("=") for line in lines)}

    def set_log_verbosity(self, levels: dict[str, int] | None = None, reset: bool = False) -> bool:
        """Set levels 0-9 by component (`virt-handler`, ..., or `all`), after emptying them with `reset`,
        as `adm log-verbosity` does; False when there was nothing to change (no request sent)."""
        from pyvirtctl.errors import InputError
        from pyvirtctl.kubevirt import adm

        levels = dict(levels or {})
        unknown = sorted(set(levels) - {*adm.COMPONENTS, adm.ALL})
        if unknown:
            raise InputError(f"unknown component(s): {', '.join(unknown)} (known: {', '.join(adm.COMPONENTS)}, all)")
        if any(v == adm.SHOW for v in levels.values()):
            raise InputError(f"a log verbosity must be {adm.MIN_LEVEL}-{adm.MAX_LEVEL}")
        return bool(adm.log_verbosity(self.session, adm.LogVerbosityOptions(levels, reset)))

    def permitted_devices(self, namespace: str | None = None) -> PermittedDevices:
        """The permitted host (PCI) and GPU (mediated) devices of the KubeVirt CR in `namespace`
        (default: the client's), as `permitted-devices` reads them: a `PermittedDevices` tuple."""
        from pyvirtctl.kubevirt.devices import permitted_devices

        return permitted_devices(self.session, namespace or self.namespace)

    def usbredir(self, name: str, namespace: str | None = None) -> UsbRedir:
        """A USB redirection to the VMI (`usbredir`): `.address` for a usbredir client, `.launch(device)`
        to start usbredirect, `.wait()`, `.close()`."""
        from pyvirtctl.kubevirt.usbredir import UsbRedir

        return UsbRedir.open(self.session, namespace or self.namespace, name)

    def guestfs(self, pvc: str, namespace: str | None = None, **options: Any) -> GuestfsShell:
        """The libguestfs pod on `pvc` with its shell (`guestfs`), as a context manager: entering creates
        and starts the pod and returns the attached TTY (`send`, `recv`, `resize`), leaving deletes it.
        Options are GuestfsOptions' fields (`image=`, `kvm=`, `pull_policy=`, `root=`, `uid=`, `vm=`...)."""
        from pyvirtctl.kubevirt.guestfs import GuestfsOptions, GuestfsShell

        return GuestfsShell(self.session, namespace or self.namespace, GuestfsOptions(pvc, **options))


class _Handle:
    kind = ""
    resource = paths.VMIS

    def __init__(self, client: Client, name: str, namespace: str) -> None:
        self.client = client
        self.name = name
        self.namespace = namespace

    @property
    def session(self) -> Session:
        return self.client.session

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.namespace}/{self.name}>"

    def _send(self, request: Callable[[], Request], prefix: str = "") -> Any:
        """Build the request (a bad name raises here, with the prefix) and send it."""
        from pyvirtctl.errors import prefixed

        with prefixed(prefix):
            built = request()
        return self.session.send(built, error_prefix=prefix)

    def get(self) -> dict[str, Any]:
        """The object as the API server has it."""
        return dict(self.session.send(rq.get_request(paths.ref(self.resource, self.namespace, self.name))).json())

    def object_graph(self, exclude_optional: bool = False, selector: dict[str, str] | None = None) -> dict[str, Any]:
        """The objects this VM/VMI depends on, from virt-api's `objectgraph` (as `objectgraph` gets it)."""
        from pyvirtctl.kubevirt.objectgraph import ObjectGraphOptions, object_graph

        o = ObjectGraphOptions(self.name, self.kind == "VMI", exclude_optional, dict(selector or {}))
        return object_graph(self.session, self.namespace, o)

    def _wait(self, collection: paths.Resource, predicate: Callable[[dict[str, Any] | None], Progress],
              timeout: float, reporter: Reporter | None = None,
              match: Callable[[dict[str, Any]], Key | None] | None = None) -> Progress:
        from pyvirtctl.kubevirt.waiting import last_event, wait_all

        key = (self.namespace, self.name)
        result = wait_all(self.session, collection, [key], lambda _k, o: predicate(o), timeout=timeout,
                          reporter=reporter, match=match)[key]
        if result.failure:
            why = result.failure
            event = last_event(self.session, self.namespace, self.name) if "timed out" not in why else ""
            raise WaitError(f"{self.kind} {self.name}: {why}" + (f" (last event: {event})" if event else ""))
        return result


class VirtualMachine(_Handle):
    """One VirtualMachine: the subresource calls of start/stop/restart/migrate, with optional waits."""

    kind = "VM"
    resource = paths.VMS

    def vmi(self) -> VirtualMachineInstance:
        return VirtualMachineInstance(self.client, self.name, self.namespace)

    def start(self, paused: bool = False, dry_run: bool = False, wait: bool = False,
              timeout: float = DEFAULT_TIMEOUT, reporter: Reporter | None = None) -> Progress | None:
        o = rq.StartOptions(self.name, paused, dry_run)
        self._send(lambda: rq.start_request(o, self.namespace), "Error starting VirtualMachine ")
        if not wait or dry_run:
            return None
        from pyvirtctl.kubevirt import waiting

        if paused:
            return self._wait(paths.VMIS, lambda v: waiting.paused(v, True), timeout, reporter)
        return self._wait(paths.VMIS, waiting.started, timeout, reporter)

    def wait_running(self, timeout: float = DEFAULT_TIMEOUT, reporter: Reporter | None = None) -> Progress:
        """Wait until the VM's VMI is Running and Ready (after creating a VM whose run strategy starts
        it, or after a start); raises WaitError when it fails or the timeout passes."""
        from pyvirtctl.kubevirt import waiting

        return self._wait(paths.VMIS, waiting.started, timeout, reporter)

    def stop(self, force: bool = False, grace_period: int | None = None, dry_run: bool = False,
             wait: bool = False, timeout: float = DEFAULT_TIMEOUT,
             reporter: Reporter | None = None) -> Progress | None:
        o = rq.StopOptions(self.name, force, grace_period, dry_run)
        rq.validate_stop(o)
        prefix = "error force stopping VirtualMachine: " if force else "error stopping VirtualMachine "
        self._send(lambda: rq.stop_request(o, self.namespace), prefix)
        if not wait or dry_run:
            return None
        from pyvirtctl.kubevirt.waiting import stopped

        return self._wait(paths.VMIS, stopped, timeout, reporter)

    def restart(self, force: bool = False, grace_period: int | None = None, dry_run: bool = False,
                wait: bool = False, timeout: float = DEFAULT_TIMEOUT,
                reporter: Reporter | None = None) -> Progress | None:
        o = rq.StopOptions(self.name, force, grace_period, dry_run)
        rq.validate_stop(o)
        prefix = "error force restarting VirtualMachine: " if force else "error restarting VirtualMachine: "
        with _prefixed(prefix):
            request = rq.restart_request(o, self.namespace)
        old_uid = self.vmi().uid() if wait and not dry_run else None
        self.session.send(request, error_prefix=prefix)
        if not wait or dry_run:
            return None
        from pyvirtctl.kubevirt.waiting import started

        return self._wait(paths.VMIS, lambda v: started(v, old_uid or ""), timeout, reporter)

    def migrate(self, added_node_selector: dict[str, str] | None = None, dry_run: bool = False,
                wait: bool = False, timeout: float = DEFAULT_TIMEOUT,
                reporter: Reporter | None = None) -> Progress | None:
        o = rq.MigrateOptions(self.name, dry_run, dict(added_node_selector or {}))
        prefix = "Error migrating VirtualMachine "
        with _prefixed(prefix):
            request = rq.migrate_request(o, self.namespace)
        before = existing_migrations(self.session, self.namespace) if wait and not dry_run else set()
        self.session.send(request, error_prefix=prefix)
        if not wait or dry_run:
            return None
        from pyvirtctl.kubevirt.waiting import migrated

        return self._wait(paths.MIGRATIONS, migrated, timeout, reporter, match=migration_matcher(before))

    def pause(self, dry_run: bool = False, wait: bool = False, timeout: float = DEFAULT_TIMEOUT,
              reporter: Reporter | None = None) -> Progress | None:
        """Pause the VM's instance (the VMI of the same name)."""
        return self.vmi().pause(dry_run=dry_run, wait=wait, timeout=timeout, reporter=reporter)

    def unpause(self, dry_run: bool = False, wait: bool = False, timeout: float = DEFAULT_TIMEOUT,
                reporter: Reporter | None = None) -> Progress | None:
        return self.vmi().unpause(dry_run=dry_run, wait=wait, timeout=timeout, reporter=reporter)

    def expose(self, **options: Any) -> dict[str, Any]:
        """A Service for this VM (see `Client.expose`)."""
        return self.client.expose("vm", self.name, self.namespace, **options)

    def add_ssh_key(self, user: str, key: str = "", file: str = "", secret: str = "", create_secret: bool = False,
                    update_secret: bool = False, force: bool = False) -> str:
        """`credentials add-ssh-key`: the key (`key`, or the public key file `file`) for `user`; returns
        virtctl's message ("" when a new Secret was created)."""
        from pyvirtctl.kubevirt import credentials as cr

        o = cr.AddKeyOptions(user, cr.ssh_key(file, key), secret, create_secret, update_secret, force)
        return cr.add_ssh_key(self.session, self.namespace, self.name, o)

    def remove_ssh_key(self, user: str, key: str = "", file: str = "", secret: str = "", force: bool = False) -> str:
        """`credentials remove-ssh-key`: drop the key's lines from the user's Secrets."""
        from pyvirtctl.kubevirt import credentials as cr

        o = cr.RemoveKeyOptions(user, cr.ssh_key(file, key), secret, force)
        return cr.remove_ssh_key(self.session, self.namespace, self.name, o)

    def set_password(self, user: str, password: str, secret: str = "", force: bool = False) -> str:
        """`credentials set-password`: the user's password in the VM's userPassword Secret."""
        from pyvirtctl.kubevirt import credentials as cr

        return cr.set_password(self.session, self.namespace, self.name, cr.PasswordOptions(user, password, secret, force))


class VirtualMachineInstance(_Handle):
    """One VirtualMachineInstance: pause/unpause/soft-reboot/reset and its console."""

    kind = "VMI"
    resource = paths.VMIS

    def uid(self) -> str:
        """The instance's UID, or "" when there is no instance."""
        from pyvirtctl.errors import ApiError

        try:
            return str(self.get().get("metadata", {}).get("uid", ""))
        except ApiError as e:
            if e.not_found:
                return ""
            raise

    def pause(self, dry_run: bool = False, wait: bool = False, timeout: float = DEFAULT_TIMEOUT,
              reporter: Reporter | None = None) -> Progress | None:
        self._send(lambda: rq.vmi_action_request("pause", self.namespace, self.name, dry_run),
                   f"Error pausing VirtualMachineInstance {self.name}: ")
        if not wait or dry_run:
            return None
        from pyvirtctl.kubevirt.waiting import paused

        return self._wait(paths.VMIS, lambda v: paused(v, True), timeout, reporter)

    def unpause(self, dry_run: bool = False, wait: bool = False, timeout: float = DEFAULT_TIMEOUT,
                reporter: Reporter | None = None) -> Progress | None:
        self._send(lambda: rq.vmi_action_request("unpause", self.namespace, self.name, dry_run),
                   f"Error unpausing VirtualMachineInstance {self.name}: ")
        if not wait or dry_run:
            return None
        from pyvirtctl.kubevirt.waiting import paused

        return self._wait(paths.VMIS, lambda v: paused(v, False), timeout, reporter)

    def soft_reboot(self) -> None:
        self._send(lambda: rq.soft_reboot_request(self.namespace, self.name),
                   f"Error soft rebooting VirtualMachineInstance {self.name}: ")

    def reset(self) -> None:
        self._send(lambda: rq.reset_request(self.namespace, self.name),
                   f"Error reseting VirtualMachineInstance {self.name}: ")

    def console(self, timeout: float = DEFAULT_TIMEOUT) -> Conn:
        """A connection to this VMI's serial console (see `Client.console`)."""
        return self.client.console(self.name, self.namespace, timeout=timeout)


def _prefixed(prefix: str) -> Any:
    from pyvirtctl.errors import prefixed

    return prefixed(prefix)


def existing_migrations(session: Any, namespace: str | None) -> set[tuple[str, str]]:
    """(namespace, name) of the migrations that exist now, so a wait can tell the new one apart."""
    items = session.send(rq.list_request(paths.MIGRATIONS, namespace)).json()
    return {(m["metadata"].get("namespace", ""), m["metadata"]["name"]) for m in items.get("items") or []}


def migration_matcher(before: set[tuple[str, str]]) -> Callable[[dict[str, Any]], tuple[str, str] | None]:
    """Map a new migration object to the (namespace, VM name) it migrates; old ones map to None."""

    def match(obj: dict[str, Any]) -> tuple[str, str] | None:
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace", "")
        if (ns, meta.get("name", "")) in before:
            return None
        return ns, (obj.get("spec") or {}).get("vmiName", "")

    return match
