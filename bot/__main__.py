"""`python -m bot` runs the `countersign` command line."""

import sys

from bot.cli import main

sys.exit(main())
