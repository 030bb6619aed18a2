"""kubectl-style tables: rich on a terminal, plain aligned text otherwise.

Piped output (and `NO_COLOR`, see `output.use_colour`) is plain: aligned columns three spaces apart, headers in capitals,
cells never wrapped — what `kubectl get` prints, so scripts can `awk` it. On a terminal the same
table is drawn by rich (imported only then) with coloured status words, fitted to the width.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pyvirtctl.output import console, use_colour

STATUS_STYLES = {
    "Running": "green",
    "Ready": "green",
    "Succeeded": "green",
    "True": "green",
    "Stopped": "dim",
    "Paused": "yellow",
    "Starting": "cyan",
    "Stopping": "cyan",
    "Migrating": "cyan",
    "Provisioning": "cyan",
    "Pending": "cyan",
    "Scheduling": "cyan",
    "Scheduled": "cyan",
    "Failed": "red",
    "CrashLoopBackOff": "red",
    "ErrorUnschedulable": "red",
    "False": "red",
}


def render(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned columns (3 spaces apart); the last column is not padded."""
    cells = [list(headers)] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for r in cells:
        parts = [c if i == len(r) - 1 else c.ljust(widths[i]) for i, c in enumerate(r)]
        lines.append("   ".join(parts).rstrip())
    return "\n".join(lines) + "\n"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], status_columns: Sequence[int] = (),
                stream: Any = None) -> None:
    """Print a table to `stream` (stdout): rich on a terminal, plain text when piped."""
    stream = stream or sys.stdout
    if not use_colour(stream):
        stream.write(render(headers, rows))
        stream.flush()
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold", padding=(0, 3, 0, 0))
    for h in headers:
        table.add_column(h, no_wrap=True, overflow="ellipsis")
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            c = str(c)
            style = STATUS_STYLES.get(c, "") if i in status_columns else ""
            cells.append(Text(c, style=style))
        table.add_row(*cells)
    console(stream).print(table)


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """kubectl's short age: 45s, 12m, 3h, 5d (two units under a day when useful: 3h12m)."""
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<invalid>"
    now = now or datetime.now(UTC)
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"
