"""The numbers the paper prints, beside ours, cell by cell (``results/paper_vs_ours.{md,csv}``).

Every printed cell of Tables 1, 3 and 4 (Err, Rk) and of Table 2 (RMSE) is data (``paper_tables.yaml``).
Each is shown beside our cell with an agreement mark, given only where our cell is decided
(:func:`matcomp.report.claims.decision`), seed by seed: every seed's Err within a factor of
:data:`ERR_FACTOR` of the printed one or both ≤ :data:`ERR_FLOOR`, and |ΔRk| ≤ :data:`RANK_TOL`; Table 2's
RMSE within :data:`RMSE_TOL`.  Where a printed
cell is what an untrained network gives (Err ≈ 1 and Rk within 3 of our network's at iteration 0, W₀ ≈ 0),
the note says so: nothing is tuned to match.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..store.io import write_with
from .cells import split_seeds

PAPER = Path(__file__).with_name("paper_tables.yaml")
ERR_FACTOR = 3.0
ERR_FLOOR = 1e-4
RANK_TOL = 1.0
RMSE_TOL = 0.02
DEFAULTS = "defaults"
"""The name of the default protocol among the readings (as the readings report names it)."""


@cache
def _data() -> dict[str, Any]:
    return yaml.safe_load(PAPER.read_text())


def printed() -> pd.DataFrame:
    """One row per printed cell of Tables 1, 3, 4: table, optimizer, depth, penalty, paper_err, paper_rank."""
    rows = []
    for table in ("table1", "table3", "table4"):
        spec = _data()[table]
        for optimizer, depth, *cells in spec["rows"]:
            for penalty, (err, rank) in zip(spec["columns"], cells, strict=True):
                rows.append({"table": table, "optimizer": optimizer, "depth": depth, "penalty": penalty,
                             "paper_err": float(err), "paper_rank": float(rank)})  # fmt: skip
    return pd.DataFrame(rows)


def table2_rmse() -> dict[tuple[str, str, str], float]:
    """Table 2's printed RMSE: (split, model, row) -> RMSE."""
    return {
        (split, model, row): float(v)
        for split, models in _data()["table2"].items()
        for model, rows in models.items()
        for row, v in rows.items()
    }


def err_agrees(ours: float, paper: float) -> bool:
    if not math.isfinite(ours):
        return False
    if ours <= ERR_FLOOR and paper <= ERR_FLOOR:
        return True
    return ours > 0 and abs(math.log10(ours / paper)) <= math.log10(ERR_FACTOR)


def _per_seed(row: pd.Series, column: str) -> list[float] | None:
    """A per-seed column (:func:`matcomp.report.cells.split_seeds`) as numbers; None without one (one seed's
    value, which pandas reads as a number, is the cell's mean anyway)."""
    value = row.get(column)
    parts = split_seeds(value) if isinstance(value, str) else None
    return [float(v) for v in parts] if parts else None


def _seeds(row: pd.Series) -> list[tuple[float, float]]:
    """(Err, Rk) of each seed where the table has them per seed, else the cell's means as one."""
    errs, ranks = _per_seed(row, "test_error_seeds"), _per_seed(row, "effective_rank_seeds")
    if errs and ranks and len(errs) == len(ranks):
        return list(zip(errs, ranks, strict=True))
    return [(float(row["test_error_mean"]), float(row["effective_rank_mean"]))]


def _mark(row: pd.Series) -> str:
    """Seed by seed: ``agrees`` where every seed's Err and Rk agree with the printed cell, else ``differs``
    with what differs (a seed mean can sit on the printed number while no seed does)."""
    if not row["decided"]:
        return "undecided"
    paper_err, paper_rank = row["paper_err"], row["paper_rank"]
    oks = [(err_agrees(e, paper_err), abs(r - paper_rank) <= RANK_TOL) for e, r in _seeds(row)]
    if all(e and r for e, r in oks):
        return "agrees"
    what = [w for w, k in (("Err", 0), ("Rk", 1)) if not all(ok[k] for ok in oks)]
    agreeing = sum(e and r for e, r in oks)
    split = f"; seeds split: {agreeing} of {len(oks)} agree" if agreeing else ""
    return f"differs ({', '.join(what)}{split})"


def _untrained_note(row: pd.Series) -> str:
    """Where the printed cell is what the untrained network gives (and ours is not)."""
    r0, e0 = row.get("effective_rank_at_0", math.nan), row.get("test_error_at_0", math.nan)
    if row["paper_err"] >= 0.99 and math.isfinite(r0) and abs(row["paper_rank"] - r0) <= 3:
        ours = row["test_error_mean"]
        trained = "; ours trained away from it" if math.isfinite(ours) and ours < 0.95 else ""
        return f"the printed cell is what the untrained network gives (ours at iteration 0: Err {e0:.2f}, Rk {r0:.0f}){trained}"
    return ""


def synthetic(df: pd.DataFrame, reading: str = DEFAULTS) -> pd.DataFrame:
    """Tables 1, 3, 4: every printed cell beside ours (``df``: table rows with ``_decided``/``_how``, the
    cells of one ``reading``, its experiments named as the defaults')."""
    ours = df[df["experiment"].isin(["table1", "table3", "table4"])]
    keys = ["optimizer", "depth", "penalty"]
    merged = printed().merge(ours.rename(columns={"experiment": "table"}), on=["table", *keys], how="left")
    merged.insert(0, "reading", reading)
    merged["decided"] = merged["_decided"].fillna(False).astype(bool)
    merged["decided_by"] = merged["_how"].fillna("not run")
    merged["mark"] = [
        _mark(r) if pd.notna(r.get("test_error_mean")) else "not run" for _, r in merged.iterrows()
    ]
    merged["note"] = [_untrained_note(r) for _, r in merged.iterrows()]
    cols = ["reading", "table", *keys, "paper_err", "paper_rank", "test_error_mean", "effective_rank_mean", "n_seeds",
            "n_diverged", "n_blown_up", "mark", "note", "decided_by", "file"]  # fmt: skip
    return merged[[c for c in cols if c in merged]]


def by_reading(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Tables 1, 3, 4 beside ours under the defaults (``frames["defaults"]``: every printed cell) and under each
    other reading that reran one of them (``frames``: each reading's cells, as :func:`synthetic` reads them;
    a reading shows only the cells it ran)."""
    out = []
    for name, df in frames.items():
        if df.empty or "optimizer" not in df:
            continue
        syn = synthetic(df, name)
        out.append(syn if name == DEFAULTS else syn[syn["mark"] != "not run"])
    out = [s for s in out if not s.empty]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["reading", "mark"])


def mark_kind(mark: Any) -> str:
    """``agrees``, ``differs``, ``undecided`` or ``not run``: a mark without its reasons ("differs (Err)")."""
    return "not run" if pd.isna(mark) or mark == "not run" else str(mark).split(" ")[0]


def tally(syn: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per reading, how many printed cells agree, differ, are undecided or did not run."""
    kinds = syn["mark"].map(mark_kind)
    return {str(r): g.value_counts().to_dict() for r, g in kinds.groupby(syn["reading"], sort=False)}


def table2(df: pd.DataFrame) -> pd.DataFrame:
    """Table 2's printed RMSEs beside ours (the headline reading), marked within :data:`RMSE_TOL`."""
    ours = (
        df[(df["experiment"] == "table2") & (df.get("source") == "run")] if "source" in df else df.iloc[0:0]
    )
    rows = []
    for _, r in ours.iterrows():
        paper, v = float(r["paper_rmse"]), float(r["rmse_mean"])
        mark = (
            "undecided" if not r["_decided"] else "agrees" if abs(v - paper) <= RMSE_TOL else "differs (RMSE)"
        )
        rows.append({"reading": DEFAULTS, "table": "table2", "split": r["split"], "model": r["model"], "method": r["method"],
                     "paper_rmse": paper, "rmse_mean": v, "checkpoint": r.get("checkpoint"), "mark": mark,
                     "decided_by": r["_how"]})  # fmt: skip
    return pd.DataFrame(rows)


def _md_line(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |"


def to_markdown(syn: pd.DataFrame, t2: pd.DataFrame) -> str:
    from .tables import fmt_err, fmt_rank

    counts = tally(syn) if not syn.empty else {}
    said = "; ".join(
        f"{r}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())) for r, c in counts.items()
    )
    lines = [
        "# The paper's printed numbers beside ours",
        "",
        f"Agreement (only where our cell is decided): Err within a factor {ERR_FACTOR:g} or both ≤ {ERR_FLOOR:g}, "
        f"and |ΔRk| ≤ {RANK_TOL:g}; Table 2: |ΔRMSE| ≤ {RMSE_TOL:g} (headline checkpoint reading). Tables 1, 3, 4 "
        f"under the defaults (every printed cell) and under each reading that reran one (the cells it ran): {said}",
        "",
        "| reading | table | optimizer | depth | penalty | paper Err / Rk | ours Err / Rk | mark | note | decided by |",
        "|---|---|---|---:|---|---|---|---|---|---|",
    ]
    for _, r in syn.iterrows():
        ours = (
            f"{fmt_err(r['test_error_mean'])} / {fmt_rank(r['effective_rank_mean'])}"
            if r["mark"] != "not run"
            else ""
        )
        lines.append(_md_line([r["reading"], r["table"], r["optimizer"], r["depth"], r["penalty"],
                               f"{fmt_err(r['paper_err'])} / {int(r['paper_rank'])}", ours, r["mark"], r["note"],
                               r["decided_by"]]))  # fmt: skip
    if not t2.empty:
        lines += [
            "",
            "| table | split | model | method | paper RMSE | ours | mark |",
            "|---|---|---|---|---:|---:|---|",
        ]
        for _, r in t2.iterrows():
            lines.append(_md_line([r["table"], r["split"], r["model"], r["method"], f"{r['paper_rmse']:.3f}",
                                   f"{r['rmse_mean']:.3f}", r["mark"]]))  # fmt: skip
    return "\n".join(lines) + "\n"


def write_paper_vs_ours(frames: Mapping[str, pd.DataFrame], md: str, csv: str) -> pd.DataFrame:
    """``frames``: per reading (``"defaults"`` first), its table rows with ``_decided`` and ``_how``
    (:func:`matcomp.report.claims.with_decisions`), experiments named as the defaults'."""
    syn = by_reading(frames)
    df = frames.get(DEFAULTS, pd.DataFrame())
    t2 = table2(df) if not df.empty else pd.DataFrame()
    out = pd.concat([syn, t2], ignore_index=True)
    write_with(csv, lambda t: out.to_csv(t, index=False))
    write_with(md, lambda t: Path(t).write_text(to_markdown(syn, t2)))
    return out
