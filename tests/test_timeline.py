"""Timeline plots are readable where students see them: JupyterLab shows the
figure at 100 dpi (matplotlib's default, kept by the inline backend), one
figure pixel per screen pixel at the default zoom."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from support.timeline import Timeline, plot_timelines

DPI = 100
MIN_LABEL_PX = 12  # JupyterLab's own text is 13-14 px


def _timeline(rows: int, gap: float = 0.2) -> Timeline:
    tl = Timeline(clock=lambda: 0.0)
    for i in range(rows):
        tl.add(f"/page/{i}", "connect", i * gap, i * gap + 0.01)
        tl.add(f"/page/{i}", "receive", i * gap + 0.01, (i + 1) * gap)
    return tl


@pytest.mark.parametrize("rows", [5, 20, 40])
def test_row_labels_are_readable_and_do_not_overlap(rows):
    fig = plot_timelines({"secuencial": _timeline(rows), "hilos": _timeline(rows, 0.01),
                          "callbacks": _timeline(rows, 0.02)}, title="t")
    fig.set_dpi(DPI)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    try:
        for ax in fig.axes:
            labels = [t for t in ax.get_yticklabels() if t.get_text()]
            assert len(labels) == rows
            for label in labels:
                assert label.get_fontsize() * DPI / 72 >= MIN_LABEL_PX, label.get_fontsize()
            boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.y0)
            for lower, upper in zip(boxes, boxes[1:]):
                assert lower.y1 <= upper.y0 + 0.5, f"labels overlap with {rows} rows"
            assert ax.title.get_fontsize() * DPI / 72 >= MIN_LABEL_PX
        assert fig.get_figwidth() * DPI <= 1000, "wider than a notebook's output area: shown scaled down"
    finally:
        plt.close(fig)
