"""Pictures of an embedding space, for reading what a model learned (case study 001, follow-up 4).

``style_space_plot`` draws one UMAP projection twice, side by side: coloured by slot and coloured
by the hidden style (a demo world's truth) or, for real data, another label such as colour. A
compatibility space that works groups items by style *across* slots: the left panel should look
mixed and the right one clustered. Clusters by slot on the left mean the model learned "what kind
of item" instead of "what goes together"; clusters by colour on the right are colour dominance.

umap-learn and matplotlib are imported inside the function: they are slow to import and only the
plotting paths need them.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lookbook.errors import LookbookError

log = logging.getLogger(__name__)

__all__ = ["style_space_plot"]

#: Legend entries per panel; rarer labels are drawn in grey as "other".
MAX_LEGEND_LABELS = 12
_OTHER = "other"


def _exact_knn(
    x: npt.NDArray[np.float32], k: int, chunk: int = 1024
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Exact Euclidean ``k`` nearest neighbours (self first), by chunked matrix products.

    For a few thousand points this is well under a second, whereas UMAP's own approximate search
    (pynndescent) spends about 30 s compiling itself with numba in every new process; handing UMAP
    the neighbours keeps the whole plot far inside its time budget.
    """
    n = x.shape[0]
    sq = np.einsum("ij,ij->i", x, x)
    idx = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k), dtype=np.float32)
    for s in range(0, n, chunk):
        d = sq[s : s + chunk, None] + sq[None, :] - 2.0 * (x[s : s + chunk] @ x.T)
        np.maximum(d, 0.0, out=d)
        d[np.arange(d.shape[0]), np.arange(s, s + d.shape[0])] = -1.0  # self first, even among duplicates
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        part_d = np.take_along_axis(d, part, axis=1)
        order = np.argsort(part_d, axis=1, kind="stable")
        idx[s : s + chunk] = np.take_along_axis(part, order, axis=1)
        dist[s : s + chunk] = np.sqrt(np.maximum(np.take_along_axis(part_d, order, axis=1), 0.0))
    return idx, dist


def _labels(values: npt.ArrayLike, name: str, n: int) -> npt.NDArray[np.str_]:
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise LookbookError(f"{name}: expected {n} labels (one per vector), got shape {arr.shape}")
    return arr.astype(str)


def _draw_panel(
    ax: Any,
    xy: npt.NDArray[np.float32],
    labels: npt.NDArray[np.str_],
    title: str,
    order: npt.NDArray[np.int64],
) -> None:
    """One scatter of every point in a shuffled order (no label is painted over the others), with
    a legend of the most frequent labels; the rest are grey "other"."""
    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    names, counts = np.unique(labels, return_counts=True)
    by_count = names[np.argsort(-counts, kind="stable")]
    shown = by_count if names.size <= MAX_LEGEND_LABELS else by_count[: MAX_LEGEND_LABELS - 1]
    shown = np.sort(shown)
    palette = colormaps["tab10"] if shown.size <= 10 else colormaps["tab20"]
    rgba = np.array([palette(i % palette.N) for i in range(shown.size)] + [(0.8, 0.8, 0.8, 1.0)])
    code = np.searchsorted(shown, labels)
    code = np.where(
        (code < shown.size) & (shown[np.minimum(code, shown.size - 1)] == labels), code, shown.size
    )
    ax.scatter(xy[order, 0], xy[order, 1], s=3, c=rgba[code[order]], linewidths=0)
    handles = [
        Line2D([], [], marker="o", linestyle="", color=rgba[i], label=str(name))
        for i, name in enumerate(shown)
    ]
    n_rest = int((code == shown.size).sum())
    if n_rest:
        handles.append(Line2D([], [], marker="o", linestyle="", color=rgba[-1], label=f"{_OTHER} ({n_rest})"))
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(handles=handles, loc="best", fontsize=7, frameon=False)


def style_space_plot(
    vectors: npt.ArrayLike,
    slot_labels: npt.ArrayLike,
    style_labels: npt.ArrayLike,
    out: Path,
    title: str,
    *,
    style_name: str = "hidden style",
    max_points: int = 5000,
    seed: int = 0,
) -> Path:
    """Save a PNG of a 2-D UMAP of ``vectors``, coloured by slot (left) and by style (right).

    Parameters
    ----------
    vectors:
        ``(n, dim)`` item vectors (content vectors or a model's embeddings).
    slot_labels, style_labels:
        ``(n,)`` labels of each vector (strings or ints). ``style_labels`` is a demo world's hidden
        style (``Oracle.item_style`` mapped through ``style_names``) or, where none exists, another
        label such as colour; say which with ``style_name``.
    out:
        Where to write the PNG (parent folders are created).
    title:
        The figure's title (e.g. the model and the data set).
    style_name:
        What ``style_labels`` are, for the right panel's title.
    max_points:
        A seeded random subsample of at most this many points is drawn; 5,000 keeps UMAP and the
        scatter quick and still shows every cluster.
    seed:
        Seed of the subsample and of UMAP (seeded UMAP runs single-threaded, so it is repeatable).

    Returns
    -------
    Path
        ``out``.
    """
    started = time.perf_counter()
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 3:
        raise LookbookError(f"vectors: expected an (n >= 3, dim) array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise LookbookError("vectors: expected finite numbers, got NaN or inf")
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 3:
        raise LookbookError(f"max_points: expected an int >= 3, got {max_points!r}")
    slots = _labels(slot_labels, "slot_labels", x.shape[0])
    styles = _labels(style_labels, "style_labels", x.shape[0])
    rng = np.random.default_rng(seed)
    if x.shape[0] > max_points:
        keep = np.sort(rng.choice(x.shape[0], size=max_points, replace=False))
        x, slots, styles = x[keep], slots[keep], styles[keep]
        log.debug("style_space_plot: subsampled %d points", max_points)

    import umap
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n_neighbors = min(15, x.shape[0] - 1)
    knn = _exact_knn(x, n_neighbors)
    reducer = umap.UMAP(
        n_neighbors=n_neighbors,
        n_components=2,
        random_state=seed,
        n_jobs=1,
        n_epochs=200,
        precomputed_knn=(knn[0], knn[1], None),
    )
    with warnings.catch_warnings():
        # UMAP warns that precomputed neighbours without a search index cannot transform new points
        # (not needed here), and numba about its own internals.
        warnings.simplefilter("ignore")
        xy = np.asarray(reducer.fit_transform(x), dtype=np.float32)

    # A Figure with an Agg canvas, not pyplot: no global backend or figure state is touched, so
    # this works on a server without a display and inside a running notebook alike.
    fig = Figure(figsize=(14, 6.5), dpi=110)
    FigureCanvasAgg(fig)
    ax_slot, ax_style = fig.subplots(1, 2)
    order = rng.permutation(x.shape[0])
    _draw_panel(ax_slot, xy, slots, "by slot", order)
    _draw_panel(ax_style, xy, styles, f"by {style_name}", order)
    fig.suptitle(f"{title} ({x.shape[0]} items, UMAP)")
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    log.info(
        "style_space_plot: wrote %s (%d points) in %.1fs", out, x.shape[0], time.perf_counter() - started
    )
    return out
