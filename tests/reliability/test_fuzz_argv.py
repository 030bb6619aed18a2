"""Property-based argv fuzzing of the whole CLI, in-process.

Thousands of argv lists mixing real command names, real flag spellings (long, `=value`, shorthand
clusters), plausible and hostile values, and junk are run through `pyvirtctl.cli.main`. For each:
no exception escapes, the exit status is 0 or 1, a failure prints a non-empty single line on stderr
(or one of virtctl's deliberate multi-line forms) and never the internal-error safety net.

Commands that would block on a terminal or a long-lived stream (console, vnc, port-forward, ssh,
scp, usbredir, `--wait`, `--watch`) are left out; everything else reaches a kubeconfig whose server
is a closed loopback port. Example counts: PYVIRTCTL_FUZZ_EXAMPLES (default 2000 for the argv test).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvirtctl.app import COMMANDS, build_root
from pyvirtctl.cli import INTERNAL_ERROR_PREFIX
from pyvirtctl.cmdspec import flag_table
from pyvirtctl.goflags import load_command

from .sandbox import Stats, closed_port, error_lines_ok, run_main, sandbox, write_kubeconfig

EXAMPLES = int(os.environ.get("PYVIRTCTL_FUZZ_EXAMPLES", "2000"))
# CI replays a fixed, already-explored set of examples (CI=true); developers' runs draw new ones
DERANDOMIZE = bool(os.environ.get("CI"))
NAME_EXAMPLES = max(100, EXAMPLES // 4)

# would wait on a terminal, a viewer, a child process or a never-ending stream
BLOCKING_COMMANDS = {"console", "vnc", "vnc screenshot", "port-forward", "ssh", "scp", "usbredir"}
BLOCKING_FLAGS = {"wait", "watch"}


def _commands() -> list[str]:
    return sorted(n for n in COMMANDS if n not in BLOCKING_COMMANDS and n.split(" ")[0] not in BLOCKING_COMMANDS)


def _flag_spellings(table: dict) -> list[str]:
    out = []
    for spelling, fd in table.items():
        if fd.name in BLOCKING_FLAGS:
            continue
        out.append(spelling)
    return sorted(out)


ROOT_FLAGS = _flag_spellings(flag_table(build_root("pyvirtctl"), "root"))
COMMAND_FLAGS = {name: _flag_spellings(flag_table(load_command(COMMANDS, name), name)) for name in _commands()}
BLOCKED_SPELLINGS = {
    spelling
    for name in _commands()
    for spelling, fd in flag_table(load_command(COMMANDS, name), name).items()
    if fd.name in BLOCKING_FLAGS
}
ALL_FLAGS = sorted(set(ROOT_FLAGS) | {f for fl in COMMAND_FLAGS.values() for f in fl})

# argv arrives as bytes; Python turns undecodable bytes into lone surrogates (surrogateescape)
raw_bytes_text = st.binary(min_size=1, max_size=24).map(
    lambda b: b.replace(b"\x00", b"").decode(sys.getfilesystemencoding(), "surrogateescape")
).filter(bool)
printable = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=0, max_size=30
)
NAMEISH = [
    "testvm", "vm1", "a/b", "/", "..", ".", "-", "--", "a%2Fb", "vm?x=1", "vm#frag", "vm name", "vm\tx",
    "ünïcødé", "虚拟机", "💥", "x" * 254, "y" * 5000, "default/vm", "vm/ns/extra", "vmi/testvm",
    "../../api/v1/namespaces/kube-system/secrets", "a\nb", "\x1b[31mred", "'", '"', "\\",
]
VALUES = [
    "", "0", "1", "-1", "true", "false", "TRUE", "yes", "2", "3.5", "1e9", "99999999999999999999", "0x10",
    "1s", "1m", "-5s", "1h2m3s", "forever", "5.5Gi", "k=v", "k=v,l=w", "=", ",", "a=b=c", "vm",
    "/nonexistent/file", "/", ".", "http://127.0.0.1:1", "https://127.0.0.1:1/prefix", "socks5://127.0.0.1:1",
    "ftp://x", "localhost:1", "not a url", "json", "yaml", "wide", "name", "tcp", "udp", "22", "65536",
    "LoadBalancer", "ClusterIP", "NodePort", "all", "-n",
]


@st.composite
def flag_token(draw: st.DrawFn, flags: list[str]) -> list[str]:
    flag = draw(st.sampled_from(flags or ALL_FLAGS))
    form = draw(st.sampled_from(["bare", "eq", "sep", "junk"]))
    value = draw(st.one_of(st.sampled_from(VALUES), st.sampled_from(NAMEISH), printable, raw_bytes_text))
    if form == "bare":
        return [flag]
    if form == "eq":
        return [f"{flag}={value}"]
    if form == "sep":
        return [flag, value]
    return [flag + draw(printable)]


@st.composite
def argv_lists(draw: st.DrawFn) -> list[str]:
    commands = _commands()
    head = draw(st.one_of(
        st.sampled_from(commands).map(lambda n: n.split(" ")),
        st.sampled_from(commands).map(lambda n: [n.split(" ")[0].upper()]),  # cobra is case-sensitive
        st.lists(st.one_of(printable, raw_bytes_text), min_size=0, max_size=1),
    ))
    name = " ".join(head)
    own_flags = COMMAND_FLAGS.get(name, []) + ROOT_FLAGS
    tokens: list[str] = list(head)
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["flag", "flag", "any_flag", "name", "junk", "bytes", "dashdash", "help"]))
        if kind == "flag":
            tokens += draw(flag_token(own_flags))
        elif kind == "any_flag":
            tokens += draw(flag_token(ALL_FLAGS))
        elif kind == "name":
            tokens.append(draw(st.sampled_from(NAMEISH)))
        elif kind == "junk":
            tokens.append(draw(printable))
        elif kind == "bytes":
            tokens.append(draw(raw_bytes_text))
        elif kind == "dashdash":
            tokens.append("--")
        else:
            tokens.append(draw(st.sampled_from(["--help", "-h", "help"])))
    pos = draw(st.integers(0, len(tokens)))
    return tokens[pos:] + tokens[:pos] if draw(st.booleans()) and head == [] else tokens


def _blocked(argv: list[str]) -> bool:
    for tok in argv:
        base = tok.split("=", 1)[0]
        if base in BLOCKED_SPELLINGS:
            return True
    return any(" ".join(argv[i:i + 2]) in BLOCKING_COMMANDS or argv[i] in BLOCKING_COMMANDS
               for i in range(len(argv)))


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stats]:
    home = tmp_path_factory.mktemp("fuzzhome")
    kubeconfig = write_kubeconfig(home / "config", f"https://127.0.0.1:{closed_port()}")
    stats = Stats()
    with sandbox(home, kubeconfig, stats):
        yield stats
    # the figures the troubleshooting page quotes
    print(f"\nfuzz: {stats.runs} runs, exit 0: {stats.exit0}, exit 1: {stats.exit1}, "
          f"loopback connects: {stats.loopback_connects}, non-loopback attempts refused: "
          f"{len(stats.blocked)}, lookups refused: {stats.refused_lookups}")


def check(argv: list[str], stats: Stats) -> None:
    r = run_main(argv, stats)
    assert r.code in (0, 1), f"exit status {r.code!r} for {argv!r}"
    assert "Traceback (most recent call last)" not in r.err, f"traceback for {argv!r}:\n{r.err}"
    assert INTERNAL_ERROR_PREFIX not in r.err, f"unexpected exception for {argv!r}: {r.err}"
    if r.code == 1:
        assert error_lines_ok(own_newlines_escaped(r.err, argv)), f"stderr is not one error line for {argv!r}: {r.err!r}"


def own_newlines_escaped(err: str, argv: list[str]) -> str:
    """An error may echo an argument verbatim (as virtctl does); a line break the user typed inside
    that argument is theirs, not a second error line."""
    body, end = (err[:-1], "\n") if err.endswith("\n") else (err, "")
    # `--flag=value` echoes only the value
    tokens = list(argv) + [t.split("=", 1)[1] for t in argv if t.startswith("-") and "=" in t]
    # a value glued to a shorthand (`-oVALUE`) is echoed alone, and pflag names the rest of a shorthand
    # run after an unknown letter (`-Ax...` -> "in -x..."): tails of the token, with and without a dash
    shorts = [t for t in argv if t.startswith("-") and not t.startswith("--")]
    tokens += [t[i:] for t in shorts for i in range(1, len(t))] + ["-" + t[i:] for t in shorts for i in range(2, len(t))]
    for tok in sorted(tokens, key=len, reverse=True):
        if "\n" in tok or "\r" in tok:
            for variant in (tok, tok.lower(), tok.upper()):  # some messages echo a case-folded argument
                body = body.replace(variant, variant.replace("\n", "\\n").replace("\r", "\\r"))
    return body + end


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(argv=argv_lists())
def test_random_argv_never_crashes(fuzz_env: Stats, argv: list[str]) -> None:
    if _blocked(argv):
        return
    check(argv, fuzz_env)


NAME_COMMANDS = [["start"], ["stop"], ["restart"], ["migrate"], ["migrate-cancel"], ["pause", "vm"],
                 ["pause", "vmi"], ["unpause", "vm"], ["unpause", "vmi"], ["soft-reboot"], ["reset"],
                 ["status"], ["start", "--dry-run"], ["stop", "--force", "--grace-period=0"]]
NAME_COMMANDS = [c for c in NAME_COMMANDS if c[0] in COMMANDS]
hostile_names = st.one_of(
    st.sampled_from(NAMEISH),
    printable.filter(bool),
    raw_bytes_text,
    st.text(min_size=200, max_size=3000, alphabet=st.characters(blacklist_categories=("Cs",),
                                                                blacklist_characters="\x00")),
)


@settings(max_examples=NAME_EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(cmd=st.sampled_from(NAME_COMMANDS), name=hostile_names,
       namespace=st.one_of(st.none(), hostile_names))
def test_hostile_names_and_namespaces(fuzz_env: Stats, cmd: list[str], name: str, namespace: str | None) -> None:
    argv = [*cmd, name] if namespace is None else ["-n", namespace, *cmd, "--", name]
    before = fuzz_env.loopback_connects
    r = run_main(argv, fuzz_env)
    assert r.code == 1, (argv, r)  # the server is unreachable: nothing can succeed
    assert INTERNAL_ERROR_PREFIX not in r.err, (argv, r.err)
    assert error_lines_ok(own_newlines_escaped(r.err, argv)), (argv, r.err)
    if namespace is None and name.startswith("-") and name != "-":
        return  # a flag, not a name: the parser's error
    refusal = expected_refusal(cmd, name, namespace)
    if refusal is not None:
        # a name or namespace that would change the URL: refused with client-go's words, nothing sent
        # only the line's own newline comes off: a name may end with a line break of its own
        assert r.err.removesuffix("\n").endswith(refusal), (argv, r.err, refusal)
        assert fuzz_env.loopback_connects == before, (argv, "a request was sent")


def _segment_problems(value: str) -> str | None:
    if value in (".", ".."):
        return f"[may not be '{value}']"
    found = [f"may not contain '{c}'" for c in ("/", "%") if c in value]
    return f"[{' '.join(found)}]" if found else None


def expected_refusal(cmd: list[str], name: str, namespace: str | None) -> str | None:
    """The end of the error line when client-go's checks refuse the namespace or the name, else None."""
    from pyvirtctl.gotext import go_quote
    from pyvirtctl.kube.config import strip_namespace_prefix

    if namespace:  # an empty -n means the kubeconfig's namespace; kubectl strips a `ns/` prefix
        effective = strip_namespace_prefix(namespace)
        problems = _segment_problems(effective)
        if problems:
            return f"invalid namespace {go_quote(effective)}: {problems}"
    problems = _segment_problems(name)
    if problems is None:
        return None
    if cmd[0] == "migrate-cancel":  # no VM can have that name, so no migration: virtctl's own line
        return f"Found no migration to cancel for {name}"
    return f"invalid resource name {go_quote(name)}: {problems}"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["start", "a/b"], 'Error starting VirtualMachine invalid resource name "a/b": [may not contain \'/\']'),
        (["stop", ".."], "error stopping VirtualMachine invalid resource name \"..\": [may not be '..']"),
        (["-n", "x/y", "restart", "vm"], 'error restarting VirtualMachine: invalid namespace "x/y": [may not contain \'/\']'),
        (["pause", "vmi", "50%"],
         "Error pausing VirtualMachineInstance 50%: invalid resource name \"50%\": [may not contain '%']"),
    ],
)
def test_names_that_would_change_the_url_are_refused_before_any_request(
    fuzz_env: Stats, argv: list[str], expected: str
) -> None:
    before = fuzz_env.loopback_connects
    r = run_main(argv, fuzz_env)
    assert (r.code, r.err.splitlines()[-1]) == (1, expected)
    assert fuzz_env.loopback_connects == before  # nothing, not even the version probe


def test_a_name_ending_in_a_line_break_keeps_it(fuzz_env: Stats) -> None:
    """Found by the fuzzer: the name's own newline, then the line's (virtctl prints the same)."""
    before = fuzz_env.loopback_connects
    r = run_main(["migrate-cancel", "/\n"], fuzz_env)
    assert (r.code, r.err) == (1, "Found no migration to cancel for /\n\n")
    assert fuzz_env.loopback_connects == before


def test_escaped_names_reach_the_url_percent_encoded(fuzz_env: Stats) -> None:
    r = run_main(["start", "vm?x=1#y z"], fuzz_env)
    assert r.code == 1
    assert "/virtualmachines/vm%3Fx=1%23y%20z/start" in r.err, r.err


def test_surrogate_bytes_in_names_print_without_crashing(fuzz_env: Stats) -> None:
    name = b"vm-\xff\xfe".decode("utf-8", "surrogateescape")
    r = run_main(["start", name], fuzz_env)
    assert r.code == 1 and error_lines_ok(r.err), r
    assert "/virtualmachines/vm-%FF%FE/start" in r.err


def test_sandbox_really_isolates(fuzz_env: Stats) -> None:
    """The guards work: a routable --server is refused without leaving the machine."""
    blocked = len(fuzz_env.blocked)
    r = run_main(["--server", "https://192.0.2.1:6443", "start", "vm"], fuzz_env)
    assert r.code == 1
    assert "connection refused" in r.err
    assert len(fuzz_env.blocked) > blocked


def test_home_is_the_sandbox(fuzz_env: Stats) -> None:
    assert Path(os.environ["KUBECONFIG"]).is_file()
    assert os.environ["HOME"] == str(Path(os.environ["KUBECONFIG"]).parent)
