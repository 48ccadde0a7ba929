"""Backtest figures as PNG: reliability diagram, ROC, precision-recall and capture curves.

Each figure pools every fold's test rows per model. `figures` writes the PNGs into a folder and
returns their bytes so the assets can also embed them in Dagster metadata.

The figures are drawn on whatever matplotlib backend the process uses and saved as PNG: the
Dagster code location pins the non-interactive Agg (`chicago_risk.definitions`), and a notebook
that imports these modules keeps drawing inline.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import cast

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
from sklearn.metrics import precision_recall_curve, roc_curve

from chicago_risk.models.base import COUNT, LABEL
from chicago_risk.models.metrics import ECE_BINS, reliability_table

CAPTURE_GRID = 100  # capture curve points: 1%, 2%, ... 100% of cells flagged per day
_DPI = 90


def figure_png(figure: plt.Figure) -> bytes:
    """The figure as PNG bytes; closes it (a Dagster step draws many)."""
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=_DPI)
    plt.close(figure)
    return buffer.getvalue()


def _per_model(predictions: pl.DataFrame):
    for model in predictions["model"].unique(maintain_order=True).to_list():
        part = predictions.filter(pl.col("model") == model)
        yield model, part[LABEL].cast(pl.Float64).to_numpy(), part["p"].to_numpy(), part


def reliability_png(predictions: pl.DataFrame) -> bytes:
    figure, axis = plt.subplots(figsize=(5.5, 5))
    top = float(predictions["p"].quantile(0.999) or 1.0)
    axis.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="perfect")
    for model, y, p, _ in _per_model(predictions):
        table = reliability_table(y, p, ECE_BINS)
        axis.plot(table["mean_p"], table["rate"], marker="o", markersize=3, label=model)
    axis.set(xlabel="forecast p_event_7d (bin mean)", ylabel="observed share with an incident",
             title=f"Reliability, {ECE_BINS} equal-mass bins, all folds")
    axis.legend(fontsize=8)
    return figure_png(figure)


def roc_png(predictions: pl.DataFrame) -> bytes:
    figure, axis = plt.subplots(figsize=(5.5, 5))
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    for model, y, p, _ in _per_model(predictions):
        fpr, tpr, _ = roc_curve(y, p)
        axis.plot(fpr, tpr, label=model)
    axis.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, all folds")
    axis.legend(fontsize=8)
    return figure_png(figure)


def pr_png(predictions: pl.DataFrame) -> bytes:
    figure, axis = plt.subplots(figsize=(5.5, 5))
    for model, y, p, _ in _per_model(predictions):
        precision, recall, _ = precision_recall_curve(y, p)
        axis.plot(recall, precision, label=model)
    base_rate = float(cast(float, predictions[LABEL].cast(pl.Float64).mean()))
    axis.axhline(base_rate, color="grey", linestyle="--", linewidth=1, label="base rate")
    axis.set(xlabel="recall", ylabel="precision", title="Precision-recall, all folds")
    axis.legend(fontsize=8)
    return figure_png(figure)


def capture_points(part: pl.DataFrame) -> np.ndarray:
    """Share of incidents captured when flagging the top 1%, 2%, ... 100% of cells each day."""
    ranked = part.with_columns(
        share=(pl.col("p").rank("ordinal", descending=True).over("day") / pl.len().over("day"))
    ).with_columns(step=(pl.col("share") * CAPTURE_GRID).ceil().cast(pl.Int32))
    per_step = ranked.group_by("step").agg(pl.col(COUNT).sum()).sort("step")
    counts = np.zeros(CAPTURE_GRID + 1)
    counts[per_step["step"].to_numpy()] = per_step[COUNT].to_numpy()
    total = counts.sum()
    return np.cumsum(counts)[1:] / total if total else np.zeros(CAPTURE_GRID)


def capture_png(predictions: pl.DataFrame) -> bytes:
    figure, axis = plt.subplots(figsize=(5.5, 5))
    shares = np.arange(1, CAPTURE_GRID + 1) / CAPTURE_GRID
    axis.plot(shares, shares, color="grey", linestyle="--", linewidth=1, label="random")
    for model, _, _, part in _per_model(predictions):
        axis.plot(shares, capture_points(part), label=model)
    for share in (0.01, 0.05):
        axis.axvline(share, color="lightgrey", linewidth=1)
    axis.set(xscale="log", xlim=(0.005, 1), xlabel="share of cells flagged per day (top by p)",
             ylabel="share of the next 7 days' incidents in them", title="Capture, all folds")
    axis.legend(fontsize=8)
    return figure_png(figure)


FIGURES = {"reliability": reliability_png, "roc": roc_png, "precision_recall": pr_png, "capture": capture_png}


def figures(predictions: pl.DataFrame, folder: Path) -> dict[str, Path]:
    """Write every figure as `<folder>/<name>.png`; returns the paths by name."""
    return {name: write_png(draw(predictions), folder / f"{name}.png") for name, draw in FIGURES.items()}


def write_png(png: bytes, path: Path) -> Path:
    """Write atomically: a reader of the reports folder never sees half a figure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".png.tmp")
    temporary.write_bytes(png)
    temporary.replace(path)
    return path


def markdown_image(path: Path, title: str) -> str:
    """The PNG inline, for Dagster's markdown metadata."""
    encoded = base64.b64encode(path.read_bytes()).decode()
    return f"![{title}](data:image/png;base64,{encoded})"
