"""Benchmark: one `monitor check` over 1,000 watches on a local server, in three situations.

    .venv/bin/python bench/run.py                      # 3 repetitions, median reported
    .venv/bin/python bench/run.py --phases 1           # also CPU time by phase (bench/phases.py)
    .venv/bin/python bench/run.py --profile            # also profile each cycle (cProfile; pyinstrument if installed)
    .venv/bin/python bench/run.py --compare /tmp/copy  # A/B against a scratch copy of the core (see README.md)

What it does:
1. starts bench/server.py in its own process (its CPU time is never counted): 1,000 sources, half RSS
   feeds built from a recorded DOJ feed, half HTML news listings of ~37-40 KB, 20 items each, with
   ETags and 304 answers;
2. measures the interpreter start and the monitor's imports alone (`python -c "import ..."`), and
   writes a `-X importtime` breakdown;
3. for each repetition, with a fresh SQLite state database in a temporary directory, runs
   `python -m monitor check --config ...` three times as a child process:
   - `first`: every watch is new (a baseline is recorded, no alerts);
   - `unchanged`: nothing changed (every source answers 304 to If-None-Match);
   - `changed`: 10% of the sources list one new item (and roll their oldest off): 100 alerts go
     through the console notifier (to a file);
   and takes the child's own wall time, user+system CPU time and peak RSS from `os.wait4` (the child
   is started by bench/launcher.py, a 9 MiB process, so that its ru_maxrss is its own);
4. checks each cycle did what it should (all baselines; all 304s; exactly 100 sources with one new
   item) so that a broken run is never reported as a fast one;
5. prints the median of the repetitions against the targets and writes everything to
   bench/results/<timestamp>/ (results.json, summary.md, each child's output, profiles).

Exit status: 0 when every cycle was valid (whether or not the targets were met), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import content  # noqa: E402

SCENARIOS = ("first", "unchanged", "changed")
TARGETS = {  # CPU seconds of the monitor process on a 2-core machine; peak RSS for every scenario
    "first": 2.0,
    "unchanged": 0.45,
    "changed": 0.9,
}
TARGET_RSS_MIB = 80.0
URLWATCH = {"first": 6.0, "unchanged": 4.75, "changed": 5.8}  # urlwatch 2.29, CPU seconds, same workload (from the issue)
IMPORTS = "import monitor.cli, monitor.engine, watchers, notifiers, monitor.app"


@dataclass
class Measure:
    wall: float
    user: float
    sys: float
    maxrss_mib: float
    exit_code: int

    @property
    def cpu(self) -> float:
        return self.user + self.sys


@dataclass
class Cycle:
    variant: str
    scenario: str
    repetition: int
    measure: Measure
    server: dict
    valid: bool
    problems: list[str] = field(default_factory=list)
    db_bytes: int = 0


# ------------------------------------------------------------------ child processes


class Launcher:
    """Starts measured children from a small process (bench/launcher.py), so peak RSS is the child's own."""

    def __init__(self, python: str):
        self.proc = subprocess.Popen([python, "-S", str(BENCH / "launcher.py")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def run(self, argv: list[str], *, env: dict[str, str], cwd: Path, stdout: Path, stderr: Path) -> Measure:
        """Run argv to completion; wall time, CPU time and peak RSS of that child alone (os.wait4)."""
        request = {"argv": argv, "env": env, "cwd": str(cwd), "stdout": str(stdout), "stderr": str(stderr)}
        self.proc.stdin.write(json.dumps(request) + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit("the launcher died")
        r = json.loads(line)
        # ru_maxrss is in KiB on Linux (bytes on macOS)
        rss = r["maxrss_kib"] / (1024 * 1024) if sys.platform == "darwin" else r["maxrss_kib"] / 1024
        return Measure(r["wall"], r["user"], r["sys"], rss, r["exit_code"])

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait(timeout=10)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra or {})
    return env


def variant_env(src: Path | None, extra: list[str]) -> dict[str, str]:
    """Environment of a variant: `src` first on PYTHONPATH (a scratch copy of the core), plus NAME=VALUE items."""
    env = dict(item.partition("=")[::2] for item in extra)
    if src:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src.resolve()), env.get("PYTHONPATH")]))
    return env


class Server:
    def __init__(self, python: str, sources: int, use_gzip: bool, log: Path):
        argv = [python, str(BENCH / "server.py"), "--sources", str(sources)] + (["--gzip"] if use_gzip else [])
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._log)
        line = self.proc.stdout.readline().decode().strip()  # type: ignore[union-attr]
        if not line.startswith("READY "):
            self.stop()
            raise SystemExit(f"the benchmark server did not start (see {log})")
        self.base_url = line.split(" ", 1)[1]

    def control(self, command: str) -> dict:
        with urllib.request.urlopen(f"{self.base_url}/_control/{command}", timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


# ------------------------------------------------------------------ configuration


def write_config(path: Path, base_url: str, sources: int, state_url: str, per_host: int | None) -> None:
    """The monitor's configuration, in block-style YAML as a person writes it: 1,000 watches, console alerts."""
    import yaml

    config: dict = {
        "state": state_url,
        "defaults": {"every": "10m"},
        "notifiers": {"terminal": {"type": "console"}},
        "watches": content.watches(sources, base_url),
    }
    if per_host:
        config["http"] = {"per_host": per_host}
    path.write_text(yaml.safe_dump(config, sort_keys=False, default_flow_style=False, allow_unicode=True, width=200),
                    encoding="utf-8")


# ------------------------------------------------------------------ validation


def validate(scenario: str, sources: int, measure: Measure, stdout: str, server: dict) -> list[str]:
    """What must be true of a cycle for its figures to mean anything."""
    problems = []
    if measure.exit_code != 0:
        problems.append(f"exit status {measure.exit_code}")
    lines = stdout.splitlines()
    watch_lines = [ln for ln in lines if re.match(r"^(feed|page)-\d{4}: ", ln)]
    baseline = sum(1 for ln in watch_lines if ": baseline recorded: 20 items" in ln)
    unchanged = sum(1 for ln in watch_lines if ln.endswith(": unchanged"))
    added = sum(1 for ln in watch_lines if re.search(r": 1 added(, 1 removed)? \(20 items\)$", ln))
    failed = sum(1 for ln in watch_lines if ": FAILED" in ln)
    changed = content.expected_changed(sources)
    if f"{sources} watches checked, 0 failed" not in lines[-1:]:
        problems.append(f"last line is {lines[-1:]!r}, {failed} watches failed")
    if scenario == "first":
        if baseline != sources:
            problems.append(f"{baseline} baselines recorded, expected {sources}")
        if server.get("ok") != sources:
            problems.append(f"server sent {server.get('ok')} bodies, expected {sources}")
    elif scenario == "unchanged":
        if unchanged != sources:
            problems.append(f"{unchanged} watches unchanged, expected {sources}")
        if server.get("not_modified") != sources:
            problems.append(f"server answered {server.get('not_modified')} times 304, expected {sources}")
    else:
        if added != changed or unchanged != sources - changed:
            problems.append(f"{added} watches with one new item and {unchanged} unchanged, expected {changed} and "
                            f"{sources - changed}")
        if server.get("ok") != changed or server.get("not_modified") != sources - changed:
            problems.append(f"server: {server.get('ok')} bodies and {server.get('not_modified')} 304s, expected "
                            f"{changed} and {sources - changed}")
        if f"deliveries: {changed} sent, 0 to retry, 0 failed" not in lines:
            said = next((ln for ln in lines if ln.startswith("deliveries: ")), "no deliveries line")
            problems.append(f"expected {changed} alerts delivered, the monitor says {said!r}")
    return problems


# ------------------------------------------------------------------ one repetition


def run_repetition(rep: int, args: argparse.Namespace, launcher: Launcher, server: Server, out_dir: Path,
                   env: dict[str, str], *, variant: str = "main",
                   wrap: dict[str, tuple[list[str], dict[str, str]]] | None = None,
                   label: str = "") -> list[Cycle]:
    """first, unchanged, changed: one sequence over a fresh state database."""
    label = label or ("" if variant == "main" else f"{variant}-")
    tmp = Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    cycles = []
    try:
        db = tmp / "monitor.db"
        config = tmp / "watches.yaml"
        write_config(config, server.base_url, args.sources, f"sqlite:///{db}", args.per_host)
        server.control("phase/base")
        for scenario in SCENARIOS:
            if scenario == "changed":
                server.control("phase/changed")
            server.control("reset")
            prefix = f"{label}rep{rep}-{scenario}"
            prefix_argv, extra_env = (wrap or {}).get(scenario, (["-m", "monitor"], {}))
            argv = [args.python, *prefix_argv, "check", "--config", str(config)]
            m = launcher.run(argv, env={**env, **extra_env}, cwd=tmp, stdout=out_dir / f"{prefix}.out", stderr=out_dir / f"{prefix}.err")
            stats = server.control("stats")
            stdout = (out_dir / f"{prefix}.out").read_text(encoding="utf-8", errors="replace")
            problems = validate(scenario, args.sources, m, stdout, stats)
            size = sum(p.stat().st_size for p in tmp.glob("monitor.db*"))
            cycles.append(Cycle(variant, scenario, rep, m, stats, not problems, problems, size))
            status = "ok" if not problems else "INVALID: " + "; ".join(problems)
            print(f"  {label}rep {rep} {scenario:<9} wall {m.wall:6.3f}s  cpu {m.cpu:6.3f}s "
                  f"(user {m.user:.3f} sys {m.sys:.3f})  peak {m.maxrss_mib:5.1f} MiB  "
                  f"connections {stats.get('connections')}  db {size / 1e6:5.1f} MB  {status}", flush=True)
        server.control("phase/base")
    finally:
        if args.keep:
            kept = out_dir / f"{label}rep{rep}-state"
            shutil.copytree(tmp, kept)
        shutil.rmtree(tmp, ignore_errors=True)
    return cycles


# ------------------------------------------------------------------ import overhead


def import_overhead(args: argparse.Namespace, launcher: Launcher, out_dir: Path, env: dict[str, str],
                    variant: str = "main", runs: int = 7) -> dict:
    """Interpreter start alone, and start + the monitor's imports: median of `runs` each."""
    result = {}
    for name, code in (("bare", "pass"), ("imports", IMPORTS), ("imports_frozen", IMPORTS + "; import gc; gc.freeze()")):
        # one untimed run first, so cached bytecode exists as it does for an installed command
        subprocess.run([args.python, "-c", code], env=env, cwd=out_dir, check=True)
        # cwd: not the repository, whose directory `-c` would put first on sys.path (ahead of --src)
        ms = [launcher.run([args.python, "-c", code], env=env, cwd=out_dir, stdout=out_dir / "import.out",
                       stderr=out_dir / "import.err") for _ in range(runs)]
        result[name] = {
            "wall": statistics.median(m.wall for m in ms),
            "cpu": statistics.median(m.cpu for m in ms),
            "maxrss_mib": statistics.median(m.maxrss_mib for m in ms),
        }
    proc = subprocess.run([args.python, "-X", "importtime", "-c", IMPORTS], env=env, cwd=out_dir, capture_output=True,
                          text=True)
    (out_dir / f"importtime-{variant}.txt").write_text(proc.stderr, encoding="utf-8")
    result["by_package"] = importtime_summary(proc.stderr)
    return result


def importtime_summary(text: str, top: int = 15) -> list[tuple[str, float]]:
    """Import time (ms) spent in each top-level package's own modules, from `-X importtime` output."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| *(\S+)", line)
        if m:
            package = m.group(3).split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(m.group(1)) / 1000
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


# ------------------------------------------------------------------ profiles


def profile(args: argparse.Namespace, launcher: Launcher, server: Server, out_dir: Path,
            env: dict[str, str]) -> dict[str, list[str]]:
    """One more repetition under cProfile (and one under pyinstrument if installed); reports per scenario."""
    prof_dir = out_dir / "profile"
    prof_dir.mkdir(exist_ok=True)
    reports: dict[str, list[str]] = {}
    wrap = {s: (["-m", "cProfile", "-o", str(prof_dir / f"{s}.prof"), "-m", "monitor"], {}) for s in SCENARIOS}
    print("profiling with cProfile (figures inflated by the profiler)")
    run_repetition(0, args, launcher, server, prof_dir, env, wrap=wrap, label="cprofile-")
    import io
    import pstats

    for s in SCENARIOS:
        path = prof_dir / f"{s}.prof"
        if not path.exists():
            continue
        for sort in ("tottime", "cumulative"):
            buf = io.StringIO()
            stats = pstats.Stats(str(path), stream=buf)
            stats.strip_dirs().sort_stats(sort).print_stats(40)
            (prof_dir / f"{s}.{sort}.txt").write_text(buf.getvalue(), encoding="utf-8")
        reports.setdefault(s, []).append(str(prof_dir / f"{s}.tottime.txt"))
    has_pyinstrument = subprocess.run([args.python, "-c", "import pyinstrument"], env=env,
                                      capture_output=True).returncode == 0
    if has_pyinstrument:
        print("profiling with pyinstrument")
        wrap = {s: (["-m", "pyinstrument", "--renderer", "text", "--no-color", "--show", "*/monitor/*",
                     "-o", str(prof_dir / f"{s}.pyinstrument.txt"), "-m", "monitor"], {}) for s in SCENARIOS}
        run_repetition(0, args, launcher, server, prof_dir, env, wrap=wrap, label="pyinstrument-")
        for s in SCENARIOS:
            reports.setdefault(s, []).append(str(prof_dir / f"{s}.pyinstrument.txt"))
    else:
        print("pyinstrument is not installed (pip install pyinstrument): cProfile only")
    return reports


def phases(args: argparse.Namespace, launcher: Launcher, server: Server, out_dir: Path, env: dict[str, str],
           variant: str, runs: int) -> dict[str, dict[str, float]]:
    """CPU time by phase (bench/phases.py), median of `runs` extra repetitions: scenario -> phase -> seconds."""
    found: dict[str, list[dict[str, float]]] = {s: [] for s in SCENARIOS}
    for rep in range(1, runs + 1):
        files = {s: out_dir / f"phases-{variant}-rep{rep}-{s}.json" for s in SCENARIOS}
        wrap = {s: ([str(BENCH / "phases.py")], {"BENCH_PHASES_OUT": str(files[s])}) for s in SCENARIOS}
        run_repetition(rep, args, launcher, server, out_dir, env, variant=variant, wrap=wrap,
                       label=f"phases-{variant}-")
        for s, path in files.items():
            if path.exists():
                found[s].append(json.loads(path.read_text())["phases"])
    out: dict[str, dict[str, float]] = {}
    for s, runs_found in found.items():
        names = dict.fromkeys(name for r in runs_found for name in r)
        out[s] = {name: statistics.median(r.get(name, 0.0) for r in runs_found) for name in names}
    return out


def phase_table(by_scenario: dict[str, dict[str, float]]) -> str:
    names = list(dict.fromkeys(name for phases_ in by_scenario.values() for name in phases_))
    rows = ["| CPU s by phase | " + " | ".join(by_scenario) + " |", "|---|" + "---:|" * len(by_scenario)]
    for name in names:
        rows.append(f"| {name} | " + " | ".join(f"{p.get(name, 0.0):.3f}" for p in by_scenario.values()) + " |")
    rows.append("| **total** | " + " | ".join(f"**{sum(p.values()):.3f}**" for p in by_scenario.values()) + " |")
    return "\n".join(rows)


# ------------------------------------------------------------------ report


def summarize(cycles: list[Cycle]) -> dict[str, dict]:
    out = {}
    for s in SCENARIOS:
        ms = [c.measure for c in cycles if c.scenario == s]
        conns = [c.server.get("connections", 0) for c in cycles if c.scenario == s]
        if not ms:
            continue
        out[s] = {
            "runs": len(ms),
            "wall": statistics.median(m.wall for m in ms),
            "cpu": statistics.median(m.cpu for m in ms),
            "user": statistics.median(m.user for m in ms),
            "sys": statistics.median(m.sys for m in ms),
            "maxrss_mib": statistics.median(m.maxrss_mib for m in ms),
            "cpu_min": min(m.cpu for m in ms),
            "cpu_max": max(m.cpu for m in ms),
            "connections": statistics.median(conns),
            "valid": all(c.valid for c in cycles if c.scenario == s),
        }
    return out


def comparison(a: dict[str, dict], b: dict[str, dict], name_a: str, name_b: str) -> str:
    rows = [f"| scenario | CPU s {name_a} | CPU s {name_b} | change | peak RSS MiB {name_a} | {name_b} |",
            "|---|---:|---:|---:|---:|---:|"]
    for s in SCENARIOS:
        if s in a and s in b:
            x, y = a[s]["cpu"], b[s]["cpu"]
            rows.append(f"| {s} | {x:.3f} | {y:.3f} | {y - x:+.3f} ({(y - x) / x:+.0%}) | "
                        f"{a[s]['maxrss_mib']:.1f} | {b[s]['maxrss_mib']:.1f} |")
    return "\n".join(rows)


def table(summary: dict[str, dict], imports: dict | None) -> str:
    labels = {"first": "first cycle (all new, baseline)", "unchanged": "nothing changed (all 304)",
              "changed": "10% changed (one new item each)"}
    rows = ["| scenario | wall s | CPU s (user+sys) | CPU range | peak RSS MiB | TCP connections | CPU target | RSS target | "
            "urlwatch 2.29 CPU |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    if not summary:
        rows = []
    for s, v in summary.items():
        cpu_ok = "met" if v["cpu"] <= TARGETS[s] else "MISSED"
        rss_ok = "met" if v["maxrss_mib"] <= TARGET_RSS_MIB else "MISSED"
        flag = "" if v["valid"] else " (INVALID)"
        rows.append(f"| {labels[s]}{flag} | {v['wall']:.3f} | {v['cpu']:.3f} ({v['user']:.2f}+{v['sys']:.2f}) | "
                    f"{v['cpu_min']:.3f}–{v['cpu_max']:.3f} | {v['maxrss_mib']:.1f} | {v['connections']:.0f} | "
                    f"≤ {TARGETS[s]} s: {cpu_ok} | "
                    f"≤ {TARGET_RSS_MIB:.0f}: {rss_ok} | {URLWATCH[s]} |")
    if imports:
        b, i = imports["bare"], imports["imports"]
        rows += ["" if rows else "", "| start-up | wall s | CPU s | peak RSS MiB |", "|---|---:|---:|---:|",
                 f"| `python -c pass` | {b['wall']:.3f} | {b['cpu']:.3f} | {b['maxrss_mib']:.1f} |",
                 f"| `python -c \"{IMPORTS}\"` | {i['wall']:.3f} | {i['cpu']:.3f} | {i['maxrss_mib']:.1f} |",
                 f"| imports alone (difference) | {i['wall'] - b['wall']:.3f} | {i['cpu'] - b['cpu']:.3f} | "
                 f"{i['maxrss_mib'] - b['maxrss_mib']:.1f} |"]
        f = imports.get("imports_frozen")
        if f:
            rows.append(f"| the same imports, then `gc.freeze()` (no final collection at exit) | {f['wall']:.3f} | "
                        f"{f['cpu']:.3f} | {f['maxrss_mib']:.1f} |")
        if imports.get("by_package"):
            rows += ["", "Import time by package (`-X importtime`, ms in the package's own modules, one run): " + ", ".join(
                f"{name} {ms:.0f}" for name, ms in imports["by_package"][:10])]
    return "\n".join(rows)


def git_head() -> str | None:
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "monitor", "watchers", "notifiers"],
                               capture_output=True, text=True)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if head.returncode == 0 else None
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark one `monitor check` over many watches on a local server.")
    parser.add_argument("--sources", type=int, default=1000, help="number of watches: half feeds, half pages (1000)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of the three cycles; the median is reported (3)")
    parser.add_argument("--profile", action="store_true", help="also profile each scenario (one more repetition per profiler)")
    parser.add_argument("--profile-only", action="store_true", help="profile, without the timed repetitions")
    parser.add_argument("--phases", type=int, default=0, metavar="N",
                        help="also run N repetitions through bench/phases.py: CPU time by phase, no profiler")
    parser.add_argument("--only-phases", action="store_true", help="with --phases: skip the timed repetitions")
    parser.add_argument("--gzip", action="store_true", help="the server sends gzip bodies (as most real sites do)")
    parser.add_argument("--per-host", type=int, default=None, help="set http.per_host in the monitor's config "
                        "(default: the monitor's own default; every source here is on one host)")
    parser.add_argument("--no-imports", action="store_true", help="skip the import-overhead measurement")
    parser.add_argument("--keep", action="store_true", help="keep each repetition's state database and config")
    parser.add_argument("--python", default=sys.executable, help="interpreter with the monitor installed (this one)")
    parser.add_argument("--src", type=Path, default=None, help="run the monitor's code from this copy of the "
                        "repository (put first on PYTHONPATH): to measure a change to the core in a scratch copy")
    parser.add_argument("--compare", type=Path, default=None, metavar="SRC",
                        help="also run the monitor from this scratch copy, repetitions interleaved, and compare")
    parser.add_argument("--compare-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the compare variant only (repeatable; alone, it compares "
                        "the same code with and without it)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the measured processes (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="results directory (default bench/results/<timestamp>)")
    args = parser.parse_args(argv)
    args.python = os.path.abspath(args.python)  # the launcher changes directory before it spawns

    out_dir = args.out or BENCH / "results" / datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"results in {out_dir}")
    variants = {"main": child_env(variant_env(args.src, args.env))}
    if args.compare or args.compare_env:
        variants["compare"] = child_env(variant_env(args.compare or args.src, args.env + args.compare_env))
    machine = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
               "sources": args.sources, "repeat": args.repeat, "gzip": args.gzip, "per_host": args.per_host,
               "src": str(args.src) if args.src else None, "compare": str(args.compare) if args.compare else None,
               "env": args.env, "compare_env": args.compare_env, "commit": git_head()}
    launcher = Launcher(args.python)
    server = Server(args.python, args.sources, args.gzip, out_dir / "server.log")
    imports: dict[str, dict] = {}
    cycles: list[Cycle] = []
    reports: dict[str, list[str]] = {}
    breakdown: dict[str, dict[str, dict[str, float]]] = {}
    try:
        if not (args.no_imports or args.profile_only or args.only_phases):
            for name, env in variants.items():
                imports[name] = import_overhead(args, launcher, out_dir, env, name)
        if not (args.profile_only or args.only_phases):
            feeds, pages = content.split(args.sources)
            print(f"{args.sources} watches ({feeds} feeds, {pages} pages) on {server.base_url}; "
                  f"{args.repeat} repetitions" + (" of each variant, interleaved" if "compare" in variants else ""))
            for rep in range(1, args.repeat + 1):
                for name, env in variants.items():
                    cycles += run_repetition(rep, args, launcher, server, out_dir, env, variant=name)
        if args.phases:
            for name, env in variants.items():
                breakdown[name] = phases(args, launcher, server, out_dir, env, name, args.phases)
        if args.profile or args.profile_only:
            reports = profile(args, launcher, server, out_dir, variants["main"])
    finally:
        server.stop()
        launcher.close()

    summaries = {name: summarize([c for c in cycles if c.variant == name]) for name in variants}
    text = table(summaries["main"], imports.get("main"))
    if "compare" in variants and (cycles or imports):
        text += (f"\n\n### compare: {args.compare or args.src} {' '.join(args.compare_env)}\n\n" + table(summaries["compare"], imports.get("compare"))
                 + ("\n\n" + comparison(summaries["main"], summaries["compare"], "main", "compare") if cycles else ""))
    for name, by_scenario in breakdown.items():
        text += f"\n\n### CPU time by phase ({name}; median of {args.phases}; bench/phases.py)\n\n" + phase_table(by_scenario)
    (out_dir / "results.json").write_text(json.dumps({
        "machine": machine, "summary": summaries, "imports": imports, "profiles": reports, "phases": breakdown,
        "cycles": [{**asdict(c), "cpu": c.measure.cpu} for c in cycles]}, indent=2), encoding="utf-8")
    (out_dir / "summary.md").write_text(text + "\n", encoding="utf-8")
    if cycles or breakdown or imports:
        print()
        print(text)
    for scenario, files in reports.items():
        print(f"profile {scenario}: " + ", ".join(files))
    return 0 if all(c.valid for c in cycles) else 1


if __name__ == "__main__":
    sys.exit(main())
