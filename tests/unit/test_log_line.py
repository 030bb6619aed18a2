"""The stderr log lines keep non-ASCII text as UTF-8, as Go's encoder does (a sub-millisecond
duration is written with "µs", which must not turn into \\u00b5)."""

import json

from pyvirtctl.log import log_line


def test_micro_sign_stays_utf8() -> None:
    line = log_line("info", "Connected to usbredirect at 967.001µs", "client.go:143")
    assert '"msg":"Connected to usbredirect at 967.001µs"' in line
    assert "\\u00b5" not in line


def test_html_characters_are_not_escaped_but_line_separators_are() -> None:
    line = log_line("error", "a<b>&c\u2028d", "x.go:1", reason="r")
    assert '"msg":"a<b>&c\\u2028d"' in line
    assert json.loads(line)["msg"] == "a<b>&c\u2028d"
    assert list(json.loads(line)) == ["component", "level", "msg", "pos", "reason", "timestamp"]
