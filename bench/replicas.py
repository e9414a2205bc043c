"""Throughput of one, two and three `monitor run` replicas sharing one PostgreSQL database.

    python bench/replicas.py [--sources 3000] [--every 5] [--window 20] [--replicas 1 2 3]

For each replica count: a fresh database, the benchmark source server (bench/server.py, its own
process: half RSS feeds, half HTML listings, ETags and 304s) with `--sources` sources, one watch per
source checked `--every` seconds — more than the replicas can do, so what they manage is their
capacity. Once every watch has its baseline, checks completed per second are measured over `--window`
seconds from the replicas' /metrics (`court_monitor_checks_total`, outcomes other than skipped), together
with the CPU time the replicas and PostgreSQL used. Needs PostgreSQL on 127.0.0.1:5432 (trust auth for
user postgres), as the tests do. Results go to bench/results/replicas-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DB = "monitor_bench_replicas"


def fresh_database() -> str:
    engine = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DB}"'))
    engine.dispose()
    return f"postgresql://postgres@127.0.0.1:5432/{DB}"


def start_server(sources: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "server.py"), "--sources", str(sources)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"READY (\S+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"source server did not start: {line!r}")
    return proc, match.group(1)


def write_config(path: Path, state: str, base: str, sources: int, every: float) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import content  # the same sources and selectors as bench/run.py

    lines = [
        f"state: {state}",
        "http: {per_host: 32, timeout: 30s}",
        "daemon: {jitter: 0.1, lease: 30s, log_format: json}",
        "notifiers: {quiet: {type: console, stream: stderr}}",
        "watches:",
    ]
    lines += [f"  - {json.dumps({**watch, 'every': f'{every:g}s'})}" for watch in content.watches(sources, base)]
    path.write_text("\n".join(lines) + "\n")


def checks(listen: str) -> float:
    with urllib.request.urlopen(f"http://{listen}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith("court_monitor_checks_total{")
        and 'outcome="skipped"' not in line
        and 'outcome="other_replica"' not in line
    )


def baselined(state: str) -> int:
    engine = sa.create_engine(state.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM watch_state WHERE baseline_done")).scalar() or 0
    except sa.exc.ProgrammingError:
        return 0
    finally:
        engine.dispose()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> float:
    total = 0.0
    for pid in subprocess.run(["pgrep", "-f", "postgres"], capture_output=True, text=True).stdout.split():
        with contextlib.suppress(OSError, ValueError):
            total += cpu_seconds(int(pid))
    return total


def run(replicas: int, sources: int, every: float, window: float, workdir: Path) -> dict:
    state = fresh_database()
    server, base = start_server(sources)
    config = workdir / f"replicas-{replicas}.yaml"
    write_config(config, state, base, sources, every)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs, listens = [], []
    try:
        for k in range(replicas):
            with open(workdir / f"replica-{replicas}-{k}.log", "w") as err:  # the replica keeps its own copy
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "monitor", "run", "--config", str(config), "--listen", "127.0.0.1:0"],
                        stderr=err,
                        stdout=subprocess.DEVNULL,
                        env=env,
                    )
                )
        for k in range(replicas):
            log = workdir / f"replica-{replicas}-{k}.log"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                found = re.search(r'"listen": "([^"]+)"', log.read_text())
                if found:
                    listens.append(found.group(1))
                    break
                time.sleep(0.2)
            else:
                raise SystemExit(f"replica {k} did not start; see {log}")
        started = time.monotonic()
        while baselined(state) < sources:
            if time.monotonic() - started > 600:
                raise SystemExit("baselines did not complete within 10 minutes")
            time.sleep(1)
        baseline_seconds = time.monotonic() - started
        time.sleep(every)  # into the steady state
        c0, t0 = sum(checks(listen) for listen in listens), time.monotonic()
        cpu0 = sum(cpu_seconds(p.pid) for p in procs)
        pg0 = postgres_cpu()
        time.sleep(window)
        c1, t1 = sum(checks(listen) for listen in listens), time.monotonic()
        cpu1 = sum(cpu_seconds(p.pid) for p in procs)
        pg1 = postgres_cpu()
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        server.kill()
    rate = (c1 - c0) / (t1 - t0)
    return {
        "replicas": replicas,
        "sources": sources,
        "every": every,
        "checks_per_second": round(rate, 1),
        "demand_per_second": round(sources / every, 1),
        "first_cycle_seconds": round(baseline_seconds, 1),
        "replica_cpu_per_check_ms": round(1000 * (cpu1 - cpu0) / max(1, c1 - c0), 2),
        "postgres_cpu_per_check_ms": round(1000 * (pg1 - pg0) / max(1, c1 - c0), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=3000)
    parser.add_argument("--every", type=float, default=5.0, help="check interval, seconds (short: saturate)")
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured in the steady state")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        for n in args.replicas:
            result = run(n, args.sources, args.every, args.window, Path(tmp))
            print(json.dumps(result), flush=True)
            results.append(result)
    out = ROOT / "bench" / "results" / f"replicas-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(
        f"{'replicas':>8} {'checks/s':>9} {'demand/s':>9} {'cpu ms/check':>13} {'pg ms/check':>12} {'first cycle':>12}"
    )
    for r in results:
        print(
            f"{r['replicas']:>8} {r['checks_per_second']:>9} {r['demand_per_second']:>9} "
            f"{r['replica_cpu_per_check_ms']:>13} {r['postgres_cpu_per_check_ms']:>12} {r['first_cycle_seconds']:>11}s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
