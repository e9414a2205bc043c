"""The benchmark's tables: medians of measured cycles against the targets of issue 16, in Markdown.

Every function here takes plain data (the `summary` dicts `summarize` builds, the probes' JSON) and
returns Markdown text, so `run.py` can print it and write it to `summary.md` alike.
"""

from __future__ import annotations

import statistics
from typing import Any

SCENARIOS = ("first", "unchanged", "changed")
LABELS = {
    "first": "first cycle (all new, baseline)",
    "unchanged": "nothing changed (all 304)",
    "changed": "10% changed (one new item each)",
}
TARGETS = {"first": 2.0, "unchanged": 0.45, "changed": 0.9}  # CPU s of one cycle over 1,000 sources, 2 cores
TARGET_RSS_MIB = 80.0
SCALE_TARGET_RSS_MIB = 150.0  # 10,000 sources
LINEAR_SLACK = 1.10  # per-source cost at 10,000 may exceed that at 1,000 by this factor (noise) and count as linear
DIFF_TARGET_MS = 50.0


def summarize(cycles: list[Any]) -> dict[str, dict]:
    """scenario -> medians (and CPU range) of the given cycles' measures."""
    out = {}
    for s in SCENARIOS:
        mine = [c for c in cycles if c.scenario == s]
        if not mine:
            continue
        ms = [c.measure for c in mine]
        out[s] = {
            "runs": len(ms),
            "wall": statistics.median(m.wall for m in ms),
            "cpu": statistics.median(m.cpu for m in ms),
            "user": statistics.median(m.user for m in ms),
            "sys": statistics.median(m.sys for m in ms),
            "maxrss_mib": statistics.median(m.maxrss_mib for m in ms),
            "cpu_min": min(m.cpu for m in ms),
            "cpu_max": max(m.cpu for m in ms),
            "runqueue": statistics.median(m.runqueue for m in ms),
            "idle": statistics.median(m.idle for m in ms),
            "connections": statistics.median(c.server.get("connections", 0) for c in mine),
            "state_mb": statistics.median(c.db_bytes for c in mine) / 1e6,
            "valid": all(c.valid for c in mine),
        }
    return out


def _met(value: float, target: float) -> str:
    return "met" if value <= target else "**missed**"


def _flag(v: dict) -> str:
    return "" if v["valid"] else " (INVALID)"


def monitor_table(summary: dict[str, dict], sources: int = 1000) -> str:
    """One tool's cycles against the targets (the monitor alone, e.g. a variant of it). The CPU targets
    are for 1,000 sources; at any other size only the memory target of 10,000 sources is shown."""
    rows = [
        "| cycle | wall s | CPU s (user+sys) | CPU range | waiting for a CPU s | idle s | peak RSS MiB | "
        "TCP connections | state MB | CPU target | RSS target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rss_target = TARGET_RSS_MIB if sources <= 1000 else SCALE_TARGET_RSS_MIB
    for s, v in summary.items():
        cpu_target = f"≤ {TARGETS[s]} s: {_met(v['cpu'], TARGETS[s])}" if sources == 1000 else "–"
        rows.append(
            f"| {LABELS[s]}{_flag(v)} | {v['wall']:.3f} | {v['cpu']:.3f} ({v['user']:.2f}+{v['sys']:.2f}) | "
            f"{v['cpu_min']:.3f}–{v['cpu_max']:.3f} | {v['runqueue']:.2f} | {v['idle']:.2f} | "
            f"{v['maxrss_mib']:.1f} | {v['connections']:.0f} | {v['state_mb']:.1f} | {cpu_target} | "
            f"≤ {rss_target:.0f}: {_met(v['maxrss_mib'], rss_target)} |"
        )
    return "\n".join(rows)


def side_by_side(monitor: dict[str, dict], urlwatch: dict[str, dict], sources: int = 1000) -> str:
    """The monitor and urlwatch, same sources, same run: CPU, peak RSS, the ratio, the targets (which are
    for 1,000 sources; at another size only the 10,000-source memory target is shown)."""
    rows = [
        "| cycle | monitor CPU s | urlwatch CPU s | urlwatch ÷ monitor | monitor peak MiB | urlwatch peak MiB | "
        "monitor wall s | urlwatch wall s | target (monitor CPU, RSS) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in SCENARIOS:
        m, u = monitor.get(s), urlwatch.get(s)
        if not m or not u:
            continue
        rows.append(
            f"| {LABELS[s]}{_flag(m)}{' (urlwatch INVALID)' if not u['valid'] else ''} | "
            f"{m['cpu']:.2f} ({m['cpu_min']:.2f}–{m['cpu_max']:.2f}) | "
            f"{u['cpu']:.2f} ({u['cpu_min']:.2f}–{u['cpu_max']:.2f}) | "
            f"{u['cpu'] / m['cpu']:.1f}× | {m['maxrss_mib']:.1f} | {u['maxrss_mib']:.1f} | "
            f"{m['wall']:.2f} | {u['wall']:.2f} | "
            + (f"≤ {TARGETS[s]} s: {_met(m['cpu'], TARGETS[s])}; " if sources == 1000 else "")
            + (
                f"≤ {TARGET_RSS_MIB:.0f} MiB: {_met(m['maxrss_mib'], TARGET_RSS_MIB)} |"
                if sources <= 1000
                else f"≤ {SCALE_TARGET_RSS_MIB:.0f} MiB: {_met(m['maxrss_mib'], SCALE_TARGET_RSS_MIB)} |"
            )
        )
    return "\n".join(rows)


def scale_table(
    small: dict[str, dict],
    big: dict[str, dict],
    n_small: int,
    n_big: int,
    startup_cpu: float,
    config_memory: dict | None,
) -> str:
    """The large run against its memory target, and its per-source cost against the small run's."""
    rows = [
        f"| cycle ({n_big:,} sources) | wall s | CPU s | peak RSS MiB | state MB | CPU per source, {n_small:,} | "
        f"CPU per source, {n_big:,} | ratio | RSS target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in SCENARIOS:
        b = big.get(s)
        if not b:
            continue
        a = small.get(s)
        per_big = (b["cpu"] - startup_cpu) / n_big * 1000
        if a:
            per_small = (a["cpu"] - startup_cpu) / n_small * 1000
            ratio = per_big / per_small
            linear = f"{ratio:.2f} ({'linear' if ratio <= LINEAR_SLACK else '**worse than linear**'})"
            small_text = f"{per_small:.3f} ms"
        else:
            linear, small_text = "–", "–"
        rows.append(
            f"| {LABELS[s]}{_flag(b)} | {b['wall']:.2f} | {b['cpu']:.2f} | {b['maxrss_mib']:.1f} | "
            f"{b['state_mb']:.1f} | {small_text} | {per_big:.3f} ms | {linear} | "
            f"≤ {SCALE_TARGET_RSS_MIB:.0f}: {_met(b['maxrss_mib'], SCALE_TARGET_RSS_MIB)} |"
        )
    text = "\n".join(rows)
    text += (
        f"\n\nCPU per source = (cycle CPU − {startup_cpu:.2f} s of interpreter start and imports) ÷ sources; "
        f"the ratio is {n_big:,} against {n_small:,} (≤ {LINEAR_SLACK:.2f} counts as linear, for noise)."
    )
    if config_memory:
        text += (
            f" Holding the loaded config of {config_memory['watches']:,} watches: "
            f"{config_memory['config_mib']:.1f} MiB ({config_memory['kib_per_watch']:.1f} KiB per watch; "
            f"`monitor.config.load` {config_memory['load_cpu_s']:.2f} s CPU)."
        )
    return text


def diff_table(probe: dict) -> str:
    n = probe["entries"]
    rows = [
        f"| diffing a {n:,}-entry docket (one new entry) | CPU ms, median | range | wall ms, median | runs |",
        "|---|---:|---:|---:|---:|",
    ]
    names = {
        "diff": f"`monitor.diff.diff` (target ≤ {DIFF_TARGET_MS:.0f} ms: "
        f"{_met(probe['diff']['cpu_ms_median'], DIFF_TARGET_MS)})",
        "one_side_content_hash": "… of which: content hash of one side (computed for both today)",
        "diff_with_stored_hash": "experiment: the stored `content_hash` handed to `diff` (same code)",
    }
    for key, label in names.items():
        v = probe.get(key)
        if v:
            rows.append(
                f"| {label} | {v['cpu_ms_median']:.1f} | {v['cpu_ms_min']:.1f}–{v['cpu_ms_max']:.1f} | "
                f"{v['wall_ms_median']:.1f} | {v['runs']} |"
            )
    return "\n".join(rows)


def startup_table(imports: dict, code: str) -> str:
    b, i = imports["bare"], imports["imports"]
    rows = [
        "| start-up | wall s | CPU s | peak RSS MiB |",
        "|---|---:|---:|---:|",
        f"| `python -c pass` | {b['wall']:.3f} | {b['cpu']:.3f} | {b['maxrss_mib']:.1f} |",
        f'| `python -c "{code}"` | {i["wall"]:.3f} | {i["cpu"]:.3f} | {i["maxrss_mib"]:.1f} |',
        f"| imports alone (difference) | {i['wall'] - b['wall']:.3f} | {i['cpu'] - b['cpu']:.3f} | "
        f"{i['maxrss_mib'] - b['maxrss_mib']:.1f} |",
    ]
    f = imports.get("imports_frozen")
    if f:
        rows.append(
            f"| the same imports, then `gc.freeze()` (no final collection at exit) | {f['wall']:.3f} | "
            f"{f['cpu']:.3f} | {f['maxrss_mib']:.1f} |"
        )
    if imports.get("by_package"):
        rows += [
            "",
            "Import time by package (`-X importtime`, ms in the package's own modules, one run): "
            + ", ".join(f"{name} {ms:.0f}" for name, ms in imports["by_package"][:10]),
        ]
    return "\n".join(rows)


def comparison(a: dict[str, dict], b: dict[str, dict], name_a: str, name_b: str) -> str:
    rows = [
        f"| scenario | CPU s {name_a} | CPU s {name_b} | change | peak RSS MiB {name_a} | {name_b} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in SCENARIOS:
        if s in a and s in b:
            x, y = a[s]["cpu"], b[s]["cpu"]
            rows.append(
                f"| {s} | {x:.3f} | {y:.3f} | {y - x:+.3f} ({(y - x) / x:+.0%}) | "
                f"{a[s]['maxrss_mib']:.1f} | {b[s]['maxrss_mib']:.1f} |"
            )
    return "\n".join(rows)


def phase_table(cpu: dict[str, dict[str, float]], wall: dict[str, dict[str, float]]) -> str:
    """Seconds by phase, `CPU / wall` per scenario (bench/phases.py): a phase whose wall time exceeds its
    CPU time waited (for the disk, or for a CPU another process had)."""
    names = list(dict.fromkeys(name for by in (cpu, wall) for phases_ in by.values() for name in phases_))
    rows = ["| s by phase: CPU / wall | " + " | ".join(cpu) + " |", "|---|" + "---:|" * len(cpu)]
    for name in names:
        rows.append(
            f"| {name} | "
            + " | ".join(f"{cpu[s].get(name, 0.0):.3f} / {wall.get(s, {}).get(name, 0.0):.3f}" for s in cpu)
            + " |"
        )

    def total(values: dict[str, float]) -> float:
        return sum(v for k, v in values.items() if not k.startswith("("))  # "(of which ...)" rows are inside others

    rows.append(
        "| **total** | " + " | ".join(f"**{total(cpu[s]):.3f} / {total(wall.get(s, {})):.3f}**" for s in cpu) + " |"
    )
    return "\n".join(rows)


def http_table(http: dict) -> str:
    """The request path alone, per transport and event loop; and what each costs at start-up."""
    rows = [
        "| transport + event loop | CPU ms per 304 | CPU ms per 200 (17–40 KB body) | runs |",
        "|---|---:|---:|---:|",
    ]
    for name, v in http["combos"].items():
        name = name.replace("none+asyncio", "no network: httpx.MockTransport (httpx's and the monitor's own cost)")
        rows.append(f"| {name} | {v['ms_per_304']:.3f} | {v['ms_per_200']:.3f} | {v['runs']} |")
    imports = http.get("imports", {})
    base = imports.get("`import monitor.http`")
    if base:
        rows += ["", "| start-up | CPU s | added CPU s | peak RSS MiB |", "|---|---:|---:|---:|"]
        for name, v in imports.items():
            rows.append(f"| {name} | {v['cpu']:.3f} | {v['cpu'] - base['cpu']:+.3f} | {v['maxrss_mib']:.1f} |")
    return "\n".join(rows)
