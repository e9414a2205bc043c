# syntax=docker/dockerfile:1
#
# The court-filing monitor daemon (`monitor run`).
#
#   docker build -t court-filing-monitor .
#   docker run -d --name monitor -p 127.0.0.1:9090:9090 \
#       -v monitor-data:/data -v "$PWD/config:/config:ro" --env-file deploy/monitor.env \
#       court-filing-monitor
#
# State (snapshots, history, the delivery outbox) lives in the volume /data; the configuration is read
# from /config/watches.yaml (the shipped example is baked in; mount your own over /config). Secrets come
# from the environment, never from the image. /healthz, /readyz and /metrics listen on 0.0.0.0:9090.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------- build: the monitor's own wheel
# Its dependencies are not resolved here: the runtime stage installs them from requirements.lock.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY monitor/ monitor/
COPY watchers/ watchers/
COPY notifiers/ notifiers/
RUN pip wheel --no-deps --wheel-dir /wheels .

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="court-filing-monitor" \
      org.opencontainers.image.description="Watches court dockets and agency pages; alerts on new filings." \
      org.opencontainers.image.licenses="MIT"

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MONITOR_CONFIG=/config/watches.yaml \
    MONITOR_STATE=sqlite:////data/monitor.db \
    MONITOR_LISTEN=0.0.0.0:9090

# An unprivileged user with a fixed uid, so volume ownership is predictable (chown 10001 on the host).
RUN groupadd --system --gid 10001 monitor \
 && useradd --system --uid 10001 --gid monitor --home-dir /data --no-create-home --shell /usr/sbin/nologin monitor \
 && mkdir -p /data /config \
 && chown monitor:monitor /data

# Reproducible: every dependency at the version pinned in requirements.lock (bin/lock), hash-checked, so a
# rebuild months later installs the same bytes; then the monitor itself, which resolves nothing more.
RUN --mount=type=bind,source=requirements.lock,target=/tmp/requirements.lock \
    pip install --require-hashes -r /tmp/requirements.lock
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --no-deps /wheels/court_filing_monitor-*.whl

COPY config/watches.yaml /config/watches.yaml

USER monitor:monitor
WORKDIR /data
VOLUME ["/data"]
EXPOSE 9090
# The daemon finishes in-flight work within daemon.shutdown_grace (20 s) of SIGTERM: under Docker's
# default 10 s stop timeout, run with `--stop-timeout 30` (compose.yaml sets stop_grace_period: 30s).
STOPSIGNAL SIGTERM

# Slim images have no curl: ask /healthz with the standard library. 503 or no answer -> non-zero exit.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; h, _, p = os.environ.get('MONITOR_LISTEN', '0.0.0.0:9090').rpartition(':'); h = h.strip('[]'); h = '127.0.0.1' if h in ('', '0.0.0.0', '::') else h; u.urlopen('http://%s:%s/healthz' % ('[%s]' % h if ':' in h else h, p), timeout=4)"]

ENTRYPOINT ["monitor"]
CMD ["run"]
