"""The latency-vs-corpus-size plot of a bench run (matplotlib, imported only when a plot is drawn)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_latency(rows: list[dict[str, Any]], target: Path) -> None:
    """Retrieval p50/p95 against corpus size (log-log), chipqa per Chroma mode and the baseline."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display
    import matplotlib.pyplot as plt

    series: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        for stat in ("p50", "p95"):
            series.setdefault(f"chipqa {r['mode']} {stat}", []).append((r["chunks"], r[f"retrieve_{stat}_ms"]))
            if r["mode"] == "embedded":
                series.setdefault(f"baseline {stat}", []).append((r["chunks"], r[f"baseline_retrieve_{stat}_ms"]))
    figure, axes = plt.subplots(figsize=(7.2, 4.4), dpi=100)
    try:
        for name, points in sorted(series.items()):
            xs, ys = zip(*sorted(points), strict=True)
            axes.plot(xs, ys, marker="o", linestyle="--" if name.endswith("p95") else "-", label=name)
        axes.axhline(100.0, color="#cc0000", linewidth=1, label="target p95 100 ms")
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("chunks")
        axes.set_ylabel("retrieval latency, ms")
        axes.set_title("retrieval latency vs corpus size")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
        figure.savefig(target, format="png", bbox_inches="tight")
    finally:
        plt.close(figure)
