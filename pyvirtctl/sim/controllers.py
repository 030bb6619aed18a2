"""Controllers (filled in below)."""

from __future__ import annotations


class Controllers:
    def __init__(self, sim) -> None:
        self.sim = sim

    def kick(self) -> None:
        pass

    def reset(self) -> None:
        pass

    def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def admin_patch_vmi(self, ns: str, name: str, body: dict) -> dict:
        return {}
