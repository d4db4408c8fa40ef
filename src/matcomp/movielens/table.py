"""Table 2: our eight rows per split under every checkpoint reading (RMSE mean ± sd over seeds) beside the
paper's values and the literature rows it quotes."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .train import READING_NOTES, READINGS, ROWS, split_label

if TYPE_CHECKING:
    import pandas as pd

MODEL_NAMES = {"lnn": "Depth 1 LNN", "embedding": "User-Item Embedding"}

PAPER_RMSE: dict[tuple[str, str, str], float] = {
    ("90%", "lnn", "GD"): 2.814,
    ("90%", "lnn", "GD+penalty"): 2.808,
    ("90%", "lnn", "Adam"): 1.844,
    ("90%", "lnn", "Adam+penalty"): 0.915,
    ("90%", "embedding", "GD"): 2.453,
    ("90%", "embedding", "GD+penalty"): 2.535,
    ("90%", "embedding", "Adam"): 1.282,
    ("90%", "embedding", "Adam+penalty"): 0.906,
    ("80%", "lnn", "GD"): 2.797,
    ("80%", "lnn", "GD+penalty"): 2.821,
    ("80%", "lnn", "Adam"): 1.822,
    ("80%", "lnn", "Adam+penalty"): 0.921,
    ("80%", "embedding", "GD"): 2.532,
    ("80%", "embedding", "GD+penalty"): 2.519,
    ("80%", "embedding", "Adam"): 1.348,
    ("80%", "embedding", "Adam+penalty"): 0.919,
}
"""The paper's Table 2 values for our rows: (split, model, row) -> RMSE."""

QUOTED: list[tuple[str, str, bool, float, str]] = [
    ("90%", "NMF", False, 0.958, "[48]"),
    ("90%", "PMF", False, 0.952, "[48]"),
    ("90%", "SVD++", True, 0.913, "[40]"),
    ("90%", "NFM", False, 0.910, "[30]"),
    ("90%", "FM", False, 0.909, "[55]"),
    ("90%", "GraphRec", False, 0.898, "[53]"),
    ("90%", "AutoSVD++", True, 0.904, "[71]"),
    ("90%", "GraphRec+side feat.", True, 0.899, "[53]"),
    ("90%", "GraphRec+graph/side feat.", True, 0.883, "[53]"),
    ("80%", "IMC", True, 1.653, "[33, 65]"),
    ("80%", "GMC", True, 0.996, "[36]"),
    ("80%", "MC", True, 0.973, "[18]"),
    ("80%", "GRALS", True, 0.945, "[52]"),
    ("80%", "sRGCNN (sRMGCNN)", True, 0.929, "[49]"),
    ("80%", "GC-MC", True, 0.910, "[16]"),
    ("80%", "GC-MC+side feat.", True, 0.905, "[16]"),
]
"""Literature rows the paper quotes in Table 2: (split, model, uses side info, RMSE, reference)."""

COLUMNS = [
    "split",
    "model",
    "method",
    "uses_side_info",
    "checkpoint",
    "rmse_mean",
    "rmse_sd",
    "n_seeds",
    "rmse",
    "paper_rmse",
    "source",
    "reference",
    "n_train",
    "n_val",
    *(f"{col}_{reading}" for reading in READINGS for col in ("rmse_mean", "rmse_sd", "rmse", "at")),
    "checkpoint_note",
]
"""``rmse_*`` are the headline reading's (``checkpoint``); ``rmse_*_{reading}`` / ``at_{reading}`` every
reading's, with the epochs / steps its checkpoints came from."""


def _fmt(mean: float, sd: float, n: int) -> str:
    if n == 0 or not math.isfinite(mean):
        return "not run" if n == 0 else "diverged"
    return f"{mean:.3f}" if n == 1 or not math.isfinite(sd) else f"{mean:.3f} ± {sd:.3f}"


def _points(points: list[int], unit: str) -> str:
    """``[20, 20]`` -> ``"epoch 20"``; ``[18, 22, 20]`` -> ``"epochs 18–22"``."""
    if not points:
        return ""
    lo, hi = min(points), max(points)
    return f"{unit} {lo}" if lo == hi else f"{unit}s {lo}–{hi}"


def _reading_cells(results: Sequence[Mapping[str, Any]], reading: str) -> dict[str, Any]:
    """Mean and sample sd of one reading's test RMSE over the seeds present, and its checkpoints' points."""
    readings = [r["readings"].get(reading) for r in results]
    got = [x for x in readings if x is not None]
    vals = [float(x["test_rmse"]) for x in got]
    n = len(vals)
    mean = float(sum(vals) / n) if n else float("nan")
    sd = float(statistics.stdev(vals)) if n > 1 and all(map(math.isfinite, vals)) else float("nan")
    text = _fmt(mean, sd, n) if got or not results else "n/a (no validation part)"
    points = [int(x["point"]) for x in got if x["point"] is not None]
    unit = got[0]["unit"] if got else ""
    return {"rmse_mean": mean, "rmse_sd": sd, "n": n, "rmse": text, "at": _points(points, unit)}


def headline_checkpoint(results: Iterable[Mapping[str, Any]]) -> str:
    """The ``checkpoint`` setting the results were run under (``last`` when there are none)."""
    found = {str(r.get("checkpoint", "last")) for r in results}
    if len(found) > 1:
        raise ValueError(f"results mix checkpoint settings: {', '.join(sorted(found))}")
    return found.pop() if found else "last"


def table2(
    results: Iterable[Mapping[str, Any]] | Mapping[str, Iterable[Mapping[str, Any]]],
    splits: Sequence[float] = (0.9, 0.8),
    checkpoint: str | None = None,
) -> pd.DataFrame:
    """Table 2 as a DataFrame (columns :data:`COLUMNS`).

    For every split in ``splits`` (plus any other ``train_frac`` found in ``results``) come our 8 rows
    (``source="run"``) with every checkpoint reading's test RMSE (mean and sample sd over the seeds present,
    ``"not run"`` when none) and the epochs / steps it came from, the headline reading's (``checkpoint``;
    default: the setting the results were run under) as ``rmse_mean`` / ``rmse_sd`` / ``rmse``; then the
    literature rows the paper quotes for that split (``source="quoted"``, not run).  ``paper_rmse`` holds the
    paper's value of each row.  ``results`` are :func:`~matcomp.movielens.train.run_table2_row` dicts, or a
    mapping reading -> the results that reading's column uses (a sweep selects a grid point per reading).
    """
    import pandas as pd

    per_reading = (
        {k: list(v) for k, v in results.items()}
        if isinstance(results, Mapping)
        else dict.fromkeys(READINGS, list(results))
    )
    everything = [r for rs in per_reading.values() for r in rs]
    checkpoint = checkpoint or headline_checkpoint(everything)
    if checkpoint not in READINGS:
        raise ValueError(f"checkpoint must be one of {', '.join(READINGS)}, got {checkpoint!r}")
    labels = [split_label(f) for f in splits]
    for r in everything:
        if split_label(r["train_frac"]) not in labels:
            labels.append(split_label(r["train_frac"]))
    rows: list[dict[str, Any]] = []
    for split in labels:
        for model, name in MODEL_NAMES.items():
            for row in ROWS:
                rows.append(_run_row(per_reading, split, model, name, row, checkpoint))
        rows += [_quoted_row(q) for q in QUOTED if q[0] == split]
    return pd.DataFrame(rows, columns=COLUMNS)


def _run_row(
    per_reading: Mapping[str, Sequence[Mapping[str, Any]]],
    split: str,
    model: str,
    name: str,
    row: str,
    checkpoint: str,
) -> dict[str, Any]:
    def cell(r: Mapping[str, Any]) -> bool:
        return r["model"] == model and r["row"] == row and split_label(r["train_frac"]) == split

    out: dict[str, Any] = {}
    for reading in READINGS:
        c = _reading_cells([r for r in per_reading.get(reading, []) if cell(r)], reading)
        out |= {f"{k}_{reading}": c[k] for k in ("rmse_mean", "rmse_sd", "rmse", "at")}
        if reading == checkpoint:
            head = c
    mine = [r for r in per_reading.get(checkpoint, []) if cell(r)]
    return {
        "split": split,
        "model": name,
        "method": f"w. {row}",
        "uses_side_info": "No",
        "checkpoint": checkpoint,
        "rmse_mean": head["rmse_mean"],
        "rmse_sd": head["rmse_sd"],
        "n_seeds": head["n"],
        "rmse": head["rmse"],
        "paper_rmse": PAPER_RMSE.get((split, model, row), float("nan")),
        "source": "run",
        "reference": "this reproduction",
        "n_train": int(mine[0]["n_train"]) if mine else None,
        "n_val": int(mine[0]["n_val"]) if mine else None,
        **out,
        "checkpoint_note": READING_NOTES[checkpoint],
    }


def _quoted_row(quoted: tuple[str, str, bool, float, str]) -> dict[str, Any]:
    split, name, side, rmse, ref = quoted
    return {
        "split": split,
        "model": name,
        "method": "",
        "uses_side_info": "Yes" if side else "No",
        "rmse_mean": float("nan"),
        "rmse_sd": float("nan"),
        "n_seeds": 0,
        "rmse": "quoted",
        "paper_rmse": rmse,
        "source": "quoted",
        "reference": ref,
    }
