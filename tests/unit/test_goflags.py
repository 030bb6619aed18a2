"""The cobra/pflag argv table (style-and-typer.md Appendix B) run in-process against demo commands."""

from __future__ import annotations

import pytest

from pyvirtctl import cli
from pyvirtctl.goflags import go_quote, parse_bool, parse_int, parse_string_to_string, suggest
from tests.unit.argv_demo import REGISTRY

CASES = [
    (["-n", "ns", "start", "vm"], 0, "'namespace': 'ns'", ""),
    (["start", "vm", "-n", "ns"], 0, "'namespace': 'ns'", ""),
    (["start", "-n", "ns", "vm"], 0, "'namespace': 'ns'", ""),
    (["start", "vm", "--namespace=ns"], 0, "'namespace': 'ns'", ""),
    (["start", "vm", "-nns"], 0, "'namespace': 'ns'", ""),
    (["start", "vm", "-n=ns"], 0, "'namespace': 'ns'", ""),
    (["-n", "a", "start", "vm", "-n", "b"], 0, "'namespace': 'b'", ""),
    (["start", "vm", "--kubeconfig", "/k", "--context", "c"], 0, "'kubeconfig': '/k', 'context': 'c'", ""),
    (["--insecure-skip-tls-verify=true", "start", "vm"], 0, "'insecure': True", ""),
    (["start", "vm", "--insecure-skip-tls-verify"], 0, "'insecure': True", ""),
    (["start", "vm", "--dry-run"], 0, "dry_run=True", ""),
    (["start", "vm", "--dry-run=false"], 0, "dry_run=False", ""),
    (["start", "vm", "--dry-run=FALSE", "--paused=1"], 0, "dry_run=False paused=True", ""),
    (["start", "vm", "--dry-run=false", "--dry-run"], 0, "dry_run=True", ""),
    (["stop", "vm", "--force=true", "--grace-period=0"], 0, "force=True grace=0", ""),
    (["kvm", "--kvm=false"], 0, "kvm=False", ""),
    (["stop", "vm", "--grace-period=0x10", "--force"], 0, "force=True grace=16", ""),
    (["stop", "vm", "--grace-period", "-5"], 0, "grace=-5", ""),
    (["stop", "vm", "--grace-period=1_000"], 0, "grace=1000", ""),
    (
        ["stop", "vm", "--grace-period=\uff15"],
        1,
        "",
        'invalid argument "\uff15" for "--grace-period" flag: strconv.ParseInt: parsing "\uff15": invalid syntax\n',
    ),
    (
        ["stop", "vm", "--grace-period=99999999999999999999"],
        1,
        "",
        'invalid argument "99999999999999999999" for "--grace-period" flag: strconv.ParseInt: parsing '
        '"99999999999999999999": value out of range\n',
    ),
    (["kvm"], 0, "kvm=True", ""),
    (["version", "-c"], 0, "client=True", ""),
    (["start", "--", "-vm-with-dash"], 0, "start -vm-with-dash", ""),
    (["port-forward", "vmi/x", "22", "80:8080", "-n", "ns"], 0, "pf vmi/x ['22', '80:8080'] stdio=False ns", ""),
    ([], 0, "Available Commands", ""),
    (["start"], 1, "", "accepts 1 arg(s), received 0\n"),
    (["start", "a", "b"], 1, "", "accepts 1 arg(s), received 2\n"),
    (["start", "vm", "--dry-run", "false"], 1, "", "accepts 1 arg(s), received 2\n"),
    (["start", "vm", "--foo"], 1, "", "unknown flag: --foo\n"),
    (["start", "vm", "-x"], 1, "", "unknown shorthand flag: 'x' in -x\n"),
    (["version", "-cx"], 1, "", "unknown shorthand flag: 'x' in -x\n"),
    # pflag quotes the byte with %q (virtctl v1.9.0 prints these exact lines)
    (["start", "vm", "-\n"], 1, "", "unknown shorthand flag: '\\n' in -\n\n"),
    (["start", "vm", "-\t"], 1, "", "unknown shorthand flag: '\\t' in -\t\n"),
    (["start", "vm", "-'"], 1, "", "unknown shorthand flag: '\\'' in -'\n"),
    (["start", "vm", "-é"], 1, "", "unknown shorthand flag: '\u00c3' in -é\n"),
    (["version", "-c=false"], 0, "client=False", ""),
    (
        ["start", "vm", '--dry-run=a"b'],
        1,
        "",
        'invalid argument "a\\"b" for "--dry-run" flag: strconv.ParseBool: parsing "a\\"b": invalid syntax\n',
    ),
    (
        ["start", "vm", "--dry-run=maybe"],
        1,
        "",
        'invalid argument "maybe" for "--dry-run" flag: strconv.ParseBool: parsing "maybe": invalid syntax\n',
    ),
    (["start", "vm", "-n"], 1, "", "flag needs an argument: 'n' in -n\n"),
    (["start", "vm", "--namespace"], 1, "", "flag needs an argument: --namespace\n"),
    (
        ["stop", "vm", "--grace-period=abc"],
        1,
        "",
        'invalid argument "abc" for "--grace-period" flag: strconv.ParseInt: parsing "abc": invalid syntax\n',
    ),
    (["expose"], 1, "", "accepts 2 arg(s), received 0\n"),
    (["expose", "vmi", "x"], 1, "", 'required flag(s) "name" not set\n'),
    (["expose", "vmi", "x", "--name", "s", "--kaboom"], 1, "", "unknown flag: --kaboom\n"),
    (["port-forward", "vmi/x"], 1, "", "requires at least 2 arg(s), only received 1\n"),
    (["version", "x"], 1, "", 'unknown command "x" for "virtctl version"\n'),
    (["nosuch"], 1, "", 'unknown command "nosuch" for "virtctl"\n'),
    (["--foo", "start", "vm"], 1, "", "unknown flag: --foo\n"),
    (["start", "-h"], 0, "Usage:", ""),
    (["start", "--help"], 0, "Usage:", ""),
    # pflag NoOptDefVal (adm log-verbosity's component flags): the bare flag takes its default and
    # never the next word; `=value` sets it; shorthands follow the same rule
    (["verbosity"], 0, "level=11 quiet=False", ""),
    (["verbosity", "--level"], 0, "level=10 quiet=False", ""),
    (["verbosity", "--level=3"], 0, "level=3 quiet=False", ""),
    (["verbosity", "--level=0x7"], 0, "level=7 quiet=False", ""),
    (["verbosity", "--level", "--quiet"], 0, "level=10 quiet=True", ""),
    (["verbosity", "--level", "3"], 1, "", 'unknown command "3" for "virtctl verbosity"\n'),
    (["verbosity", "-l"], 0, "level=10 quiet=False", ""),
    (["verbosity", "-l=4"], 0, "level=4 quiet=False", ""),
    (["verbosity", "-lq"], 0, "level=10 quiet=True", ""),
    (["verbosity", "-ql"], 0, "level=10 quiet=True", ""),
    (["verbosity", "-l4"], 1, "", "unknown shorthand flag: '4' in -4\n"),
    (["verbosity", "--level=3", "--level"], 0, "level=10 quiet=False", ""),
    (["verbosity", "--level="], 1, "",
     'invalid argument "" for "-l, --level" flag: strconv.ParseUint: parsing "": invalid syntax\n'),
    (["verbosity", "--level=-1"], 1, "",
     'invalid argument "-1" for "-l, --level" flag: strconv.ParseUint: parsing "-1": invalid syntax\n'),
    (["-n", "ns", "verbosity", "--level"], 0, "level=10", ""),
    (["verbosity", "--help"], 0, "  -l, --level uint[=10]   level (0-9) (default 11)\n", ""),
]


@pytest.mark.parametrize(("argv", "rc", "out", "err"), CASES, ids=[" ".join(c[0]) or "(none)" for c in CASES])
def test_argv_table(argv, rc, out, err, capsys):
    code = cli.main(argv, argv0="virtctl", registry=REGISTRY)
    captured = capsys.readouterr()
    assert code == rc
    assert captured.err == err
    if rc == 1:
        assert captured.out == ""
    else:
        assert out in captured.out


def test_repeatable_global_flag_appends_across_the_subcommand(capsys):
    assert cli.main(["--as-group", "a", "start", "vm", "--as-group=b"], argv0="virtctl", registry=REGISTRY) == 0
    assert "'as_group': ['a', 'b']" in capsys.readouterr().out


def test_unknown_command_suggests_close_names(capsys):
    assert cli.main(["strat"], argv0="virtctl", registry=REGISTRY) == 1
    assert capsys.readouterr().err == 'unknown command "strat" for "virtctl"\n\nDid you mean this?\n\tstart\n\n'


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", True), ("t", True), ("T", True), ("TRUE", True), ("true", True), ("True", True),
     ("0", False), ("f", False), ("F", False), ("FALSE", False), ("false", False), ("False", False)],
)
def test_parse_bool_go_spellings(text, value):
    assert parse_bool(text) is value


@pytest.mark.parametrize("text", ["yes", "no", "", "tRUE", "2"])
def test_parse_bool_rejects(text):
    with pytest.raises(ValueError, match="invalid syntax"):
        parse_bool(text)


# strconv.ParseInt(s, 0, 64) as pflag's int flags use it; every row was checked against the reference
# virtctl (`stop vm --force --grace-period=<text>` against the simulator: the gracePeriod it sent, or
# its error line). None = refused with "invalid syntax".
PARSE_INT = [
    ("0", 0), ("-5", -5), ("+5", 5), ("-0", 0), ("00", 0), ("0x10", 16), ("0X1f", 31), ("0o17", 15),
    ("017", 15), ("0b101", 5), ("0B11", 3), ("+0b1_1", 3), ("1_000", 1000), ("1_0_0", 100), ("0_17", 15),
    ("0x_1", 1), ("0x1_f", 31), ("0o_7", 7), ("0b_1", 1), ("0x_1F", 31),
    ("9223372036854775807", 2**63 - 1), ("-9223372036854775808", -(2**63)), ("-0x8000000000000000", -(2**63)),
    ("\uff15", None), ("\u0663", None), ("_1", None), ("1_", None), ("1__0", None), ("0_", None), ("0x_", None),
    ("-_1", None), ("0_x1", None), ("0x", None), ("0b", None), ("0o", None), ("0b2", None), ("0o8", None),
    ("0xg", None), ("08", None), ("1e3", None), ("", None), (" 5", None), ("5 ", None), ("+-1", None),
    ("- 1", None),
]


@pytest.mark.parametrize(("text", "value"), PARSE_INT)
def test_parse_int_like_strconv(text, value):
    if value is None:
        with pytest.raises(ValueError) as info:
            parse_int(text)
        assert str(info.value) == f"strconv.ParseInt: parsing {go_quote(text)}: invalid syntax"
    else:
        assert parse_int(text) == value


def test_parse_int_range():
    for text in ("9223372036854775808", "0x8000000000000000", "18446744073709551616", "0x1ffffffffffffffffz"):
        with pytest.raises(ValueError) as info:
            parse_int(text)
        assert str(info.value) == f'strconv.ParseInt: parsing "{text}": value out of range'
    with pytest.raises(ValueError, match="value out of range"):
        parse_int("2147483648", 32)


@pytest.mark.parametrize(
    ("text", "value"),
    [("key1=value1,key2=value2", {"key1": "value1", "key2": "value2"}), ("a=b,c", {"a": "b,c"}), ("k=v", {"k": "v"}), ("a=1,b,c=2", None),
     ("k=v,w", {"k": "v,w"}), ('"k=v"', {"k": "v"}), ("key1", None)],
)
def test_string_to_string(text, value):
    if value is None:
        with pytest.raises(ValueError, match="must be formatted as key=value"):
            parse_string_to_string(text)
    else:
        assert parse_string_to_string(text) == value


def test_go_quote():
    assert go_quote('a"b\\c\n\t') == '"a\\"b\\\\c\\n\\t"'
    assert go_quote("é") == '"é"'
    assert go_quote("\x01") == '"\\x01"'


def test_suggestions():
    assert suggest("stat", ["start", "stop", "status"]) == ["start", "stop", "status"]
    assert suggest("xyz", ["start"]) == []


@pytest.mark.parametrize(
    ("argv", "marks"),
    [
        (["vm1", "--paused", "false"], [(1, "--paused")]),
        (["--paused", "false", "vm1"], [(0, "--paused")]),
        (["vm1", "--paused=false", "vm2"], []),
        (["vm1", "-A", "true"], [(1, "-A")]),
        (["vm1", "-nA", "x"], []),  # -n takes "A" as its value: not a bool
        (["vm1", "--name", "false"], []),  # a flag with a value consumes the word
    ],
)
def test_scan_marks_words_after_a_bare_bool_flag(argv, marks):
    from pyvirtctl.cmdspec import FlagDef
    from pyvirtctl.goflags import scan

    table = {
        "--paused": FlagDef(None, "paused", "", "bool", "cmd"),
        "-A": FlagDef(None, "all-namespaces", "A", "bool", "cmd"),
        "-n": FlagDef(None, "namespace", "n", "string", "root"),
        "--name": FlagDef(None, "name", "", "string", "cmd"),
    }
    assert scan(argv, table).after_bare_bool == marks


# pflag's uint32 flags (create instancetype --cpu): strconv.ParseUint(s, 0, 32); each row checked
# against the reference virtctl (`create instancetype --cpu=<text> --memory 1Gi`)
@pytest.mark.parametrize(
    ("text", "value"),
    [("1_0", 10), ("0x10", 16), ("0b11", 3), ("4294967295", 4294967295), ("+5", "invalid syntax"),
     ("-1", "invalid syntax"), ("\uff15", "invalid syntax"), ("", "invalid syntax"), ("4294967296", "value out of range")],
)
def test_uint32_flags_parse_like_strconv_parseuint(text, value):
    from pyvirtctl.cmdspec import FlagDef
    from pyvirtctl.errors import UsageError
    from pyvirtctl.goflags import convert

    flag = FlagDef(param=None, name="cpu", short="", go_type="uint32", owner="cmd")
    if isinstance(value, int):
        assert convert(flag, text) == value
    else:
        with pytest.raises(UsageError) as err:
            convert(flag, text)
        assert str(err.value) == (
            f'invalid argument {go_quote(text)} for "--cpu" flag: strconv.ParseUint: parsing {go_quote(text)}: {value}'
        )


def test_optional_value_flag_is_not_a_bare_bool():
    """A flag with a NoOptDefVal other than "true" leaves the next word alone and marks nothing."""
    from pyvirtctl.cmdspec import FlagDef
    from pyvirtctl.goflags import find_subcommand, scan

    level = FlagDef(None, "virt-handler", "", "uint", "cmd", no_opt_default="10")
    table = {"--virt-handler": level, "--paused": FlagDef(None, "paused", "", "bool", "cmd")}
    result = scan(["--virt-handler", "7"], table)
    assert [(fd.name, value) for fd, value in result.seen] == [("virt-handler", 10)]
    assert result.positionals == ["7"] and result.after_bare_bool == []
    assert level.no_opt_value == "10" and table["--paused"].no_opt_value == "true"
    assert FlagDef(None, "name", "", "string", "cmd").no_opt_value == ""
    # cobra's stripFlags: a flag with a NoOptDefVal does not eat the command word after it
    assert find_subcommand(["--virt-handler", "adm"], table) == 1
