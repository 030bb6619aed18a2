"""VirtualMachineExport (virtctl.md §5): the export object, its token secret, which link to download.

Pure builders shared by every flow that exports a volume (memory-dump download today).
"""

from __future__ import annotations

import base64
import secrets
import string
from typing import Any

from pyvirtctl.errors import CLIError
from pyvirtctl.kube import paths
from pyvirtctl.kube.request import Request
from pyvirtctl.kubevirt.requests import create_request, delete_request

TOKEN_HEADER = "x-kubevirt-export-token"


def export_name(vm: str, claim: str) -> str:
    return f"export-{vm}-{claim}"


def export_body(name: str, namespace: str, claim: str) -> dict[str, Any]:
    return {
        "kind": "VirtualMachineExport",
        "apiVersion": "export.kubevirt.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
        "spec": {
            "source": {"apiGroup": "", "kind": "PersistentVolumeClaim", "name": claim},
            "tokenSecretRef": f"secret-{name}",
        },
    }


def new_token(length: int = 20) -> str:
    alphabet = string.digits + string.ascii_uppercase + string.ascii_lowercase
    return "".join(secrets.choice(alphabet) for _ in range(length))


def secret_body(export: dict[str, Any], token: str) -> dict[str, Any]:
    md = export.get("metadata") or {}
    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {
            "name": f"secret-{md.get('name', '')}",
            "namespace": md.get("namespace", ""),
            "creationTimestamp": None,
            "ownerReferences": [
                {
                    "apiVersion": "export.kubevirt.io/v1",
                    "kind": "VirtualMachineExport",
                    "name": md.get("name", ""),
                    "uid": md.get("uid", ""),
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "data": {"token": base64.b64encode(token.encode()).decode()},
        "type": "Opaque",
    }


def export_delete_body() -> dict[str, Any]:
    return {"kind": "DeleteOptions", "apiVersion": "export.kubevirt.io/v1"}


def export_get_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.ref(paths.VMEXPORTS, namespace, name))


def export_create_request(namespace: str, name: str, claim: str) -> Request:
    return create_request(paths.VMEXPORTS, namespace, export_body(name, namespace, claim))


def export_delete_request(namespace: str, name: str) -> Request:
    return delete_request(paths.VMEXPORTS, namespace, name, export_delete_body())


def secret_create_request(namespace: str, export: dict[str, Any], token: str) -> Request:
    return create_request(paths.SECRETS, namespace, secret_body(export, token))


def secret_get_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.ref(paths.SECRETS, namespace, name))


def download_url(export: dict[str, Any]) -> tuple[str, str, bool]:
    """(url, cert, gzip) from the export's external link, picked the way virtctl picks it."""
    md = export.get("metadata") or {}
    where = f"'{md.get('namespace', '')}/{md.get('name', '')}'"
    links = ((export.get("status") or {}).get("links") or {}).get("external")
    volumes = (links or {}).get("volumes") or []
    if not volumes:
        raise CLIError(f"unable to access the volume info from {where} VirtualMachineExport")
    if len(volumes) > 1:
        raise CLIError(
            f"detected more than one downloadable volume in {where} VirtualMachineExport: "
            "Select the expected volume using the --volume flag"
        )
    url, chosen = "", ""
    for fmt in volumes[0].get("formats") or []:
        kind = fmt.get("format")
        if kind in ("gzip", "tar.gz", "raw"):
            url, chosen = fmt.get("url", ""), kind
        if kind in ("gzip", "tar.gz"):
            break
    if not url:
        raise CLIError(f"unable to get a valid URL from {where} VirtualMachineExport")
    return url, (links or {}).get("cert", ""), chosen != "raw"
