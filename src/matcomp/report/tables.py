"""Cell results -> the paper's tables (Err and Rk per optimizer × depth × penalty; mean over seeds)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..labels import PENALTY_LABELS
from ..store import results
from ..store.io import write_with
from ..training.penalties import get_penalty
from ..training.plateau import PLATEAU_FITTED, still_moving
from .cells import SEEDS_SEP, blown_up, join_stops


def penalty_label(spec: str) -> str:
    """Column label as in the paper: Ratio, Sch 1/2:2/3, Sch 1/3, Nuc, None (:data:`matcomp.labels.PENALTY_LABELS`)."""
    pen = get_penalty(spec)
    label = PENALTY_LABELS[pen.name]  # every registered penalty has one (checked while planning)
    return " ".join([label, ":".join(str(a) for a in pen.args)]) if pen.args else label


ERR_LEVELS = ("0.01", "0.001", "0.0001")
"""The trainer's test-error levels (:data:`matcomp.training.settings.CONVERGENCE_THRESHOLDS`) as its results key them:
the tables report each level's first logged crossing (spelled here so that the report's code does not
depend on the trainer's; ``tests/test_settings.py`` checks they agree)."""


def seed_motion(
    path: str | Path, cell: dict[str, Any], arrays: dict[str, np.ndarray] | None = None
) -> list[str]:
    """Per seed of one cell (depth) of a job file: ``""`` if it converged, diverged or plateaued
    (:func:`matcomp.training.plateau.still_moving`), else why it was still moving when its budget ran out
    (``arrays``: the cell's trajectory, if the caller has it)."""
    arrays = results.load_trajectory(path, cell["depth"]) if arrays is None else arrays
    out = []
    for i, r in enumerate(cell["runs"]):
        if r["stop_reason"] != "max_iters":
            out.append("")
            continue
        out.append(
            still_moving(
                arrays["iterations"], arrays["data_term"][i], arrays["test_error"][i],
                arrays["effective_rank"][i], int(r["iterations"]),
            )
        )  # fmt: skip
    return out


def motion_columns(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of per-seed rows with ``stop_reason``, ``max_iters`` and ``still_moving`` (:func:`seed_motion`):
    ``stop_reasons``, ``max_iters``, ``plateaued`` and ``still_moving`` as in :func:`cell_summaries`; empty
    for groups without them (the baselines of Figures 4-5)."""

    def one(g: pd.DataFrame) -> pd.Series:
        if g["max_iters"].isna().all():
            return pd.Series(
                {"stop_reasons": "", "max_iters": math.nan, "plateaued": math.nan, "still_moving": ""}
            )
        moving = [m for m in g["still_moving"] if isinstance(m, str) and m]
        return pd.Series(
            {
                "stop_reasons": join_stops(g["stop_reason"].dropna()),
                "max_iters": g["max_iters"].max(),
                "plateaued": not moving,
                "still_moving": moving[0] if moving else "",
            }
        )

    cols = ["stop_reason", "max_iters", "still_moving"]
    return df.groupby(keys, sort=False)[cols].apply(one).reset_index()


LEARNED = 0.5
"""A rank milestone counts only where the network has learned: its test error at most this fraction of the
untrained network's (W₀ ≈ 0 gives ≈ 1), so a transient dip of an untrained network's rank is not one."""


def _first_rank_hit(arrays: dict[str, np.ndarray], i: int, rank: int, stop: int) -> tuple[int, int] | None:
    """(the first logged iteration, the logged one before it) (up to ``stop``) from which on seed ``i``'s
    effective rank rounds to ``rank`` or below at every later logged point, where its test error has fallen
    to :data:`LEARNED` of its value at iteration 0: when its rank reduction is done, not a transient dip."""
    it = arrays["iterations"]
    logged = (it <= stop) & (it > 0)
    low = arrays["effective_rank"][i] < rank + 0.5
    learned = arrays["test_error"][i] <= LEARNED * arrays["test_error"][i][0]
    holds_after = np.flip(
        np.logical_and.accumulate(np.flip(low | ~logged))
    )  # low at every later logged point
    hit = np.flatnonzero(low & learned & logged & holds_after)
    return (int(it[hit[0]]), int(it[max(hit[0] - 1, 0)])) if hit.size else None


def resolved(at: int, before: int) -> tuple[float, float]:
    """An event first logged at ``at`` happened after the previous logged point ``before``: its bounds."""
    return (float(before) + 1, float(at)) if before < at else (float(at), float(at))


def seed_counts(hits: Sequence[tuple[int, int] | None], runs: Sequence[dict[str, Any]]) -> str:
    """Per seed, the bounds of an iteration count ((at, before) per seed, None: not reached, censored at the
    iterations it ran), as a ``<metric>_seeds`` field: the claims compare cells seed by seed."""
    return join_seeds(
        [
            resolved(*h) if h is not None else (float(r["iterations"]), math.inf)
            for h, r in zip(hits, runs, strict=True)
        ]
    )


SV_HALF = 0.5
"""A singular value has *developed* at the first logged iteration where it reaches this fraction of its final
value (l.92's "the time it takes … to develop")."""
SV_STABLE = 0.1
"""The top singular values have *stabilised* from the logged iteration on which each stays within this relative
distance of its final value (l.92's "taking longer to stabilize")."""


def _sv_times(arrays: dict[str, np.ndarray], i: int, rank: int, stop: int) -> tuple[int, ...] | None:
    """(σ₁ developed, σ_rank developed, the top ``rank`` stabilised, and the logged point before each of
    the three): first logged iterations (up to ``stop``) of seed ``i``'s spectrum, measured against its values at
    ``stop``, with the previous logged iteration as the resolution (the event lies between the two); None
    where the network has not learned (test error above :data:`LEARNED` of its initial value: an untrained
    spectrum has nothing to develop)."""
    it = arrays["iterations"]
    logged = np.flatnonzero(it <= stop)
    err = arrays["test_error"][i]
    if not (logged.size > 1 and err[logged[-1]] <= LEARNED * err[0]):
        return None
    sv = arrays["spectrum"][i][logged, :rank]  # [T, rank], descending per row
    final = sv[-1]
    developed = sv >= SV_HALF * final
    near = np.abs(sv - final) <= SV_STABLE * np.abs(final)
    stays = np.flip(np.logical_and.accumulate(np.flip(near.all(axis=1))))
    idx = [int(np.flatnonzero(ok)[0]) for ok in (developed[:, 0], developed[:, -1], stays)]
    at, before = it[logged], [int(it[logged][max(k - 1, 0)]) for k in idx]
    return int(at[idx[0]]), int(at[idx[1]]), int(at[idx[2]]), before[0], before[1], before[2]


def _sv_counts(arrays: dict[str, np.ndarray], runs: Sequence[dict[str, Any]], rank: int) -> dict[str, float]:
    """The singular values' timing (:func:`_sv_times`) over the seeds: ``iters_to_sv1``, ``iters_to_svr``
    (σ_rank, the data's rank) and ``iters_to_sv_stable`` as counts with bounds (a seed that has not learned
    has not reached them), each also per seed (``<name>_seeds``, with the logging's resolution), and ``sv_gap``, the median over seeds of σ_rank's logged time minus σ₁'s (NaN unless
    every seed learned; ``sv_gap_seeds``: each seed's bounds), with ``sv_gap_lo``/``sv_gap_hi`` bounding every seed's true gap by the logging's
    resolution (near 5·10⁵ iterations the log-spaced points are ~3·10⁴ apart: a logged gap of 0 is not 0)."""
    times = [_sv_times(arrays, i, rank, int(r["iterations"])) for i, r in enumerate(runs)]
    out: dict[str, float] = {}
    for k, name in enumerate(("iters_to_sv1", "iters_to_svr", "iters_to_sv_stable")):
        hits = [t[k] if t is not None else None for t in times]
        out[name], out[f"{name}_lo"], out[f"{name}_hi"] = count_bounds(hits, runs)
        out[f"{name}_seeds"] = seed_counts([(t[k], t[3 + k]) if t is not None else None for t in times], runs)
    learned = [t for t in times if t is not None]
    every = len(learned) == len(runs) and bool(learned)
    out["sv_gap"] = float(np.median([t[1] - t[0] for t in learned])) if every else math.nan
    out["sv_gap_lo"] = float(min(t[4] + 1 - t[0] for t in learned)) if every else math.nan
    out["sv_gap_hi"] = float(max(t[1] - t[3] - 1 for t in learned)) if every else math.nan
    out["sv_gap_seeds"] = join_seeds(
        [(t[4] + 1 - t[0], t[1] - t[3] - 1) if t is not None else (math.nan, math.nan) for t in times]
    )
    return out


def count_bounds(hits: Sequence[int | None], runs: Sequence[dict[str, Any]]) -> tuple[float, float, float]:
    """(exact, lower bound, upper bound) over the seeds of an iteration count that some seeds may not have
    reached, read at the *slowest* seed (a cell has reached a level when every seed has: a median would
    hide seeds that never did): a seed that reached it counts exactly, one that did not counts as more
    than the iterations it ran (lower bound: those iterations; upper bound: never).  The exact value is NaN
    unless every seed reached it."""
    lo = [float(h) if h is not None else float(r["iterations"]) for h, r in zip(hits, runs, strict=True)]
    hi = [float(h) if h is not None else math.inf for h in hits]
    exact = float(max(lo)) if all(h is not None for h in hits) else math.nan
    return exact, float(max(lo)), float(max(hi))


def join_seeds(values: Sequence[Any]) -> str:
    """Per-seed values (numbers, or (lo, hi) intervals of a count) as one field: ``1.2e-07;inf``,
    ``300:300;1500:inf``."""

    def one(v: Any) -> str:
        if isinstance(v, tuple):
            return ":".join(repr(float(x)) for x in v)
        return "nan" if v is None else repr(float(v))

    return SEEDS_SEP.join(one(v) for v in values)


def settled_hit(it: np.ndarray, values: np.ndarray, level: float, stop: int) -> tuple[float, float] | None:
    """Bounds (lo, hi) of the iteration after which ``values`` stay at or below ``level`` to the end of the
    run (``stop``): the first logged point from which every later logged point is at or below it, resolved
    to the logged spacing (the last point above it is before); None if the run ends above it."""
    logged = np.flatnonzero(it <= stop)
    below = np.nan_to_num(values[logged], nan=np.inf) <= level
    if not below.size or not below[-1]:
        return None
    stays = np.flip(np.logical_and.accumulate(np.flip(below)))
    t = int(np.flatnonzero(stays)[0])
    return resolved(int(it[logged][t]), int(it[logged][max(t - 1, 0)]))


def _settled_counts(arrays: dict[str, np.ndarray], runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per test-error level (:data:`ERR_LEVELS`): when each seed's error came to stay at or below it (a speed
    claim's "converges": a transient crossing that climbs back does not count), with the logging's
    resolution as bounds; a seed that diverged or ends above the level is censored at its iterations."""
    out: dict[str, Any] = {}
    for thr in ERR_LEVELS:
        per_seed = []
        for i, r in enumerate(runs):
            hit = None
            if r["stop_reason"] != "diverged":
                hit = settled_hit(
                    arrays["iterations"], arrays["test_error"][i], float(thr), int(r["iterations"])
                )
            per_seed.append(hit if hit is not None else (float(r["iterations"]), math.inf))
        key = f"iters_to_err_{thr}"
        lo, hi = max(b[0] for b in per_seed), max(b[1] for b in per_seed)
        out[key] = lo if lo == hi else math.nan
        out[f"{key}_lo"], out[f"{key}_hi"], out[f"{key}_seeds"] = lo, hi, join_seeds(per_seed)
    return out


def data_term_ratios(arrays: dict[str, np.ndarray], runs: Sequence[dict[str, Any]]) -> list[float]:
    """Per seed: its last data term over its data term at iteration 0 (+inf for a diverged seed)."""
    data, out = arrays["data_term"], []
    for i, r in enumerate(runs):
        last = int(np.flatnonzero(arrays["iterations"] <= int(r["iterations"]))[-1])
        start = float(data[i][0])
        out.append(
            math.inf if r["stop_reason"] == "diverged" else float(data[i][last]) / start if start > 0 else 0.0
        )
    return out


def trained(ratio: float) -> bool:
    """A seed trained when it fitted its observed entries (data term at most
    :data:`matcomp.training.plateau.PLATEAU_FITTED` of its start) or diverged.  A cell whose seeds did not is an
    untrained network's numbers, which meet every "fails" criterion and prove nothing."""
    return math.isinf(ratio) or ratio <= PLATEAU_FITTED


def _trained(arrays: dict[str, np.ndarray], runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``data_term_ratio_seeds`` and ``trained`` (every seed trained: :func:`trained`)."""
    ratios = data_term_ratios(arrays, runs)
    return {"data_term_ratio_seeds": join_seeds(ratios), "trained": all(trained(x) for x in ratios)}


def _seed_stats(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Means and sds over the seeds; a diverged seed's test error counts as +inf (a success claim cannot hold
    on the seeds that survived), its rank is left out of the rank's mean and counted in ``n_diverged``."""
    diverged = [r["stop_reason"] == "diverged" for r in runs]
    row: dict[str, Any] = {"n_seeds": len(runs), "n_diverged": int(sum(diverged)),
                           "n_blown_up": sum(blown_up(r["test_error"]) for r in runs)}  # fmt: skip
    for key in ("test_error", "test_error_unobserved", "effective_rank", "iterations"):
        values = [r[key] for r in runs]
        if key.startswith("test_error"):
            values = [math.inf if d else v for v, d in zip(values, diverged, strict=True)]
        row[f"{key}_mean"], row[f"{key}_sd"] = _stats(values)
        if key != "iterations":  # a diverged seed: error and rank +inf (as far from recovering as it gets)
            row[f"{key}_seeds"] = join_seeds(
                [math.inf if d else v for v, d in zip(values, diverged, strict=True)]
            )
    row["seeds"] = SEEDS_SEP.join(str(r.get("seed", i)) for i, r in enumerate(runs))
    row["iterations_seeds"] = SEEDS_SEP.join(str(int(r["iterations"])) for r in runs)
    row["stop_reason_seeds"] = SEEDS_SEP.join(str(r["stop_reason"]) for r in runs)
    errs = np.array(
        [v for v, d in zip((r["test_error"] for r in runs), diverged, strict=True) if not d and v], float
    )
    errs = errs[np.isfinite(errs) & (errs > 0)]
    row["log10_test_error_se"] = (
        math.inf  # a diverged seed is as far from the others as it gets: the spread is unbounded
        if any(diverged) and len(runs) > 1
        else float(np.std(np.log10(errs), ddof=1) / np.sqrt(errs.size))
        if errs.size > 1
        else math.nan
    )
    return row


def _stats(values: list[float | None]) -> tuple[float, float]:
    arr = np.array([np.nan if v is None else v for v in values], dtype=float)
    if arr.size == 0 or np.all(np.isnan(arr)):
        return math.nan, math.nan
    if np.isinf(arr).any():
        return math.inf, math.nan
    return float(np.nanmean(arr)), float(np.nanstd(arr, ddof=1)) if np.sum(~np.isnan(arr)) > 1 else 0.0


def _counts(arrays: dict[str, np.ndarray], cell: dict[str, Any], rank: int) -> dict[str, float]:
    """Iterations to each test-error level, to the data's rank and the singular values' times: median and
    bounds over the seeds (``arrays``: the cell's trajectory)."""
    runs = cell["runs"]
    out = _settled_counts(arrays, runs)
    for thr in ERR_LEVELS:  # the first logged crossing, for the figures' readers (no claim reads it)
        hits = [r["iterations_to_test_error"].get(thr) for r in runs]
        out[f"first_err_{thr}"] = count_bounds(hits, runs)[0]
    ranked = [_first_rank_hit(arrays, i, rank, int(r["iterations"])) for i, r in enumerate(runs)]
    hits = [h[0] if h is not None else None for h in ranked]
    out["iters_to_rank"], out["iters_to_rank_lo"], out["iters_to_rank_hi"] = count_bounds(hits, runs)
    out["iters_to_rank_seeds"] = seed_counts(ranked, runs)
    out.update(_sv_counts(arrays, runs, rank))
    out.update(_trained(arrays, runs))
    out["test_error_at_0"] = float(np.median(arrays["test_error"][:, 0]))  # the untrained network's
    out["effective_rank_at_0"] = float(np.median(arrays["effective_rank"][:, 0]))
    return out


SETTING_COLUMNS = {"stop": "stop_rule", "spectral": "route"}
"""Training settings whose cell column has another name (the others keep theirs)."""


def _reading_settings(job: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    """The reading settings behind a cell's numbers (:data:`matcomp.report.style.READING_SETTINGS`): the initialisation, what the tolerance read, the data term's reduction, the stop rule, the spectral
    route that ran, GD's momentum (with ``gd_momentum``).  A result written before a setting
    existed ran that setting's earlier only behaviour (``init: layer``, ``tol_on: data``)."""
    train = job["train"]
    return {
        "lr": train.get("lr", math.nan),
        "init": train.get("init", "layer"),
        "tol_on": train.get("tol_on", "data"),
        "reduction": train.get("reduction", "sum"),
        "stop_rule": train.get("stop", "budget"),
        "route": (cell["provenance"].get("spectral_route") or {}).get("route", ""),
        "gd_momentum": train.get("gd_momentum", math.nan) if job["optimizer"] == "gd_momentum" else math.nan,
    }


def cell_summaries(path: str | Path) -> list[dict[str, Any]]:
    """One row per cell (depth) of a job file: settings, mean/sd over seeds (with diverged seeds counted),
    iteration counts with their bounds, stop reasons and plateau, its reading settings, the file.

    ``plateaued``: every seed converged, diverged, stopped on a plateau or had plateaued when its budget ran
    out (:func:`matcomp.training.plateau.still_moving`); ``still_moving``: otherwise why the first such seed had not.
    """
    result = results.read_result(path)
    job = result.doc["job"]
    rows = []
    for cell in result.doc["cells"]:
        runs = cell["runs"]
        arrays = result.trajectory(cell["depth"])
        moving = [m for m in seed_motion(path, cell, arrays) if m]
        rows.append(
            {
                "optimizer": job["optimizer"], "depth": cell["depth"], "penalty": job["penalty"],
                "penalty_label": penalty_label(job["penalty"]), "lam": job["lam"], "rank": job["rank"],
                "n_obs": job["n_obs"], **_seed_stats(runs), **_counts(arrays, cell, int(job["rank"])),
                "stop_reasons": join_stops(r["stop_reason"] for r in runs),
                "max_iters": job["train"]["max_iters"], "plateaued": not moving,
                "still_moving": moving[0] if moving else "", **_reading_settings(job, cell),
                "seconds": cell["provenance"]["seconds"], "device": cell["provenance"]["device"], "file": str(path),
            }
        )  # fmt: skip
    return rows


def summarize(paths: Sequence[str | Path], experiment: dict[str, Any] | None = None) -> pd.DataFrame:
    """Rows of every cell in ``paths``; with ``experiment``, only its optimizers × depths, in its order."""
    df = pd.DataFrame([row for p in paths for row in cell_summaries(p)])
    if experiment is not None and not df.empty:
        df = df[df["optimizer"].isin(experiment["optimizers"]) & df["depth"].isin(experiment["depths"])]
        order = {o: i for i, o in enumerate(experiment["optimizers"])}
        pens = {get_penalty(p).spec: i for i, p in enumerate(experiment.get("penalties", []))}
        df = df.assign(_o=df["optimizer"].map(order), _p=df["penalty"].map(pens).fillna(len(pens)))
        df = df.sort_values(["_o", "depth", "_p", "lam"], kind="stable").drop(columns=["_o", "_p"])
    return df.reset_index(drop=True)


def fmt_err(x: float) -> str:
    """The paper's style: 0.72, 4e-7, 7e+5, 1.6e+3."""
    if x is None or not np.isfinite(x):
        return "n/a"
    if 0.01 <= abs(x) < 10:
        return f"{x:.2f}"
    mant, exp = f"{x:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp):+d}".replace("e+", "e+").replace("e-0", "e-")


def fmt_rank(x: float) -> str:
    return "n/a" if x is None or not np.isfinite(x) else str(int(round(x)))


def _column_label(row: pd.Series, lams: bool, n_obs: bool) -> str:
    """The paper's column label (penalty), with λ and n_obs where the table varies them."""
    label = row["penalty_label"]
    if lams and row["penalty"] != "none":
        label += f" λ={row['lam']:g}"
    return label + (f" n={int(row['n_obs'])}" if n_obs else "")


def _err_entry(err: float, diverged: Any, blown: Any, n: Any) -> str:
    """A table's Err entry: the mean, ``div. 1/2`` for diverged seeds, ``9e+4 (1/2 blew up)``."""
    if pd.notna(diverged) and diverged:
        return f"div. {int(diverged)}/{int(n)}"
    return fmt_err(err) + (f" ({int(blown)}/{int(n)} blew up)" if pd.notna(blown) and blown else "")


def paper_layout(df: pd.DataFrame) -> pd.DataFrame:
    """Rows (optimizer, depth); columns (penalty [λ] [n_obs], Err|Rk), in config order; a cell with diverged
    seeds shows how many, one whose mean error holds blown-up seeds (:data:`.cells.BLOWN_UP`) says so."""
    lams = df.loc[df["penalty"] != "none", "lam"].nunique() > 1
    n_obs = df["n_obs"].nunique() > 1
    df = df.assign(_col=[_column_label(r, lams, n_obs) for _, r in df.iterrows()])
    opt_order = list(dict.fromkeys(df["optimizer"]))
    cols = {}
    for col in dict.fromkeys(df["_col"]):
        sub = df[df["_col"] == col].set_index(["optimizer", "depth"])
        div, blown = (
            sub[c] if c in sub else pd.Series(0, index=sub.index) for c in ("n_diverged", "n_blown_up")
        )
        cols[(col, "Err")] = pd.Series(
            [
                _err_entry(e, k, b, n)
                for e, k, b, n in zip(sub["test_error_mean"], div, blown, sub["n_seeds"], strict=True)
            ],
            index=sub.index,
        )
        cols[(col, "Rk")] = sub["effective_rank_mean"].map(fmt_rank)
    wide = pd.DataFrame(cols)
    index = [(o, d) for o in opt_order for d in sorted(df["depth"].unique()) if (o, d) in wide.index]
    wide = wide.loc[index].fillna("")
    wide.index.names = ["Optimizer", "Depth"]
    return wide


def to_markdown(wide: pd.DataFrame, title: str) -> str:
    header = ["Optimizer", "Depth"] + [f"{p} {m}" for p, m in wide.columns]
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (opt, depth), row in wide.iterrows():
        lines.append("| " + " | ".join([opt, str(depth), *row.tolist()]) + " |")
    return "\n".join(lines) + "\n"


def to_latex(wide: pd.DataFrame, caption: str) -> str:
    pens = list(dict.fromkeys(p for p, _ in wide.columns))
    spec = "ll" + "rr" * len(pens)
    out = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{caption}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
    ]
    out.append(
        " & ".join(["Optimizer", "Depth"] + [rf"\multicolumn{{2}}{{c}}{{{p}}}" for p in pens]) + r" \\"
    )
    out.append(" & ".join(["", ""] + ["Err", "Rk"] * len(pens)) + r" \\")
    out.append(r"\midrule")
    for (opt, depth), row in wide.iterrows():
        out.append(" & ".join([opt.replace("_", r"\_"), str(depth), *row.tolist()]) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(out) + "\n"


def write_table(
    name: str, experiment: dict[str, Any], jobs: Sequence[str], csv: str, md: str, tex: str
) -> pd.DataFrame:
    """Summarise the experiment's cells; write the long csv (sd, unobserved error, files) and md/tex layouts."""
    df = summarize(jobs, experiment)
    df.insert(0, "experiment", name)
    wide = paper_layout(df)
    caption = f"{name}: test error (Err, mean over {int(df['n_seeds'].max())} seeds) and effective rank (Rk)"
    write_with(md, lambda t: Path(t).write_text(to_markdown(wide, caption)))
    write_with(tex, lambda t: Path(t).write_text(to_latex(wide, caption)))
    write_with(csv, lambda t: df.to_csv(t, index=False))
    return df
