"""virtctl's JSON log lines on stderr (sorted keys; the component is always "portforward", a virtctl quirk)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime


def log_line(level: str, msg: str, pos: str, reason: str | None = None) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    entry = {"component": "portforward", "level": level, "msg": msg, "pos": pos, "timestamp": now}
    if reason is not None:
        entry["reason"] = reason
    return json.dumps(entry, sort_keys=True, separators=(",", ":"))


def info(msg: str, pos: str) -> None:
    print(log_line("info", msg, pos), file=sys.stderr, flush=True)


def error(msg: str, pos: str, reason: str | None = None) -> None:
    print(log_line("error", msg, pos, reason), file=sys.stderr, flush=True)
