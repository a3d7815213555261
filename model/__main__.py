"""Entry point: ``python -m model evaluate ...``."""

import sys

from model.cli import main

sys.exit(main())
