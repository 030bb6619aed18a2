"""`credentials add-ssh-key | remove-ssh-key | set-password`: a VM's access-credential Secrets.

A VirtualMachine names Secrets in `spec.template.spec.accessCredentials`: `sshPublicKey` entries whose
keys the guest agent writes into the users' authorized_keys, and `userPassword` entries whose data
maps a user to a password. These flows read the VM, then create or change those Secrets the way
virtctl v1.9 does, request for request:

* add-ssh-key: with no Secret for the user (or `--create-secret`) a new Secret `<vm>-ssh-key-XXXXX`
  owned by the VM is created (refused while the VM runs, unless `--force`) and appended to the VM's
  access credentials by a JSON patch; if the VM has no list yet, a second patch first tests that the
  list is absent and adds it. Otherwise the key goes into the user's Secret as a new data entry
  `ssh-key-XXXXXX` (JSON patch, with the same test-and-create fallback for a Secret without data),
  refused for a Secret the VM does not own unless `--force`.
* remove-ssh-key: every matching line is dropped from each of the user's Secrets (GET, then PUT of the
  whole Secret, retried on a conflict like client-go's RetryOnConflict).
* set-password: the password is written to `/data/<user>` of the userPassword Secret.

Everything that can be checked locally (the key file above all) is checked before the first request.
"""

from __future__ import annotations

import base64
import secrets as _random
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from pyvirtctl.errors import ApiError, CLIError, InputError, prefixed
from pyvirtctl.kube import paths
from pyvirtctl.kube.request import Request

if TYPE_CHECKING:
    from pyvirtctl.kube.session import Session

JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
ACCESS_CREDENTIALS = "/spec/template/spec/accessCredentials"
VM_API_VERSION = "kubevirt.io/v1"
VM_KIND = "VirtualMachine"
# k8s.io/apimachinery/pkg/util/rand: the characters of its random strings (no vowels, no look-alikes)
RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# client-go's retry.DefaultRetry: 5 tries, 10 ms apart (+10% jitter)
CONFLICT_TRIES = 5
CONFLICT_PAUSE = 0.01

# the key types OpenSSH writes into *.pub files and accepts in authorized_keys
SSH_KEY_TYPES = frozenset({
    "ssh-rsa", "ssh-dss", "ssh-ed25519", "ssh-ed448",
    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    "rsa-sha2-256", "rsa-sha2-512",
    "ssh-rsa-cert-v01@openssh.com", "ssh-dss-cert-v01@openssh.com", "ssh-ed25519-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com", "sk-ssh-ed25519-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
})


class CredentialsError(CLIError):
    """A credentials flow refused to go on (virtctl's message)."""


class KeyInputError(InputError):
    """The key given on the command line cannot be used (found before anything is sent)."""


KEY_ERROR_PREFIX = "error getting ssh key: "


def random_suffix(length: int = 6) -> str:
    """apimachinery's rand.String: `length` characters of RAND_ALPHABET."""
    return "".join(_random.choice(RAND_ALPHABET) for _ in range(length))


# --------------------------------------------------------------------------- the key


def _go_error_text(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def read_key_file(path: str) -> bytes:
    """os.ReadFile with Go's error texts (`open P: no such file or directory`, `read P: is a directory`)."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except IsADirectoryError:
        raise CredentialsError(f"read {path}: is a directory") from None
    except OSError as e:
        raise CredentialsError(f"open {path}: {_go_error_text(e)}") from None


def _key_line_problem(line: bytes) -> str:
    """Why one authorized_keys line is not a public key ("" when it is one)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return "it is not text"
    fields = text.split()
    # options come first in authorized_keys lines (`no-pty,command="..." ssh-ed25519 AAAA...`)
    start = next((i for i, f in enumerate(fields) if f in SSH_KEY_TYPES), None)
    if start is None:
        return 'expected "<key type> <base64 key> [comment]"'
    if start + 1 >= len(fields):
        return f"no key data after {fields[start]}"
    try:
        blob = base64.b64decode(fields[start + 1], validate=True)
    except ValueError:
        return "the key data is not base64"
    size = int.from_bytes(blob[:4], "big")
    if len(blob) < 4 + size or blob[4 : 4 + size] != fields[start].encode():
        return f"the key data is not a {fields[start]} key"
    return ""


def check_public_key(path: str, data: bytes) -> None:
    """Refuse a key file that does not hold OpenSSH public keys: a private key given by mistake would
    otherwise be copied into a Secret and into the guest."""
    text = data.lstrip()
    if b"PRIVATE KEY-----" in data[:200] or text.startswith(b"PuTTY-User-Key-File"):
        hint = f" (the public key is usually {path}.pub)" if not path.endswith(".pub") else ""
        raise CredentialsError(f"{path} holds a private key, not a public key{hint}")
    lines = [(n, raw.strip()) for n, raw in enumerate(data.split(b"\n"), 1)]
    keys = [(n, line) for n, line in lines if line and not line.startswith(b"#")]
    if not keys:
        raise CredentialsError(f"{path} is not a public key file: it holds no key")
    for n, line in keys:
        problem = _key_line_problem(line)
        if problem:
            raise CredentialsError(f"{path} is not a public key file: line {n}: {problem}")


def ssh_key(file: str, value: str) -> bytes:
    """The key to add or remove: `--value` as given, else the contents of `--file`, which must hold
    public keys. Raises `KeyInputError` (virtctl's `error getting ssh key: ...`) before any request."""
    if value != "":
        return value.encode("utf-8", "surrogateescape")
    try:
        if file == "":
            raise KeyInputError("one of --file, or --value must be specified")
        data = read_key_file(file)
        check_public_key(file, data)
    except CLIError as e:
        raise KeyInputError(KEY_ERROR_PREFIX + e.message) from None
    return data


def key_patterns(key: bytes) -> list[bytes]:
    """What a line of a Secret must start with to be this key.

    virtctl compares each line with the whole key, so a key read from a file (ending in a newline)
    matched nothing; here each line of the key is a pattern of its own."""
    if b"\n" not in key:
        return [key]
    return [line.rstrip(b"\r") for line in key.split(b"\n") if line.strip()]


# Go's unicode.IsSpace, for strings.TrimSpace on a line of a Secret
_GO_SPACE = " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000"


def _trim_space(line: bytes) -> bytes:
    return line.decode("utf-8", "surrogateescape").strip(_GO_SPACE).encode("utf-8", "surrogateescape")


def line_has_key(line: bytes, patterns: Iterable[bytes]) -> bool:
    trimmed = _trim_space(line)
    return any(trimmed.startswith(p) for p in patterns)


def secret_has_key(secret: dict[str, Any], patterns: list[bytes]) -> bool:
    return any(line_has_key(line, patterns)
               for value in _data(secret).values() for line in value.split(b"\n"))


def without_key(data: bytes, patterns: list[bytes]) -> bytes:
    """The lines of `data` that are neither blank nor this key, joined by newlines."""
    kept = [line for line in data.split(b"\n") if not line_has_key(line, patterns) and line.strip(b" \t\r\n")]
    return b"\n".join(kept)


# --------------------------------------------------------------------------- the VM's credentials


def _get(obj: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def access_credentials(vm: dict[str, Any]) -> list[dict[str, Any]]:
    creds = _get(vm, "spec", "template", "spec", "accessCredentials")
    return [c for c in creds if isinstance(c, dict)] if isinstance(creds, list) else []


def ssh_secrets_for_user(vm: dict[str, Any], user: str) -> list[str]:
    """The Secrets of the VM's sshPublicKey credentials propagated by the guest agent to `user`."""
    out = []
    for cred in access_credentials(vm):
        name = _get(cred, "sshPublicKey", "source", "secret", "secretName")
        agent = _get(cred, "sshPublicKey", "propagationMethod", "qemuGuestAgent")
        if not name or not isinstance(agent, dict):
            continue
        users = agent.get("users")
        if isinstance(users, list) and user in users:
            out.append(str(name))
    return out


def password_secrets(vm: dict[str, Any]) -> list[str]:
    """The Secrets of the VM's userPassword credentials propagated by the guest agent."""
    out = []
    for cred in access_credentials(vm):
        name = _get(cred, "userPassword", "source", "secret", "secretName")
        agent = _get(cred, "userPassword", "propagationMethod", "qemuGuestAgent")
        if name and isinstance(agent, dict):
            out.append(str(name))
    return out


def pick_secret(requested: str, candidates: list[str]) -> str:
    """`--secret` if it is one of the candidates; without it the only candidate."""
    if requested == "":
        if len(candidates) > 1:
            raise CredentialsError("multiple secrets specified, use option --secret to specify which secret to modify")
        return candidates[0]
    if requested in candidates:
        return requested
    raise CredentialsError(f"secret {requested} was not assigned")


def owned_by(obj: dict[str, Any], vm: dict[str, Any]) -> bool:
    """An owner reference of `obj` names this VM (kind, name and UID)."""
    meta = vm.get("metadata") or {}
    for ref in _get(obj, "metadata", "ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("kind") == VM_KIND and ref.get("name") == meta.get("name") \
                and ref.get("uid") == meta.get("uid"):
            return True
    return False


def _data(secret: dict[str, Any]) -> dict[str, bytes]:
    out = {}
    for k, v in (secret.get("data") or {}).items():
        try:
            out[str(k)] = base64.b64decode(v or "")
        except ValueError:
            out[str(k)] = b""
    return out


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------- bodies and requests


def new_secret(vm: dict[str, Any], key: bytes, data_key: str) -> dict[str, Any]:
    """The Secret add-ssh-key creates: named after the VM, owned (controller) by it."""
    meta = vm.get("metadata") or {}
    name = str(meta.get("name", ""))
    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {
            "generateName": f"{name}-ssh-key-",
            "namespace": meta.get("namespace", ""),
            "ownerReferences": [{"apiVersion": VM_API_VERSION, "kind": VM_KIND, "name": name,
                                 "uid": meta.get("uid", ""), "controller": True}],
        },
        "data": {data_key: _b64(key)},
    }


def ssh_access_credential(secret: str, user: str) -> dict[str, Any]:
    return {"sshPublicKey": {"source": {"secret": {"secretName": secret}},
                             "propagationMethod": {"qemuGuestAgent": {"users": [user]}}}}


def append_credential_patches(credential: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The patch appending a credential, and the one used when the VM has no list yet."""
    add = {"op": "add", "path": ACCESS_CREDENTIALS + "/-", "value": credential}
    return [add], [{"op": "test", "path": ACCESS_CREDENTIALS, "value": None},
                   {"op": "add", "path": ACCESS_CREDENTIALS, "value": []}, add]


def add_data_patches(data_key: str, value: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The patch adding one data entry to a Secret, and the one used when the Secret has no data.

    The key is put into the JSON pointer as is, as virtctl does."""
    add = {"op": "add", "path": f"/data/{data_key}", "value": _b64(value)}
    return [add], [{"op": "test", "path": "/data", "value": None}, {"op": "add", "path": "/data", "value": {}}, add]


def vm_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.vm(namespace, name))


def vmi_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.vmi(namespace, name))


def secret_request(namespace: str, name: str) -> Request:
    return Request("GET", paths.ref(paths.SECRETS, namespace, name))


def create_secret_request(namespace: str, body: dict[str, Any]) -> Request:
    return Request("POST", paths.collection(paths.SECRETS, namespace), body=body, content_type=JSON)


def patch_vm_request(namespace: str, name: str, ops: list[dict[str, Any]]) -> Request:
    return Request("PATCH", paths.vm(namespace, name), body=ops, content_type=JSON_PATCH)


def patch_secret_request(namespace: str, name: str, ops: list[dict[str, Any]]) -> Request:
    return Request("PATCH", paths.ref(paths.SECRETS, namespace, name), body=ops, content_type=JSON_PATCH)


def update_secret_request(namespace: str, secret: dict[str, Any]) -> Request:
    name = str(_get(secret, "metadata", "name") or "")
    return Request("PUT", paths.ref(paths.SECRETS, namespace, name), body=go_secret(secret), content_type=JSON)


_META_ORDER = ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
               "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
               "ownerReferences", "finalizers", "managedFields")
_OWNER_ORDER = ("apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion")
_MANAGED_ORDER = ("manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource")


def _present(value: Any) -> bool:
    """Whether Go writes the field back: nil and empty omitempty values are dropped (pointer bools stay)."""
    if value is None:
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, str | list | dict):
        return bool(value)
    return not (isinstance(value, int) and value == 0)


def _ordered(obj: Any, order: Iterable[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        return {}
    return {k: obj[k] for k in order if _present(obj.get(k))}


def go_secret(secret: dict[str, Any]) -> dict[str, Any]:
    """A Secret as client-go sends it back after decoding it: Go's field order, unknown fields and
    empty values dropped, data keys sorted."""
    meta = _ordered(secret.get("metadata"), _META_ORDER)
    if "ownerReferences" in meta:
        meta["ownerReferences"] = [_ordered(r, _OWNER_ORDER) for r in meta["ownerReferences"]]
    if "managedFields" in meta:
        meta["managedFields"] = [_ordered(m, _MANAGED_ORDER) for m in meta["managedFields"]]
    for key in ("labels", "annotations"):
        if key in meta and isinstance(meta[key], dict):
            meta[key] = dict(sorted(meta[key].items()))
    out: dict[str, Any] = {}
    for key in ("kind", "apiVersion"):
        if secret.get(key):
            out[key] = secret[key]
    out["metadata"] = meta
    if secret.get("immutable") is not None:
        out["immutable"] = secret["immutable"]
    for key in ("data", "stringData"):
        if isinstance(secret.get(key), dict) and secret[key]:
            out[key] = dict(sorted(secret[key].items()))
    if secret.get("type"):
        out["type"] = secret["type"]
    return out


# --------------------------------------------------------------------------- flows


class AddKeyOptions(NamedTuple):
    user: str
    key: bytes
    secret: str = ""
    create_secret: bool = False
    update_secret: bool = False
    force: bool = False


def _send(session: Session, build: Callable[[], Request], prefix: str = "") -> Any:
    with prefixed(prefix):
        request = build()
    return session.send(request, error_prefix=prefix).json()


def get_vm(session: Session, namespace: str, name: str) -> dict[str, Any]:
    return dict(_send(session, lambda: vm_request(namespace, name), "error getting virtual machine: "))


def add_ssh_key(session: Session, namespace: str, vm_name: str, o: AddKeyOptions,
                suffix: Callable[[], str] = random_suffix) -> str:
    """add-ssh-key; returns what virtctl prints ("" when it prints nothing)."""
    vm = get_vm(session, namespace, vm_name)
    secrets = ssh_secrets_for_user(vm, o.user)
    create = o.create_secret or (not o.update_secret and not secrets)
    if create:
        _create_key_secret(session, vm, o, suffix)
        return ""
    return _add_to_secret(session, vm, secrets, o, suffix)


def _create_key_secret(session: Session, vm: dict[str, Any], o: AddKeyOptions, suffix: Callable[[], str]) -> None:
    meta = vm.get("metadata") or {}
    ns, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    if not o.force:
        try:
            session.send(vmi_request(ns, name))
        except ApiError as e:
            if not e.not_found:
                raise e.wrap("error when getting virtual machine instance: ") from None
        else:
            raise CredentialsError(f"virtual machine {name} is running. Use --force flag to update a running VM, "
                                   "it will take effect after restart")
    body = new_secret(vm, o.key, "ssh-key-" + suffix())
    created = session.send(create_secret_request(ns, body), error_prefix="error creating secret: ").json()
    secret_name = str(_get(created, "metadata", "name") or "")
    simple, full = append_credential_patches(ssh_access_credential(secret_name, o.user))
    try:
        session.send(patch_vm_request(ns, name, simple))
    except CLIError:  # most likely no accessCredentials list yet: test for that and create it
        session.send(patch_vm_request(ns, name, full), error_prefix="error patching virtual machine: ")


def _add_to_secret(session: Session, vm: dict[str, Any], secrets: list[str], o: AddKeyOptions,
                   suffix: Callable[[], str]) -> str:
    meta = vm.get("metadata") or {}
    ns, vm_name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    if not secrets:
        raise CredentialsError(f"no secrets specified for user: {o.user}")
    name = pick_secret(o.secret, secrets)
    prefix = f'error getting secret "{name}": '
    secret = _send(session, lambda: secret_request(ns, name), prefix)
    if secret_has_key(secret, key_patterns(o.key)):
        return f'Secret "{name}" already contains this SSH key.'
    if not o.force and not owned_by(secret, vm):
        raise CredentialsError(f"secret {name} does not have an owner reference pointing to VM {vm_name}")
    _patch_data(session, ns, name, "ssh-key-" + suffix(), o.key)
    return f'Successfully added the key to secret "{name}"'


def _patch_data(session: Session, ns: str, name: str, data_key: str, value: bytes) -> None:
    prefix = f'error patching secret "{name}": '
    simple, full = add_data_patches(data_key, value)
    with prefixed(prefix):
        first, second = patch_secret_request(ns, name, simple), patch_secret_request(ns, name, full)
    try:
        session.send(first)
    except CLIError:  # most likely a Secret without data: test for that and create it
        session.send(second, error_prefix=prefix)


class RemoveKeyOptions(NamedTuple):
    user: str
    key: bytes
    secret: str = ""
    force: bool = False


def remove_ssh_key(session: Session, namespace: str, vm_name: str, o: RemoveKeyOptions,
                   sleep: Callable[[float], None] = time.sleep) -> str:
    """remove-ssh-key; returns what virtctl prints ("" when it prints nothing)."""
    vm = get_vm(session, namespace, vm_name)
    secrets = ssh_secrets_for_user(vm, o.user)
    if not secrets:
        return f"No secrets associated with user {o.user}"
    if o.secret:
        if o.secret not in secrets:
            raise CredentialsError(f"secret {o.secret} is not associated with user {o.user}")
        secrets = [o.secret]
    for name in secrets:
        _remove_from_secret(session, vm, name, key_patterns(o.key), o.force, sleep)
    return ""


def _remove_from_secret(session: Session, vm: dict[str, Any], name: str, patterns: list[bytes], force: bool,
                        sleep: Callable[[float], None]) -> None:
    meta = vm.get("metadata") or {}
    ns = str(meta.get("namespace", ""))
    get = secret_request(ns, name)
    for attempt in range(CONFLICT_TRIES):
        try:
            secret = session.send(get).json()
            if not force and not owned_by(secret, vm):
                raise CredentialsError(f"secret {name} does not have an owner reference pointing to VM "
                                       f"{meta.get('name', '')}")
            data = {}
            for key, value in _data(secret).items():
                kept = without_key(value, patterns)
                if kept:
                    data[key] = _b64(kept)
            session.send(update_secret_request(ns, {**secret, "data": data}))
            return
        except ApiError as e:
            if e.not_found:  # the Secret is gone: nothing to remove
                return
            if e.status != 409 or attempt == CONFLICT_TRIES - 1:
                raise
        sleep(CONFLICT_PAUSE * (1 + _random.randbelow(100) / 1000))


class PasswordOptions(NamedTuple):
    user: str
    password: str
    secret: str = ""
    force: bool = False


def set_password(session: Session, namespace: str, vm_name: str, o: PasswordOptions) -> str:
    """set-password; returns what virtctl prints."""
    vm = get_vm(session, namespace, vm_name)
    secrets = password_secrets(vm)
    if not secrets:
        raise CredentialsError("no secrets assigned to UserPassword AccessCredentials")
    name = pick_secret(o.secret, secrets)
    meta = vm.get("metadata") or {}
    ns = str(meta.get("namespace", ""))
    if not o.force:
        secret = _send(session, lambda: secret_request(ns, name), f'error getting secret "{name}": ')
        if not owned_by(secret, vm):
            raise CredentialsError(f"secret {name} does not have an owner reference pointing to VM "
                                   f"{meta.get('name', '')}")
    _patch_data(session, ns, name, o.user, o.password.encode("utf-8", "surrogateescape"))
    return f'Successfully set password in secret "{name}"'
