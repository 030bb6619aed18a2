"""`python -m pyvirtctl`."""

import sys

from pyvirtctl import collector

collector.pause()  # before the imports: see pyvirtctl/collector.py

from pyvirtctl.cli import run  # noqa: E402

sys.exit(run())
