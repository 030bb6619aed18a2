"""virtctl's JSON log lines on stderr (sorted keys; the component is always "portforward", a virtctl quirk).

The lines are written as Go's JSON encoder does with HTML escaping off: non-ASCII text such as
the "µs" of a short duration stays UTF-8, `<>&` stay as they are, and only U+2028/U+2029 are
escaped.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime


def log_line(level: str, msg: str, pos: str, reason: str | None = None) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    entry = {"component": "portforward", "level": level, "msg": msg, "pos": pos, "timestamp": now}
    if reason is not None:
        entry["reason"] = reason
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def info(msg: str, pos: str) -> None:
    print(log_line("info", msg, pos), file=sys.stderr, flush=True)


def error(msg: str, pos: str, reason: str | None = None) -> None:
    print(log_line("error", msg, pos, reason), file=sys.stderr, flush=True)
