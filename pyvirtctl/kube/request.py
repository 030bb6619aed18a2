"""A request as data: what a command wants sent, built by pure functions and unit-tested as values.

The target is an `ApiRef` (structured, already checked parts, see `kube/paths.py`); `path` is its
escaped form, which is what the transport sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyvirtctl.kube.paths import ApiRef


@dataclass(frozen=True)
class Request:
    """One API call.

    `content_type=None` sends the body without a Content-Type header, as client-go does for
    subresource PUTs; typed objects (Service, PVC, DeleteOptions) pass "application/json".
    `verb`/`resource`/`name` select client-go's generic error text for calls that read the raw body.
    """

    method: str
    ref: ApiRef
    query: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    content_type: str | None = None
    decode_status: bool = True
    verb: str = ""
    resource: str = ""
    name: str = ""

    @property
    def path(self) -> str:
        return self.ref.path
