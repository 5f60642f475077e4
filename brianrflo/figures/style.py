"""What every figure shares: the run header, panel titles, legends off the data, log ticks.

A figure's plot function draws only from its JSON record; these helpers keep the
figures consistent: the suptitle says whether the run was quick, every panel title
names the model and the rule, a legend goes where it covers no plotted data (inside
the axes if a corner or side is free, else outside), and a log axis labels its ticks
either all as plain numbers or all as powers of ten.
"""

from __future__ import annotations

import os
import textwrap

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.path import Path
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

from brianrflo.runfolder import atomic_write

__all__ = ["RecordError", "covers_data", "figure", "finish", "header", "log_axis", "need",
           "place_legends", "save"]

#: How the models of :mod:`brianrflo.models` are named in panel titles.
MODEL = {"rate": "rate model", "lif": "LIF model"}

#: Inside spots tried, in order, before a legend goes outside its axes.
_SPOTS = ("upper right", "upper left", "lower left", "lower right", "center right",
          "center left", "upper center", "lower center")
#: Clearance (pixels) kept between a legend and any plotted data.
_CLEAR = 2.0


class RecordError(ValueError):
    """A figure record lacks what its plot needs (written before the plot stored it)."""


def need(record: dict, *keys: str) -> None:
    """Refuse, naming the missing fields, if ``record`` lacks any of ``keys`` (dotted paths).

    Raises
    ------
    RecordError
        One sentence naming the figure, the missing fields and how to get them.
    """
    missing = []
    for key in keys:
        node = record
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                missing.append(key)
                break
            node = node[part]
    if missing:
        name = record.get("figure", "the figure")
        raise RecordError(f"{name}.json has no {', '.join(missing)} (it was written before "
                          f"figures recorded what they draw); rerun `brianrflo figure {name}` "
                          "to redraw it")


def figure(width: float, height: float) -> Figure:
    """A constrained-layout figure with an Agg canvas (legend placement needs a renderer)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def header(fig: Figure, record: dict) -> None:
    """Suptitle: quick or full run, and the command that made the record."""
    kind = ("QUICK run (--quick: small sizes, qualitative only)" if record.get("quick")
            else "full run")
    fig.suptitle(f"{kind}: {record.get('command', '')}", fontsize=9,
                 color="C3" if record.get("quick") else "0.2")


def finish(fig: Figure, record: dict, axes, fontsize: int = 8) -> Figure:
    """:func:`header`, and :func:`place_legends` for ``axes`` (each an ``Axes``, legend
    text ``fontsize``, or an ``(Axes, legend kwargs)`` pair); returns ``fig``."""
    header(fig, record)
    place_legends(fig, [a if isinstance(a, tuple) else (a, {"fontsize": fontsize})
                        for a in axes])
    return fig


def _plain(value: float, _pos=None) -> str:
    return np.format_float_positional(float(value), precision=4, trim="-")


def log_axis(ax: Axes, which: str = "y", ticks=None) -> None:
    """Log scale on ``which`` with one kind of tick label.

    ``ticks`` given: exactly those, as plain numbers. Otherwise powers of ten when the
    view spans two or more of them, else plain numbers at 1, 2 and 5 times powers of ten.
    Minor ticks never carry labels (matplotlib's default mixes "20" with "3x10^1").
    """
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_minor_formatter(NullFormatter())
    if ticks is not None:
        axis.set_major_locator(FixedLocator(list(ticks)))
        axis.set_major_formatter(FuncFormatter(_plain))
        return
    lo, hi = sorted(ax.get_xlim() if which == "x" else ax.get_ylim())
    decades = np.floor(np.log10(hi)) - np.ceil(np.log10(lo)) + 1
    if decades < 2:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(_plain))


def _segments_hit(xy: np.ndarray, box) -> bool:
    """Whether the polyline ``xy`` (display pixels, NaN breaks it) enters ``box``."""
    p0, p1 = xy[:-1], xy[1:]
    ok = np.all(np.isfinite(p0), axis=1) & np.all(np.isfinite(p1), axis=1)
    if len(xy) == 1 or not ok.any():
        pts = xy[np.all(np.isfinite(xy), axis=1)]
        return bool(np.any((pts[:, 0] >= box[0]) & (pts[:, 0] <= box[2])
                           & (pts[:, 1] >= box[1]) & (pts[:, 1] <= box[3])))
    p0, d = p0[ok], p1[ok] - p0[ok]
    # Liang-Barsky: the part t in [0, 1] of each segment inside the box.
    t0, t1 = np.zeros(len(p0)), np.ones(len(p0))
    for k, (lo, hi) in enumerate(((box[0], box[2]), (box[1], box[3]))):
        with np.errstate(divide="ignore", invalid="ignore"):
            a, b = (lo - p0[:, k]) / d[:, k], (hi - p0[:, k]) / d[:, k]
        enter, leave = np.minimum(a, b), np.maximum(a, b)
        # A segment parallel to this side: all of it in the slab, or none.
        flat = d[:, k] == 0
        inside = (p0[:, k] >= lo) & (p0[:, k] <= hi)
        enter = np.where(flat, np.where(inside, -np.inf, np.inf), enter)
        leave = np.where(flat, np.where(inside, np.inf, -np.inf), leave)
        t0, t1 = np.maximum(t0, enter), np.minimum(t1, leave)
    return bool(np.any(t0 <= t1))


def _data_paths(ax: Axes):
    """(display vertices, filled) of everything plotted in ``ax``."""
    for line in ax.lines:
        path = line.get_transform().transform_path(line.get_path())
        yield path.vertices, False
    for coll in ax.collections:
        if not isinstance(coll, Collection):
            continue
        transform = coll.get_transform()
        face = np.asarray(coll.get_facecolor())
        filled = len(face) > 0 and np.any(face[:, 3] > 0)
        offsets = np.asarray(coll.get_offsets())
        if len(coll.get_paths()) == 1 and len(offsets) > 1:  # scatter: the points
            yield coll.get_offset_transform().transform(offsets), False
            continue
        for path in coll.get_paths():
            yield transform.transform_path(path).vertices, filled
    for image in ax.images:
        if isinstance(image, AxesImage):
            box = image.get_window_extent()
            yield np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1],
                            [box.x0, box.y1], [box.x0, box.y0]]), True


def covers_data(ax: Axes, legend) -> bool:
    """Whether ``legend`` (as drawn now) overlaps any line, band, point or image in ``ax``."""
    ext = legend.get_window_extent()  # the figure's canvas renders it
    box = (ext.x0 - _CLEAR, ext.y0 - _CLEAR, ext.x1 + _CLEAR, ext.y1 + _CLEAR)
    corners = np.array([[box[0], box[1]], [box[2], box[3]]])
    for xy, filled in _data_paths(ax):
        if len(xy) == 0:
            continue
        if _segments_hit(xy, box):
            return True
        if filled and len(xy) > 2:
            if Path(xy).contains_points(corners.mean(axis=0, keepdims=True))[0]:
                return True
    return False


def _legend(ax: Axes, kw: dict, loc: str | None):
    if loc is None:  # outside, right of the axes
        return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, **kw)
    return ax.legend(loc=loc, **kw)


def place_legends(fig: Figure, specs: list[tuple[Axes, dict]]) -> None:
    """Give each ``(axes, legend kwargs)`` a legend that covers none of its data.

    Each legend takes the first free inside spot of :data:`_SPOTS`; with none free it
    goes outside, right of its axes. Moving one outside reshapes the layout, so this
    repeats until every legend is clear.
    """
    where: dict[int, str | None] = {id(ax): _SPOTS[0] for ax, _ in specs}
    for ax, kw in specs:
        _legend(ax, kw, where[id(ax)])
    for _ in range(5):
        fig.canvas.draw()
        moved = _wrap_titles(fig)
        if moved:
            fig.canvas.draw()
        for ax, kw in specs:
            if where[id(ax)] is None or not covers_data(ax, ax.get_legend()):
                continue
            moved = True
            for loc in (*_SPOTS, None):
                legend = _legend(ax, kw, loc)
                where[id(ax)] = loc
                if loc is None or not covers_data(ax, legend):
                    break
        if not moved:
            return


def _wrap_titles(fig: Figure) -> bool:
    """Break titles wider than their axes (constrained layout would clip them).

    Returns whether any title changed.
    """
    changed = False
    for ax in fig.axes:
        title = ax.title
        text, width = title.get_text(), ax.get_window_extent().width
        wide = title.get_window_extent().width
        if not text or wide <= width:
            continue
        longest = max(len(line) for line in text.split("\n"))
        chars = max(int(longest * width / wide) - 1, 20)
        title.set_text("\n".join(textwrap.fill(line, chars) for line in text.split("\n")))
        changed = True
    return changed


def save(fig: Figure, path: str | os.PathLike, dpi: int = 120) -> None:
    """Write ``fig`` as PNG through a temporary file, so a failure leaves no half image."""
    atomic_write(path, lambda f: fig.savefig(f, dpi=dpi, format="png"))

