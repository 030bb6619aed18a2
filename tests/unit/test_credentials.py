"""The pure parts of `credentials`: key checks, key matching, the VM's credential Secrets, bodies."""

from __future__ import annotations

import base64

import pytest

from pyvirtctl.errors import InputError
from pyvirtctl.kubevirt import credentials as cr

ED25519 = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPD5XIKPOeYB+KW6RKPJKKNeg337WQBxXb7yAAK4m5tQ user1@host\n"
RSA_BLOB = base64.b64encode(b"\x00\x00\x00\x07ssh-rsa" + b"\x00\x00\x00\x01\x03").decode()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (ED25519, ""),
        (ED25519 + b"# a comment\n\n" + f"ssh-rsa {RSA_BLOB}".encode(), ""),
        (b'no-pty,command="echo hi" ' + ED25519, ""),  # authorized_keys options before the key
        (b"", "it holds no key"),
        (b"# only a comment\n", "it holds no key"),
        (b"hello world\n", 'line 1: expected "<key type> <base64 key> [comment]"'),
        (ED25519 + b"ssh-rsa\n", "line 2: no key data after ssh-rsa"),
        (b"ssh-ed25519 not*base64\n", "line 1: the key data is not base64"),
        (f"ssh-ed25519 {RSA_BLOB} x\n".encode(), "line 1: the key data is not a ssh-ed25519 key"),
        (b"\xff\xfe\n", "line 1: it is not text"),
    ],
)
def test_public_key_files(data, problem):
    if not problem:
        cr.check_public_key("k.pub", data)
        return
    with pytest.raises(cr.CredentialsError) as err:
        cr.check_public_key("k.pub", data)
    assert str(err.value) == f"k.pub is not a public key file: {problem}"


@pytest.mark.parametrize(
    ("path", "head", "message"),
    [
        ("id_ed25519", b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n",
         "id_ed25519 holds a private key, not a public key (the public key is usually id_ed25519.pub)"),
        ("k.pub", b"-----BEGIN RSA PRIVATE KEY-----\n", "k.pub holds a private key, not a public key"),
        ("k.ppk", b"PuTTY-User-Key-File-3: ssh-ed25519\n",
         "k.ppk holds a private key, not a public key (the public key is usually k.ppk.pub)"),
    ],
)
def test_private_keys_are_refused(path, head, message):
    with pytest.raises(cr.CredentialsError) as err:
        cr.check_public_key(path, head)
    assert str(err.value) == message


def test_ssh_key_sources(tmp_path):
    assert cr.ssh_key("", "literal") == b"literal"
    assert cr.ssh_key("/nonexistent", "literal") == b"literal"  # --value wins, as in virtctl
    key = tmp_path / "k.pub"
    key.write_bytes(ED25519)
    assert cr.ssh_key(str(key), "") == ED25519
    cases = [
        ("", "error getting ssh key: one of --file, or --value must be specified"),
        ("/nonexistent", "error getting ssh key: open /nonexistent: no such file or directory"),
        (str(tmp_path), f"error getting ssh key: read {tmp_path}: is a directory"),
    ]
    for path, message in cases:
        with pytest.raises(InputError) as err:
            cr.ssh_key(path, "")
        assert str(err.value) == message


@pytest.mark.parametrize(
    ("key", "patterns"),
    [
        (b"ssh-rsa AAAA", [b"ssh-rsa AAAA"]),  # a --value is matched as given
        (b"ssh-rsa AAAA x\n", [b"ssh-rsa AAAA x"]),  # a file's final newline does not defeat the match
        (b"ssh-rsa A a\r\n\nssh-ed25519 B b\n", [b"ssh-rsa A a", b"ssh-ed25519 B b"]),
    ],
)
def test_key_patterns(key, patterns):
    assert cr.key_patterns(key) == patterns


def test_removing_lines():
    data = b"ssh-rsa AAAA one\n\n  ssh-ed25519 BBBB two \nssh-rsa AAAA one again\n"
    assert cr.without_key(data, [b"ssh-rsa AAAA"]) == b"  ssh-ed25519 BBBB two "
    assert cr.without_key(data, [b"nothing"]) == b"ssh-rsa AAAA one\n  ssh-ed25519 BBBB two \nssh-rsa AAAA one again"
    assert cr.without_key(b"ssh-rsa AAAA", [b"ssh-rsa AAAA"]) == b""
    # Go's strings.TrimSpace: a no-break space before the key is trimmed too
    assert cr.line_has_key("\u00a0ssh-rsa AAAA".encode(), [b"ssh-rsa"])
    secret = {"data": {"a": base64.b64encode(b"x\nssh-rsa AAAA z").decode()}}
    assert cr.secret_has_key(secret, [b"ssh-rsa AAAA"]) and not cr.secret_has_key(secret, [b"ssh-ed25519"])


VM = {
    "metadata": {"name": "vm", "namespace": "ns", "uid": "u-1"},
    "spec": {"template": {"spec": {"accessCredentials": [
        {"sshPublicKey": {"source": {"secret": {"secretName": "a"}},
                          "propagationMethod": {"qemuGuestAgent": {"users": ["root", "fedora"]}}}},
        {"sshPublicKey": {"source": {"secret": {"secretName": "b"}},
                          "propagationMethod": {"qemuGuestAgent": {"users": ["fedora"]}}}},
        {"sshPublicKey": {"source": {"secret": {"secretName": "c"}},
                          "propagationMethod": {"configDrive": {}}}},  # not the guest agent: skipped
        {"sshPublicKey": {"source": {"secret": {"secretName": ""}},
                          "propagationMethod": {"qemuGuestAgent": {"users": ["root"]}}}},
        {"userPassword": {"source": {"secret": {"secretName": "pw"}},
                          "propagationMethod": {"qemuGuestAgent": {}}}},
        {"userPassword": {"source": {"secret": {"secretName": "pw2"}}, "propagationMethod": {}}},
    ]}}},
}


def test_secrets_of_the_vm():
    assert cr.ssh_secrets_for_user(VM, "fedora") == ["a", "b"]
    assert cr.ssh_secrets_for_user(VM, "root") == ["a"]
    assert cr.ssh_secrets_for_user(VM, "nobody") == []
    assert cr.password_secrets(VM) == ["pw"]
    assert cr.ssh_secrets_for_user({"spec": {}}, "root") == []


def test_pick_secret():
    assert cr.pick_secret("", ["a"]) == "a"
    assert cr.pick_secret("b", ["a", "b"]) == "b"
    with pytest.raises(cr.CredentialsError, match="^multiple secrets specified, use option --secret to specify "
                                                    "which secret to modify$"):
        cr.pick_secret("", ["a", "b"])
    with pytest.raises(cr.CredentialsError, match="^secret z was not assigned$"):
        cr.pick_secret("z", ["a", "b"])


def test_ownership():
    owned = {"metadata": {"ownerReferences": [{"kind": "VirtualMachine", "name": "vm", "uid": "u-1"}]}}
    assert cr.owned_by(owned, VM)
    for ref in ({"kind": "VirtualMachine", "name": "vm", "uid": "other"},
                {"kind": "VirtualMachineInstance", "name": "vm", "uid": "u-1"},
                {"kind": "VirtualMachine", "name": "vm2", "uid": "u-1"}):
        assert not cr.owned_by({"metadata": {"ownerReferences": [ref]}}, VM)
    assert not cr.owned_by({"metadata": {}}, VM)


def test_bodies():
    assert cr.new_secret(VM, b"ssh-rsa AAAA\n", "ssh-key-abc123") == {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": {"generateName": "vm-ssh-key-", "namespace": "ns",
                     "ownerReferences": [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "name": "vm",
                                          "uid": "u-1", "controller": True}]},
        "data": {"ssh-key-abc123": "c3NoLXJzYSBBQUFBCg=="},
    }
    simple, full = cr.append_credential_patches(cr.ssh_access_credential("s1", "root"))
    cred = {"sshPublicKey": {"source": {"secret": {"secretName": "s1"}},
                             "propagationMethod": {"qemuGuestAgent": {"users": ["root"]}}}}
    assert simple == [{"op": "add", "path": "/spec/template/spec/accessCredentials/-", "value": cred}]
    assert full == [{"op": "test", "path": "/spec/template/spec/accessCredentials", "value": None},
                    {"op": "add", "path": "/spec/template/spec/accessCredentials", "value": []}, simple[0]]
    simple, full = cr.add_data_patches("root", b"pw")
    assert simple == [{"op": "add", "path": "/data/root", "value": "cHc="}]
    assert full[:2] == [{"op": "test", "path": "/data", "value": None}, {"op": "add", "path": "/data", "value": {}}]
    assert len(cr.random_suffix()) == 6 and set(cr.random_suffix(100)) <= set(cr.RAND_ALPHABET)


def test_secret_sent_back_as_go_writes_it():
    got = {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque", "extra": "dropped",
        "data": {"b": "Yg==", "a": "YQ=="},
        "metadata": {"resourceVersion": "7", "name": "s", "labels": {"z": "1", "a": "2"}, "generation": 0,
                     "ownerReferences": [{"uid": "u", "name": "vm", "kind": "VirtualMachine",
                                          "apiVersion": "kubevirt.io/v1", "controller": False}],
                     "annotations": {}, "namespace": "ns", "uid": "x", "creationTimestamp": "2025-01-01T00:00:00Z",
                     "managedFields": [{"time": "t", "manager": "m", "fieldsV1": {"f:data": {}},
                                        "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1"}]},
    }
    out = cr.go_secret(got)
    assert list(out) == ["kind", "apiVersion", "metadata", "data", "type"]
    assert list(out["metadata"]) == ["name", "namespace", "uid", "resourceVersion", "creationTimestamp", "labels",
                                     "ownerReferences", "managedFields"]
    assert list(out["metadata"]["labels"]) == ["a", "z"]
    assert list(out["data"]) == ["a", "b"]
    assert out["metadata"]["ownerReferences"] == [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                                                   "name": "vm", "uid": "u", "controller": False}]
    assert list(out["metadata"]["managedFields"][0]) == ["manager", "operation", "apiVersion", "time",
                                                         "fieldsType", "fieldsV1"]
    assert "data" not in cr.go_secret({"metadata": {"name": "s"}, "data": {}})
