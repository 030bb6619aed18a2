"""Every name derived from argv[0] comes from one function (pyvirtctl/progname.py)."""

from __future__ import annotations

import pytest

from pyvirtctl import progname


@pytest.mark.parametrize(
    ("argv0", "executable", "program", "var"),
    [
        ("/usr/local/bin/pyvirtctl", "pyvirtctl", "pyvirtctl", "_PYVIRTCTL_COMPLETE"),
        ("/home/u/.local/bin/kubectl-virt", "kubectl-virt", "kubectl virt", "_KUBECTL_VIRT_COMPLETE"),
        ("/usr/bin/oc-virt", "oc-virt", "oc virt", "_OC_VIRT_COMPLETE"),
        ("/usr/bin/virtctl", "virtctl", "virtctl", "_VIRTCTL_COMPLETE"),
        ("/opt/tools/vc", "vc", "virtctl", "_VC_COMPLETE"),
        ("/x/site-packages/pyvirtctl/__main__.py", "pyvirtctl", "pyvirtctl", "_PYVIRTCTL_COMPLETE"),
        ("-m", "pyvirtctl", "pyvirtctl", "_PYVIRTCTL_COMPLETE"),
        ("-c", "pyvirtctl", "pyvirtctl", "_PYVIRTCTL_COMPLETE"),
        ("", "pyvirtctl", "pyvirtctl", "_PYVIRTCTL_COMPLETE"),
        ("/tmp/run.py", "pyvirtctl", "pyvirtctl", "_PYVIRTCTL_COMPLETE"),
    ],
)
def test_names_from_argv0(argv0: str, executable: str, program: str, var: str) -> None:
    assert progname.executable_name(argv0) == executable
    assert progname.program_name(argv0) == program
    assert progname.complete_var(argv0) == var


def test_the_user_agent_names_the_same_command() -> None:
    from pyvirtctl.kube.session import default_user_agent

    assert default_user_agent("/usr/bin/kubectl-virt").startswith("kubectl-virt/v")
    assert default_user_agent("/x/pyvirtctl/__main__.py").startswith("pyvirtctl/v")


def test_self_command() -> None:
    assert progname.self_command("/x/pyvirtctl/__main__.py", "/usr/bin/python3") == "/usr/bin/python3 -m pyvirtctl"
    assert progname.self_command("/usr/bin/kubectl-virt", "x") == "/usr/bin/kubectl-virt"
