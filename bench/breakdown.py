"""Where the cost goes: start-up and imports, profiles, CPU and wall time by phase, the probes.

Each function runs extra, separately reported processes beside the timed cycles of bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
from pathlib import Path
from typing import Any

from cycles import MonitorTool, run_repetition
from harness import BENCH, Launcher, Server
from report import SCENARIOS

IMPORTS = "import monitor.cli, monitor.engine, watchers, notifiers, monitor.app"


# ------------------------------------------------------------------ import overhead


def import_overhead(
    args: argparse.Namespace,
    launcher: Launcher,
    out_dir: Path,
    env: dict[str, str],
    variant: str = "main",
    runs: int = 7,
) -> dict:
    """Interpreter start alone, and start + the monitor's imports: median of `runs` each."""
    result: dict[str, Any] = {}
    for name, code in (
        ("bare", "pass"),
        ("imports", IMPORTS),
        ("imports_frozen", IMPORTS + "; import gc; gc.freeze()"),
    ):
        # one untimed run first, so cached bytecode exists as it does for an installed command
        subprocess.run([args.python, "-c", code], env=env, cwd=out_dir, check=True)
        # cwd: not the repository, whose directory `-c` would put first on sys.path (ahead of --src)
        ms = [
            launcher.run(
                [args.python, "-c", code],
                env=env,
                cwd=out_dir,
                stdout=out_dir / "import.out",
                stderr=out_dir / "import.err",
            )
            for _ in range(runs)
        ]
        result[name] = {
            "wall": statistics.median(m.wall for m in ms),
            "cpu": statistics.median(m.cpu for m in ms),
            "maxrss_mib": statistics.median(m.maxrss_mib for m in ms),
        }
    proc = subprocess.run(
        [args.python, "-X", "importtime", "-c", IMPORTS], env=env, cwd=out_dir, capture_output=True, text=True
    )
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


def importtime_medians(texts: list[str], top: int = 12) -> dict[str, list[tuple[str, float]]]:
    """Median over several `-X importtime` runs: ms by package (own modules), and the costliest modules
    with what they import (cumulative), so that one run's noise does not pick the suspects."""
    by_package: dict[str, list[float]] = {}
    cumulative: dict[str, list[float]] = {}
    for text in texts:
        for name, ms in importtime_summary(text, top=1000):
            by_package.setdefault(name, []).append(ms)
        for m in re.finditer(r"import time:\s+\d+ \|\s+(\d+) \| *(\S+)", text):
            cumulative.setdefault(m.group(2), []).append(int(m.group(1)) / 1000)
    med = {k: statistics.median(v + [0.0] * (len(texts) - len(v))) for k, v in by_package.items()}
    cum = {k: statistics.median(v) for k, v in cumulative.items()}
    return {
        "by_package": sorted(med.items(), key=lambda kv: -kv[1])[:top],
        "modules_cumulative": sorted(cum.items(), key=lambda kv: -kv[1])[: top * 3],
    }


# ------------------------------------------------------------------ profiles and phases


def profile(
    args: argparse.Namespace, launcher: Launcher, server: Server, out_dir: Path, env: dict[str, str]
) -> dict[str, list[str]]:
    """One more repetition under cProfile (and one under pyinstrument if installed); reports per scenario."""
    prof_dir = out_dir / "profile"
    prof_dir.mkdir(exist_ok=True)
    reports: dict[str, list[str]] = {}
    wrap: dict[str, tuple[list[str], dict[str, str]]] = {
        s: (["-m", "cProfile", "-o", str(prof_dir / f"{s}.prof"), "-m", "monitor"], {}) for s in SCENARIOS
    }
    print("profiling with cProfile (figures inflated by the profiler)")
    run_repetition(MonitorTool(args, env, wrap=wrap), 0, launcher, server, prof_dir, label="cprofile-")
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
    has_pyinstrument = (
        subprocess.run([args.python, "-c", "import pyinstrument"], env=env, capture_output=True).returncode == 0
    )
    if has_pyinstrument:
        print("profiling with pyinstrument")
        wrap = {
            s: (
                [
                    "-m",
                    "pyinstrument",
                    "--renderer",
                    "text",
                    "--no-color",
                    "--show",
                    "*/monitor/*",
                    "-o",
                    str(prof_dir / f"{s}.pyinstrument.txt"),
                    "-m",
                    "monitor",
                ],
                {},
            )
            for s in SCENARIOS
        }
        run_repetition(MonitorTool(args, env, wrap=wrap), 0, launcher, server, prof_dir, label="pyinstrument-")
        for s in SCENARIOS:
            reports.setdefault(s, []).append(str(prof_dir / f"{s}.pyinstrument.txt"))
    else:
        print("pyinstrument is not installed (pip install pyinstrument): cProfile only")
    return reports


def phases(
    args: argparse.Namespace,
    launcher: Launcher,
    server: Server,
    out_dir: Path,
    env: dict[str, str],
    variant: str,
    runs: int,
    per_host: int | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """CPU and wall time by phase (bench/phases.py), median of `runs` extra repetitions:
    {"cpu": scenario -> phase -> seconds, "wall": the same}."""
    found: dict[str, dict[str, list[dict[str, float]]]] = {
        "cpu": {s: [] for s in SCENARIOS},
        "wall": {s: [] for s in SCENARIOS},
    }
    for rep in range(1, runs + 1):
        files = {s: out_dir / f"phases-{variant}-rep{rep}-{s}.json" for s in SCENARIOS}
        wrap = {s: ([str(BENCH / "phases.py")], {"BENCH_PHASES_OUT": str(files[s])}) for s in SCENARIOS}
        run_repetition(
            MonitorTool(args, env, variant=variant, wrap=wrap, per_host=per_host),
            rep,
            launcher,
            server,
            out_dir,
            label=f"phases-{variant}-",
        )
        for s, path in files.items():
            if path.exists():
                data = json.loads(path.read_text())
                found["cpu"][s].append(data["phases"])
                found["wall"][s].append(data.get("wall_phases", {}))
    out: dict[str, dict[str, dict[str, float]]] = {"cpu": {}, "wall": {}}
    for kind, by_scenario in found.items():
        for s, runs_found in by_scenario.items():
            names = dict.fromkeys(name for r in runs_found for name in r)
            out[kind][s] = {name: statistics.median(r.get(name, 0.0) for r in runs_found) for name in names}
    return out


def probe(args: argparse.Namespace, env: dict[str, str], out_dir: Path, *probe_args: str) -> dict | None:
    """bench/probes.py in a child (the monitor's interpreter and environment); its JSON, or None if it failed."""
    name = probe_args[0]
    proc = subprocess.run(
        [args.python, str(BENCH / "probes.py"), *probe_args], env=env, cwd=out_dir, capture_output=True, text=True
    )
    (out_dir / f"probe-{name}.json").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        print(f"probe {name} failed: {proc.stderr.strip()[-500:]}")
        return None
    return json.loads(proc.stdout)


def http_experiments(
    args: argparse.Namespace, launcher: Launcher, server: Server, out_dir: Path, env: dict[str, str]
) -> dict:
    """Each transport × event loop through bench/probes.py http, interleaved `--experiment-repeat` times;
    and the CPU each adds to start-up (median of 7 `python -c "import ..."` runs each)."""
    combos = [(t, lp) for t in ("httpx", "aiohttp") for lp in ("asyncio", "uvloop")] + [("none", "asyncio")]
    found: dict[str, list[dict]] = {f"{t}+{lp}": [] for t, lp in combos}
    for _ in range(args.experiment_repeat):
        for t, lp in combos:
            result = probe(
                args,
                env,
                out_dir,
                "http",
                "--base-url",
                server.base_url,
                "--sources",
                str(server.sources),
                "--transport",
                t,
                "--loop",
                lp,
            )
            if result:
                found[f"{t}+{lp}"].append(result)
    out: dict = {"combos": {}, "imports": {}}
    for name, runs in found.items():
        if runs:
            out["combos"][name] = {
                key: statistics.median(r[key] for r in runs) for key in ("ms_per_200", "ms_per_304")
            } | {"runs": len(runs)}
    codes = {
        "`import monitor.http`": "import monitor.http",
        "`import monitor.http, httpx_aiohttp`": "import monitor.http, httpx_aiohttp",
        "`import monitor.http, uvloop`": "import monitor.http, uvloop",
    }
    for name, code in codes.items():
        subprocess.run([args.python, "-c", code], env=env, cwd=out_dir, check=False)  # bytecode cached first
        ms = [
            launcher.run(
                [args.python, "-c", code],
                env=env,
                cwd=out_dir,
                stdout=out_dir / "import.out",
                stderr=out_dir / "import.err",
            )
            for _ in range(7)
        ]
        out["imports"][name] = {
            "cpu": statistics.median(m.cpu for m in ms),
            "maxrss_mib": statistics.median(m.maxrss_mib for m in ms),
        }
    return out
