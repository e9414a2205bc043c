"""The daemon's web face: a read-only dashboard and Atom feeds beside the probes, on `daemon.listen`.

- `app`: the Starlette app and its routes; `access`: who may read it (a token off loopback);
- `pages`: what each page shows, read from the store (`monitor.store.views`) in a worker thread;
- `cases`: how watches group into cases and agencies; `timeline`: one entry per item across sources;
- `health_view`: ok / failing / down / waiting / quiet, the same on every page;
- `render`: Jinja2 templates (autoescaped) and the secret scrub; `atom`: the feeds.

The README's "Dashboard" section is the user's manual.
"""
