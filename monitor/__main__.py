"""`python -m monitor` is the same as the installed `monitor` command."""

import sys

from monitor.cli import entry

sys.exit(entry())
