"""What a VMI's cloud-init user data and access credentials say about its guest's users.

Both guests read it the same way, so a script logs in to either with the same names, passwords
and keys: the built-in guest's console (streams/serial.py) and the QEMU guest's /etc/shadow and
authorized_keys (qemu/runtime.py).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Any

DEFAULT_USER = "centos"  # cloud-init's default user on the seed's CentOS image: `password:` and keys go there


def _user_data(vmi: dict[str, Any]) -> list[dict[str, Any]]:
    import yaml

    docs = []
    for vol in ((vmi.get("spec") or {}).get("volumes")) or []:
        for key in ("cloudInitNoCloud", "cloudInitConfigDrive"):
            user_data = ((vol or {}).get(key) or {}).get("userData")
            if not isinstance(user_data, str):
                continue
            try:
                doc = yaml.safe_load(user_data)
            except yaml.YAMLError:
                continue
            if isinstance(doc, dict):
                docs.append(doc)
    return docs


def credentials_from_vmi(vmi: dict[str, Any]) -> dict[str, str] | None:
    """user -> password from the VMI's cloud-init ``chpasswd`` (None when none is set)."""
    found: dict[str, str] = {}
    for doc in _user_data(vmi):
        chpasswd = doc.get("chpasswd")
        entries: Iterable[Any] = ()
        if isinstance(chpasswd, dict):
            lst = chpasswd.get("list")
            if isinstance(lst, str):
                entries = lst.split()
            elif isinstance(lst, list):
                entries = lst
            users = chpasswd.get("users")
            if isinstance(users, list):
                for u in users:
                    if isinstance(u, dict) and "name" in u and "password" in u:
                        found[str(u["name"])] = str(u["password"])
        for entry in entries:
            if isinstance(entry, str) and ":" in entry:
                user, _, password = entry.partition(":")
                found[user] = password
        if isinstance(doc.get("password"), str):
            found.setdefault(DEFAULT_USER, doc["password"])
    return found or None


def _keys(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.splitlines()
    return [k.strip() for k in value or [] if isinstance(k, str) and k.strip() and not k.strip().startswith("#")]


def authorized_keys(vmi: dict[str, Any], secret: Callable[[str], dict[str, Any] | None]) -> dict[str, list[str]]:
    """user -> SSH public keys: cloud-init's ``ssh_authorized_keys`` (top level: the default user; per
    user in ``users:``) and the VMI's ``accessCredentials`` (``secret(name)`` returns the Secret object):
    keys propagated by the guest agent go to the users it names, cloud-init (noCloud/configDrive)
    ones to the default user and root."""
    out: dict[str, list[str]] = {}

    def add(user: str, keys: list[str]) -> None:
        have = out.setdefault(user, [])
        have.extend(k for k in keys if k not in have)

    for doc in _user_data(vmi):
        add(DEFAULT_USER, _keys(doc.get("ssh_authorized_keys")))
        for u in doc.get("users") or []:
            if isinstance(u, dict) and isinstance(u.get("name"), str):
                add(u["name"], _keys(u.get("ssh_authorized_keys") or u.get("ssh-authorized-keys")))
    for cred in ((vmi.get("spec") or {}).get("accessCredentials")) or []:
        pub = (cred or {}).get("sshPublicKey") or {}
        name = (((pub.get("source") or {}).get("secret")) or {}).get("secretName")
        obj = secret(name) if isinstance(name, str) else None
        if not obj:
            continue
        keys: list[str] = []
        for value in (obj.get("data") or {}).values():
            try:
                keys += _keys(base64.b64decode(value).decode())
            except (ValueError, UnicodeDecodeError):
                continue
        for value in (obj.get("stringData") or {}).values():
            keys += _keys(value)
        method = pub.get("propagationMethod") or {}
        users = ((method.get("qemuGuestAgent") or {}).get("users")) if "qemuGuestAgent" in method else None
        for user in users if isinstance(users, list) else [DEFAULT_USER, "root"]:
            if isinstance(user, str):
                add(user, keys)
    return {u: k for u, k in out.items() if k}
