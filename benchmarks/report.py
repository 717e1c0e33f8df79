"""Charts (matplotlib, PNG) and the Markdown summary of a run_all.py result."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import machine

CHARTS = ("e2e-throughput.png", "e2e-latency.png", "e2e-scaling.png")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _offered(point: dict[str, Any]) -> float:
    """The x of a point: its offered rate, or what the API took when unpaced."""
    return float(point["offered_per_s"] or point["accepted_per_s"])


def _curve(results: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted([*results["rates"], *results.get("at_target", []), results["saturation"]], key=_offered)


def charts(results: dict[str, Any], out: Path) -> list[Path]:
    """Write the three charts; their paths."""
    plt = _pyplot()
    curve = _curve(results)
    x = [_offered(p) for p in curve]
    paths = []

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(x, [p["delivered_per_s"] for p in curve], "o-", label="postwave delivered/s")
    ax.plot(x, [p["accepted_per_s"] for p in curve], "s--", label="postwave accepted/s")
    ax.plot(x, x, ":", color="grey", label="offered")
    ax.axhline(results["postfix"]["delivered_per_s"], color="tab:red", label="Postfix + OpenDKIM delivered/s")
    ax.set(xlabel="offered messages/s (rightmost: unpaced)", ylabel="messages/s",
           title="Throughput vs offered load (DKIM rsa-sha256, ~20 KB)")
    ax.legend()
    ax.grid(alpha=0.3)
    paths.append(_save(plt, fig, out / CHARTS[0]))

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), sharex=True)
    for axis, key, title in ((left, "acceptance_ms", "acceptance latency"),
                             (right, "accept_to_250_ms", "acceptance to 250")):
        for q, style in (("p50", "o-"), ("p95", "s-"), ("p99", "^-")):
            axis.plot(x, [p[key][q] for p in curve], style, label=q)
        axis.set(xlabel="offered messages/s", ylabel="ms", title=title, yscale="log")
        axis.axhline(10 if key == "acceptance_ms" else 200, color="grey", linestyle=":", label="target p95")
        axis.legend()
        axis.grid(alpha=0.3)
    paths.append(_save(plt, fig, out / CHARTS[1]))

    scaling = results["scaling"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.5))
    workers = scaling["workers"]
    axes[0].bar([str(p["workers"]) for p in workers], [p["delivered_per_s"] for p in workers])
    axes[0].set(xlabel="worker processes", ylabel="delivered messages/s", title="Worker processes")
    for axis, key, label in ((axes[1], "batch", "recipients per request"), (axes[2], "tenants", "concurrent tenants")):
        points = sorted(scaling[key], key=lambda p: p[key])
        axis.plot([p[key] for p in points], [p["cpu_seconds_per_1000"] for p in points], "o-", label="CPU s / 1000 msgs")
        axis.set(xlabel=label, ylabel="CPU seconds per 1,000 messages", xscale="log", title=f"Cost vs {label}")
        twin = axis.twinx()
        twin.plot([p[key] for p in points], [p["delivered_per_s"] for p in points], "s--", color="tab:green",
                  label="delivered/s")
        twin.set_ylabel("delivered/s")
        axis.set_ylim(bottom=0)
        twin.set_ylim(bottom=0)
        axis.legend(loc="upper left")
        twin.legend(loc="upper right")
        axis.grid(alpha=0.3)
    paths.append(_save(plt, fig, out / CHARTS[2]))
    return paths


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _ms(v: float | None) -> str:
    return "-" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.1f}")


def _growth(v: float | None) -> str:
    return "-" if v is None else f"{v:+,.1f}/s"


def _row(name: str, p: dict[str, Any]) -> str:
    a, d = p["acceptance_ms"], p["accept_to_250_ms"]
    return (f"| {name} | {p['accepted_per_s']:,.0f} | {p['delivered_per_s']:,.0f} | {p['delivered_per_hour'] / 1e6:.2f}M "
            f"| {_ms(a['p50'])} / {_ms(a['p95'])} / {_ms(a['p99'])} | {_ms(d['p50'])} / {_ms(d['p95'])} / {_ms(d['p99'])} "
            f"| {p['cpu_seconds_per_1000']:.2f} | {p['peak_pss_mb']:,.0f} |")


def _commit(commit: str) -> str:
    """A run's commit, short: "4e80902ab1", "4e80902ab1+uncommitted", "4e80902ab1 (exported)" or "?"."""
    if not commit:
        return "?"
    sha, rest = re.match(r"([0-9a-f]*)(.*)", commit).groups()
    return sha[:10] + rest


def summary(results: dict[str, Any]) -> str:
    """The Markdown tables of a run."""
    m = results["meta"]
    lines = [
        f"Run `{m['mode']}` of {m['date']}, commit {_commit(m['commit'])}, {m['cpus']} CPUs, "
        f"load average {m['load_average_start'][0]:.1f} at start and {m.get('load_average_end', [0])[0]:.1f} at end "
        f"({m['note']}).",
        *([machine.line(m["machine"])] if "machine" in m else []),
        *([machine.during(m)] if machine.during(m) else []),
        "",
        "| run | accepted/s | delivered/s | per hour | acceptance p50 / p95 / p99 ms | acceptance-to-250 p50 / p95 / p99 ms "
        "| CPU s / 1,000 msgs | peak memory MB (PSS) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        _row(f"postwave saturation, {results['saturation']['messages']} msgs, 2 workers", results["saturation"]),
    ]
    for p in results["rates"]:
        verdict = "" if "held" not in p else f"; {'held' if p['held'] else 'not held'}"
        lines.append(_row(f"postwave offered {p['offered_per_s']:,.0f}/s ({p['fraction_of_saturation']:.0%}{verdict})", p))
    for p in results.get("at_target", []):
        lines.append(_row(f"postwave offered {p['offered_per_s']:,.0f}/s ({p['fraction_of_target']:.0%} of the target), "
                          f"{p['messages']} msgs ({'held' if p['held'] else 'not held'}: backlog "
                          f"{_growth(p['backlog_growth_per_s'])})", p))
    one = results["scaling"]["workers"][0]
    lines.append(_row(f"postwave saturation, 1 worker, {one['messages']} msgs", one))
    for p in results["scaling"]["batch"][1:]:
        lines.append(_row(f"postwave batch {p['batch']} recipients/request", p))
    for p in results["scaling"]["tenants"][1:]:
        lines.append(_row(f"postwave {p['tenants']} tenants at once", p))
    for p in results.get("distributed", []):
        what = "saturation" if p["offered_per_s"] is None else f"offered {p['offered_per_s']:,.0f}/s (50%)"
        lines.append(_row(f"distributed (CQL + NATS), {what}, 2 workers", p))
    pf = results["postfix"]
    lines.append(_row(f"Postfix + OpenDKIM, {pf['messages']} msgs, {pf['concurrency']} connections", pf))
    r = results["ratios"]
    lines += [
        "",
        f"postwave / Postfix at saturation: throughput {r['delivered_per_s']:.2f}x, CPU per message "
        f"{r['cpu_seconds_per_1000']:.2f}x, memory {r['peak_pss_mb']:.2f}x.",
        "",
        "| target | value | met |",
        "|---|---:|:---:|",
        *(f"| {t['what']} {t['target']} | {t['value']:,.1f} | {'yes' if t['met'] else 'no'} |" for t in results["targets"]),
        *(["", budget(results["budget"])] if results.get("budget") else []),
    ]
    return "\n".join(lines) + "\n"


def budget(b: dict[str, Any]) -> str:
    """The sentence on what the throughput target asks of the machine (run_all.budget)."""
    return (f"What {b['rate_per_s']:,.0f} msgs/s asks of this machine at the lowest CPU per message of the run's "
            f"one-recipient points ({b['basis']}), so the least it asks: the platform {b['platform_cores']:.2f} "
            f"cores, of which the RSA signatures take about {b['rsa_cores']:.2f}, and the load client and smtp-sink "
            f"{b['load_cores']:.2f} more; "
            f"{b['cores_needed']:.2f} cores in all, {b['cores_needed'] / b['cores']:.2f}x the {b['cores']} it has.")
