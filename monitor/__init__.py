"""Court-filing monitor: watch public dockets and agency pages, alert on what changed."""

__version__ = "0.1.0"
