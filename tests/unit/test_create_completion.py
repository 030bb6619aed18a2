"""TAB completion for `create` / `template`: subcommands and the enumerated flag values."""

from __future__ import annotations

from pyvirtctl.app import COMMANDS, build_root
from pyvirtctl.completion import completers, engine


def values(words: list[str], incomplete: str) -> list[str]:
    completers._Request.reset()
    root = build_root("pyvirtctl", COMMANDS)
    return [v for v, _ in engine.candidates(root, "pyvirtctl", words, incomplete)]


def test_subcommands():
    assert values(["create"], "") == ["clone", "instancetype", "preference", "vm"]
    assert values(["create"], "in") == ["instancetype"]
    assert values(["template"], "") == ["convert", "create", "process"]
    assert values(["template"], "pr") == ["process"]
    assert "create" in values([], "cr") and "template" in values([], "tem")


def test_enumerated_values():
    assert values(["create", "vm", "--run-strategy"], "") == ["Always", "Manual", "Halted", "Once", "RerunOnFailure"]
    assert values(["create", "vm"], "--run-strategy=R") == ["--run-strategy=RerunOnFailure"]
    assert values(["create", "vm", "--cloud-init"], "") == ["nocloud", "configdrive", "none"]
    assert values(["create", "instancetype", "--iothreadspolicy"], "") == ["auto", "shared"]
    assert values(["create", "preference", "--cpu-topology"], "s") == ["sockets", "spread"]
    assert values(["create", "clone", "--source-type"], "") == ["vm", "snapshot"]
    assert values(["create", "clone", "--target-type"], "") == ["vm"]
    assert values(["create", "vm", "-o"], "") == ["json", "yaml"]
    assert values(["template", "convert", "--output"], "j") == ["json"]
    assert values(["template", "process", "-o"], "") == ["json", "yaml"]
    assert values(["template", "process", "x"], "--output=y") == ["--output=yaml"]


def test_volume_import_types():
    assert values(["create", "vm", "--volume-import"], "") == [
        "type:blank,", "type:gcs,", "type:http,", "type:imageio,", "type:pvc,", "type:registry,", "type:s3,",
        "type:vddk,", "type:snapshot,", "type:ds,"]
    assert values(["create", "vm", "--volume-import"], "type:s") == ["type:s3,", "type:snapshot,"]
    assert values(["create", "vm", "--volume-import"], "type:ds,") == []
    assert values(["create", "vm"], "--volume-import=type:b") == ["--volume-import=type:blank,"]


def test_flags_between_group_and_subcommand_follow_cobra():
    """cobra's stripFlags: an unknown or valued flag before the subcommand swallows the next word."""
    from pyvirtctl.goflags import strip_flags_index

    assert strip_flags_index(["--name", "x", "vm"], {}) == 2
    assert strip_flags_index(["--namespaced", "instancetype", "--cpu", "1"], {}) is None  # no command word left
    assert strip_flags_index(["--name", "vm"], {}) is None  # a flag with one word after it ends the search
    assert strip_flags_index(["--x=1", "vm"], {}) == 1
    assert strip_flags_index(["--", "vm"], {}) is None
