"""`python -m pyvirtctl`."""

import sys

from pyvirtctl.cli import main

sys.exit(main())
