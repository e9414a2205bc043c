"""`python -m monitor` is the same as the installed `monitor` command."""

import sys

from monitor.cli import main

sys.exit(main())
