"""`python -m pyvirtctl`."""

import sys

from pyvirtctl.cli import run

sys.exit(run())
