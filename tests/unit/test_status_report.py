"""`status VM`: which migration is the last one (pure)."""

from __future__ import annotations

import pytest

from pyvirtctl.commands.listing import current_migration, status_report

T = "2026-11-30T10:00:00Z"


def mig(name: str, uid: str, phase: str = "Succeeded", ts: str = T) -> dict:
    return {"metadata": {"name": name, "uid": uid, "creationTimestamp": ts},
            "status": {"phase": phase, "migrationState": {"sourceNode": "node01", "targetNode": "node02"}}}


def vmi(uid: str | None) -> dict:
    state = {"migrationUid": uid} if uid else {}
    return {"metadata": {"uid": "vmi-1"}, "status": {"phase": "Running", "migrationState": state}}


@pytest.mark.parametrize(
    ("the_vmi", "migrations", "expected"),
    [
        # two migrations in the same second: only the VMI's migrationUid tells them apart
        (vmi("u-b"), [mig("m-b", "u-b"), mig("m-a", "u-a")], "m-b"),
        (vmi("u-a"), [mig("m-b", "u-b"), mig("m-a", "u-a")], "m-a"),
        # the VMI names none: an unfinished one wins over a newer finished one
        (vmi(None), [mig("m-run", "u1", "Running"), mig("m-new", "u2", ts="2026-11-30T10:00:05Z")], "m-run"),
        # then the newest by timestamp, whatever the list order
        (None, [mig("m-new", "u2", ts="2026-11-30T10:00:05Z"), mig("m-old", "u1")], "m-new"),
        # a uid that matches nothing falls back the same way
        (vmi("gone"), [mig("m-1", "u1"), mig("m-2", "u2", ts="2026-11-30T10:00:01Z")], "m-2"),
        (vmi("u1"), [], None),
    ],
)
def test_current_migration(the_vmi, migrations, expected):
    got = current_migration(the_vmi, migrations)
    assert (got["metadata"]["name"] if got else None) == expected


def test_status_report_names_the_current_migration():
    vm = {"metadata": {"name": "s", "namespace": "default", "creationTimestamp": T},
          "spec": {"runStrategy": "Always"}, "status": {"printableStatus": "Running", "ready": True}}
    text = status_report(vm, vmi("u-b"), None, [mig("m-b", "u-b"), mig("m-a", "u-a", "Failed")])
    assert "Last migration: m-b Succeeded node01 -> node02 (" in text
