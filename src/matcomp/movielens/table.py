"""Table 2: our eight rows per split (RMSE mean ± sd over seeds) beside the paper's values and quoted rows."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .train import ROWS, split_label

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
    "rmse_mean",
    "rmse_sd",
    "n_seeds",
    "rmse",
    "paper_rmse",
    "source",
    "reference",
]


def _fmt(mean: float, sd: float, n: int) -> str:
    if n == 0 or not math.isfinite(mean):
        return "not run" if n == 0 else "diverged"
    return f"{mean:.3f}" if n == 1 or not math.isfinite(sd) else f"{mean:.3f} ± {sd:.3f}"


def table2(results: Iterable[Mapping[str, Any]], splits: Sequence[float] = (0.9, 0.8)) -> pd.DataFrame:
    """Table 2 as a DataFrame (columns :data:`COLUMNS`).

    For every split in ``splits`` (plus any other ``train_frac`` found in ``results``) come our 8 rows
    (``source="run"``; RMSE mean and sample sd over the seeds present, ``"not run"`` when none), then the
    literature rows the paper quotes for that split (``source="quoted"``, not run).  ``paper_rmse`` holds
    the paper's value of each row.  ``results`` are :func:`~matcomp.movielens.train.run_table2_row` dicts.
    """
    import pandas as pd

    results = list(results)
    labels = [split_label(f) for f in splits]
    for r in results:
        if split_label(r["train_frac"]) not in labels:
            labels.append(split_label(r["train_frac"]))
    rows: list[dict[str, Any]] = []
    for split in labels:
        for model, name in MODEL_NAMES.items():
            for row in ROWS:
                vals = [
                    float(r["test_rmse"])
                    for r in results
                    if r["model"] == model and r["row"] == row and split_label(r["train_frac"]) == split
                ]
                n = len(vals)
                mean = float(sum(vals) / n) if n else float("nan")
                sd = float(pd.Series(vals, dtype=float).std(ddof=1)) if n > 1 else float("nan")
                rows.append(
                    {
                        "split": split,
                        "model": name,
                        "method": f"w. {row}",
                        "uses_side_info": "No",
                        "rmse_mean": mean,
                        "rmse_sd": sd,
                        "n_seeds": n,
                        "rmse": _fmt(mean, sd, n),
                        "paper_rmse": PAPER_RMSE.get((split, model, row), float("nan")),
                        "source": "run",
                        "reference": "this reproduction",
                    }
                )
        for q_split, name, side, rmse, ref in QUOTED:
            if q_split == split:
                rows.append(
                    {
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
                )
    return pd.DataFrame(rows, columns=COLUMNS)
