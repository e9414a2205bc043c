"""Court-filing monitor: watch public dockets and agency pages, alert on what changed."""

import sys

__version__ = "0.1.0"

# `import httpx` also imports httpx's command-line tool (click and pygments, when installed: ~20 ms of CPU
# on every run), which the monitor never uses; marked absent, httpx puts its stub in its place at once.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
