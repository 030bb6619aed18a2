"""The Python API: `pyvirtctl.Client`, on which the lifecycle commands are built.

    from pyvirtctl import Client

    client = Client.from_kubeconfig(context="prod", namespace="vms")
    vm = client.vm("centos7-1905")
    vm.start(wait=True, timeout=300)           # returns when the VMI is Running and Ready
    for item in client.list_vms(selector="app=web"):
        print(item["metadata"]["name"], item.get("status", {}).get("printableStatus"))
    vm.migrate(wait=True)
    vm.stop(wait=True)

Every method sends exactly the request the matching virtctl command sends (the request builders
live in the command modules and are shared), and raises `pyvirtctl.errors.CLIError` subclasses
(`ApiError` carries `.status`) with virtctl's message text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyvirtctl.errors import CLIError

if TYPE_CHECKING:
    from pyvirtctl.kube.session import Session
    from pyvirtctl.waiting import Progress, Reporter

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
    def from_kubeconfig(
        cls,
        kubeconfig: str = "",
        *,
        context: str = "",
        namespace: str = "",
        **flags: Any,
    ) -> Client:
        """Connect like the CLI does: kubectl's kubeconfig rules; any global flag by its long name."""
        from pyvirtctl.kube.config import GlobalFlags
        from pyvirtctl.kube.session import Session

        params = {"kubeconfig": kubeconfig, "context": context, "namespace": namespace, **flags}
        return cls(Session.from_flags(GlobalFlags.from_params(params)))

    @classmethod
    def from_api_client(cls, api_client: Any, namespace: str = "default") -> Client:
        """Reuse a `kubernetes.client.ApiClient`: its host, TLS files, token and proxy."""
        from pyvirtctl.kube.config import GlobalFlags
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

    def vm(self, name: str, namespace: str | None = None) -> VirtualMachine:
        return VirtualMachine(self, name, namespace or self.namespace)

    def vmi(self, name: str, namespace: str | None = None) -> VirtualMachineInstance:
        return VirtualMachineInstance(self, name, namespace or self.namespace)

    def list_vms(
        self, namespace: str | None = None, selector: str = "", all_namespaces: bool = False
    ) -> list[dict]:
        return self._list("virtualmachines", namespace, selector, all_namespaces)

    def list_vmis(
        self, namespace: str | None = None, selector: str = "", all_namespaces: bool = False
    ) -> list[dict]:
        return self._list("virtualmachineinstances", namespace, selector, all_namespaces)

    def _list(self, plural: str, namespace: str | None, selector: str, all_namespaces: bool) -> list[dict]:
        from pyvirtctl.kube.paths import kv_collection

        path = kv_collection(None if all_namespaces else (namespace or self.namespace), plural)
        query = [("labelSelector", selector)] if selector else None
        return list(self.session.request("GET", path, query=query).json().get("items") or [])

    def expose(self, kind: str, name: str, namespace: str | None = None, **options: Any) -> dict:
        """Create a Service for a VM, VMI or VMI replica set, as `pyvirtctl expose` does; returns it."""
        from pyvirtctl.commands import expose as mod

        return mod.expose_service(self.session, kind, name, namespace or self.namespace, **options)

    def console(self, name: str, namespace: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """A socket-like connection to the VMI's serial console (send/recv bytes, close)."""
        from pyvirtctl.commands import console as mod

        return mod.open_console(self.session, name, namespace or self.namespace, timeout=timeout)


class _Handle:
    kind = ""

    def __init__(self, client: Client, name: str, namespace: str) -> None:
        self.client = client
        self.name = name
        self.namespace = namespace

    @property
    def session(self) -> Session:
        return self.client.session

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.namespace}/{self.name}>"

    def _send(self, request: Any, prefix: str = "") -> Any:
        return self.session.send(request, error_prefix=prefix)

    def _wait(self, collection: str, predicate: Callable[[dict | None], Progress], timeout: float,
              reporter: Reporter | None = None, **kw: Any) -> Progress:
        from pyvirtctl.waiting import wait_all

        key = (self.namespace, self.name)
        result = wait_all(
            self.session, collection, [key], lambda _k, o: predicate(o), timeout=timeout, reporter=reporter, **kw
        )[key]
        if result.failure:
            from pyvirtctl.waiting import last_event

            why = result.failure
            event = last_event(self.session, self.namespace, self.name) if "timed out" not in why else ""
            raise WaitError(f"{self.kind} {self.name}: {why}" + (f" (last event: {event})" if event else ""))
        return result


class VirtualMachine(_Handle):
    """One VirtualMachine: the subresource calls of start/stop/restart/migrate, with optional waits."""

    kind = "VM"

    def get(self) -> dict:
        from pyvirtctl.kube.paths import vm_path

        return self.session.request("GET", vm_path(self.namespace, self.name)).json()

    def vmi(self) -> VirtualMachineInstance:
        return VirtualMachineInstance(self.client, self.name, self.namespace)

    def start(self, paused: bool = False, dry_run: bool = False, wait: bool = False,
              timeout: float = DEFAULT_TIMEOUT, reporter: Reporter | None = None) -> Progress | None:
        from pyvirtctl.commands.vm import StartOptions, start_request

        self._send(start_request(StartOptions(self.name, paused, dry_run), self.namespace),
                   "Error starting VirtualMachine ")
        if not wait or dry_run:
            return None
        from pyvirtctl.waiting import paused as paused_state
        from pyvirtctl.waiting import started
        if paused:
            return self._wait("virtualmachineinstances", lambda o: paused_state(o, True), timeout, reporter)
        return self._wait("virtualmachineinstances", started, timeout, reporter)

    def stop(self, force: bool = False, grace_period: int | None = None, dry_run: bool = False,
             wait: bool = False, timeout: float = DEFAULT_TIMEOUT, reporter: Reporter | None = None) -> Progress | None:
        from pyvirtctl.commands.vm import StopOptions, stop_request, validate_stop

        o = StopOptions(self.name, force, grace_period, dry_run)
        validate_stop(o)
        prefix = "error force stopping VirtualMachine: " if force else "error stopping VirtualMachine "
        self._send(stop_request(o, self.namespace), prefix)
        if not wait or dry_run:
            return None
        from pyvirtctl.waiting import stopped
        return self._wait("virtualmachineinstances", stopped, timeout, reporter)

    def restart(self, force: bool = False, grace_period: int | None = None, dry_run: bool = False,
                wait: bool = False, timeout: float = DEFAULT_TIMEOUT,
                reporter: Reporter | None = None) -> Progress | None:
        from pyvirtctl.commands.vm import StopOptions, restart_request, validate_stop

        o = StopOptions(self.name, force, grace_period, dry_run)
        validate_stop(o)
        old_uid = self.vmi().uid() if wait and not dry_run else None
        prefix = "error force restarting VirtualMachine: " if force else "error restarting VirtualMachine: "
        self._send(restart_request(o, self.namespace), prefix)
        if not wait or dry_run:
            return None
        from pyvirtctl.waiting import started
        return self._wait("virtualmachineinstances", lambda v: started(v, old_uid or ""), timeout, reporter)

    def migrate(self, added_node_selector: dict[str, str] | None = None, dry_run: bool = False,
                wait: bool = False, timeout: float = DEFAULT_TIMEOUT,
                reporter: Reporter | None = None) -> Progress | None:
        from pyvirtctl.commands.vm import MigrateOptions, migrate_request

        before = existing_migrations(self.session, self.namespace) if wait and not dry_run else set()
        o = MigrateOptions(self.name, dry_run, dict(added_node_selector or {}))
        self._send(migrate_request(o, self.namespace), "Error migrating VirtualMachine ")
        if not wait or dry_run:
            return None
        from pyvirtctl.waiting import migrated
        return self._wait(
            "virtualmachineinstancemigrations",
            migrated,
            timeout,
            reporter,
            match=migration_matcher(before),
        )

    def pause(self, dry_run: bool = False, wait: bool = False, timeout: float = DEFAULT_TIMEOUT) -> Progress | None:
        return self.vmi().pause(dry_run=dry_run, wait=wait, timeout=timeout)

    def unpause(self, dry_run: bool = False, wait: bool = False, timeout: float = DEFAULT_TIMEOUT) -> Progress | None:
        return self.vmi().unpause(dry_run=dry_run, wait=wait, timeout=timeout)

    def expose(self, **options: Any) -> dict:
        return self.client.expose("vm", self.name, self.namespace, **options)


class VirtualMachineInstance(_Handle):
    """One VirtualMachineInstance: pause/unpause/soft-reboot/reset and its console."""

    kind = "VMI"

    def get(self) -> dict:
        from pyvirtctl.kube.paths import vmi_path

        return self.session.request("GET", vmi_path(self.namespace, self.name)).json()

    def uid(self) -> str:
        from pyvirtctl.errors import ApiError

        try:
            return str(self.get().get("metadata", {}).get("uid", ""))
        except ApiError as e:
            if e.not_found:
                return ""
            raise

    def pause(self, dry_run: bool = False, wait: bool = False, timeout: float = DEFAULT_TIMEOUT,
              reporter: Reporter | None = None) -> Progress | None:
        from pyvirtctl.commands.pause import vmi_action_request

        self._send(vmi_action_request("pause", self.namespace, self.name, dry_run),
                   f"Error pausing VirtualMachineInstance {self.name}: ")
        if not wait or dry_run:
            return None
        from pyvirtctl.waiting import paused
        return self._wait("virtualmachineinstances", lambda o: paused(o, True), timeout, reporter)

    def unpause(self, dry_run: bool = False, wait: bool = False, timeout: float = DEFAULT_TIMEOUT,
                reporter: Reporter | None = None) -> Progress | None:
        from pyvirtctl.commands.pause import vmi_action_request

        self._send(vmi_action_request("unpause", self.namespace, self.name, dry_run),
                   f"Error unpausing VirtualMachineInstance {self.name}: ")
        if not wait or dry_run:
            return None
        from pyvirtctl.waiting import paused
        return self._wait("virtualmachineinstances", lambda o: paused(o, False), timeout, reporter)

    def soft_reboot(self) -> None:
        from pyvirtctl.commands.vmi import soft_reboot_request

        self._send(soft_reboot_request(self.namespace, self.name),
                   f"Error soft rebooting VirtualMachineInstance {self.name}: ")

    def reset(self) -> None:
        from pyvirtctl.commands.vmi import reset_request

        self._send(reset_request(self.namespace, self.name), f"Error reseting VirtualMachineInstance {self.name}: ")

    def console(self, timeout: float = DEFAULT_TIMEOUT) -> Any:
        return self.client.console(self.name, self.namespace, timeout=timeout)


def existing_migrations(session: Session, namespace: str | None) -> set[tuple[str, str]]:
    """(namespace, name) of the migrations that exist now, so a wait can tell the new one apart."""
    from pyvirtctl.kube.paths import kv_collection

    items = session.request("GET", kv_collection(namespace, "virtualmachineinstancemigrations")).json()
    return {(m["metadata"].get("namespace", ""), m["metadata"]["name"]) for m in items.get("items") or []}


def migration_matcher(before: set[tuple[str, str]]) -> Callable[[dict], tuple[str, str] | None]:
    """Map a new migration object to the (namespace, VM name) it migrates; old ones map to None."""

    def match(obj: dict) -> tuple[str, str] | None:
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace", "")
        if (ns, meta.get("name", "")) in before:
            return None
        return ns, (obj.get("spec") or {}).get("vmiName", "")

    return match
