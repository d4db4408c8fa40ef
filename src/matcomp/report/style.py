"""One look for every figure: the seaborn theme, one palette, one colour per method, depth and λ.

Colours mean the same thing in every figure: a network of depth k in Figures 1-2 and 6-7 has the colour of
``GD:k`` in Figures 4-5, the penalised depth-1 network (``Adam:1+R``; λ > 0 in Figures 3 and 8) is red and
the unpenalised one grey. A label without a colour of its own gets a deterministic one: a darker shade of
the method it starts with (``OPT (published)`` → OPT's orange), else one picked by a hash of the label.

Only :func:`set_theme` imports seaborn: the colours are plain data, importable where seaborn is not
installed.  :func:`figure_footer` is the line every figure carries about what it shows.
"""

from __future__ import annotations

import re
import textwrap
import zlib
from collections.abc import Iterable
from typing import Any

from ..baselines import BASELINES
from .cells import stop_set

# seaborn's "colorblind" palette, in its order
PALETTE = ["#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4", "#949494", "#ece133", "#56b4e9"]  # fmt: skip
_BLUE, _ORANGE, _GREEN, _RED, _PURPLE, _BROWN, _PINK, _GREY, _YELLOW, _CYAN = PALETTE
# seaborn's "dark" palette: colours for labels that have none of their own
_FALLBACK = ["#001c7f", "#b1400d", "#12711c", "#8c0800", "#591e71", "#592f0d", "#a23582", "#3c3c3c", "#b8850a", "#006374"]  # fmt: skip

DEPTH_COLORS: dict[int, str] = {1: _RED, 2: _FALLBACK[8], 3: _BLUE, 4: _CYAN, 5: _PURPLE}  # 2: dark yellow
UNPENALISED = _GREY
PENALISED = [_RED, _ORANGE, _GREEN, _BROWN]  # λ > 0, in increasing order of λ
METHOD_COLORS: dict[str, str] = {
    "Adam:1+R": _RED,
    "GD:3": DEPTH_COLORS[3],
    "GD:4": DEPTH_COLORS[4],
    "GD:5": DEPTH_COLORS[5],
    **{
        method.label: method.color for method in BASELINES.values() if method.color
    },  # CP green, SI brown, OPT orange
}
# seaborn `dashes` for σ_1, σ_r and any further singular value: solid, dotted, dashed, dash-dot
DASHES: list[str | tuple[float, ...]] = ["", (1, 1.5), (4, 1.5), (4, 1.5, 1, 1.5)]


def set_theme() -> None:
    """The theme every figure is drawn in (seaborn's whitegrid, the palette above)."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=0.8)


def _shade(color: str, factor: float = 0.6) -> str:
    rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c * factor):02x}" for c in rgb)


def method_color(label: str) -> str:
    """The colour of a method label, the same in every figure."""
    if label in METHOD_COLORS:
        return METHOD_COLORS[label]
    bases = [k for k in METHOD_COLORS if re.match(re.escape(k) + r"(?![\w.])", label)]
    if bases:
        return _shade(METHOD_COLORS[max(bases, key=len)])
    return _FALLBACK[zlib.crc32(label.encode()) % len(_FALLBACK)]


def depth_color(depth: int) -> str:
    return DEPTH_COLORS.get(depth) or method_color(f"depth {depth}")


def lam_colors(lams: Iterable[float]) -> dict[float, str]:
    """λ = 0 grey, the positive λs red, orange, green, brown in increasing order."""
    values = sorted(set(lams))
    positive = [x for x in values if x > 0]
    out = {0.0: UNPENALISED} if 0 in values else {}
    for i, lam in enumerate(positive):
        out[lam] = PENALISED[i] if i < len(PENALISED) else method_color(f"λ = {lam:g}")
    return out


def _values(summary: Any, col: str) -> str:
    """The distinct values of a summary's column, ``/``-joined (``?`` without the column)."""
    if col not in summary:
        return "?"
    vals = [v for v in dict.fromkeys(summary[col].dropna().tolist()) if v != ""]
    return "/".join(str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in vals) or "–"


READING_SETTINGS: dict[str, str] = {
    "lr": "lr",
    "init": "init",
    "tol_on": "tolerance on",
    "reduction": "data term",
    "stop_rule": "stop rule",
    "route": "route",
    "gd_momentum": "GD momentum",
}
"""The settings a reading may change, as the cell columns that record them (the tables' columns (:func:`matcomp.report.tables.cell_summaries`)
and their words in the claims, the figures' footers and ``benchmarks/decide_verdicts.py``."""


def settings_text(summary: Any) -> str:
    """``init end_to_end, tolerance on loss, …``: the reading settings a summary's cells ran (those it has)."""
    said = {words: _values(summary, col) for col, words in READING_SETTINGS.items()}
    return ", ".join(f"{words} {values}" for words, values in said.items() if values not in ("?", "–"))


LINES = "lines: mean over seeds, bands ± 1 sd; where curves coincide, the wider one lies underneath"
"""How a dynamics figure draws its curves (the last part of its footer)."""


def figure_footer(summary: Any, scale: str | None = None, lines: str = LINES) -> str:
    """What a figure shows, in one line, from its cells' summary (a DataFrame: one row per cell): scale,
    iteration budget and how the runs stopped, seeds, n_obs and the reading settings (:data:`READING_SETTINGS`), then how its
    ``lines`` are drawn; empty without a summary."""
    if summary.empty or "max_iters" not in summary:
        return ""
    reasons = summary["stop_reasons"] if "stop_reasons" in summary else []
    stops = sorted(set().union(*map(stop_set, reasons)))
    ran = summary["iterations_mean"] if "iterations_mean" in summary else summary["max_iters"]
    return (
        (f"scale {scale} · " if scale else "")
        + f"budget {_values(summary, 'max_iters')} iterations, ran {ran.min():,.0f}–{ran.max():,.0f} (stopped by: "
        f"{', '.join(stops) or '?'}) · seeds {_values(summary, 'n_seeds')} · n_obs {_values(summary, 'n_obs')} · "
        f"{settings_text(summary)} · {lines}"
    )


def save_figure(fig: Any, pdf: str, png: str, footer: str, fontsize: float = 7) -> None:
    """Write ``fig`` with ``footer`` printed under it (wrapped to the figure's width: matplotlib's own wrap
    let a centred line run past the left edge) and stored whole in both files' metadata (pdf Subject, png
    Description), each file atomically; the figure is closed."""
    import matplotlib.pyplot as plt  # noqa: PLC0415  (only the drawing steps load matplotlib)

    from ..store.io import write_with  # noqa: PLC0415

    chars = max(60, int(fig.get_figwidth() * 72 / (0.6 * fontsize)))  # a character is ≈ 0.5-0.6 em wide
    fig.text(
        0.5, 0.005, textwrap.fill(footer, chars), ha="center", va="bottom", fontsize=fontsize, color="#555555"
    )
    write_with(pdf, lambda t: fig.savefig(t, format="pdf", metadata={"Subject": footer}), ".pdf")
    write_with(png, lambda t: fig.savefig(t, format="png", dpi=110, metadata={"Description": footer}), ".png")
    plt.close(fig)
