"""The figure of notebook 09: throughput and p99 against the number of connections."""

from __future__ import annotations


def plot_scaling(table: dict[str, dict[int, "object"]]):
    """Requests/s and p99 (ms) against the number of connections, one line per
    design; ``table[design][conns]`` is a :class:`support.servers.loadgen.LoadResult`."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for design, row in table.items():
        conns = sorted(row)
        left.plot(conns, [row[c].rps for c in conns], marker="o", label=design)
        right.plot(conns, [row[c].p99_ms for c in conns], marker="o", label=design)
    for ax, title in ((left, "peticiones por segundo"), (right, "latencia p99 (ms)")):
        ax.set_xscale("log")
        ax.set_xlabel("conexiones concurrentes (C)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    right.set_yscale("log")
    left.legend()
    fig.tight_layout()
    return fig
