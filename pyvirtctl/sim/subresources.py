"""virt-api subresources (filled in below)."""

from pyvirtctl.sim import kstatus


async def dispatch(sim, request, route):
    raise kstatus.unknown_path()


def stream_precheck(sim, request, kind):
    raise kstatus.unknown_path()
