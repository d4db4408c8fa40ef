"""Validation of the plateau stop (``train.stop: plateau``) against the same cells run to their full budget.

For each cell (optimizer × penalty × depth, λ 0.05, rank 5, 2 000 entries, seeds 0 and 1) a reference run
to its full budget (``matcomp train --stop budget``) is imported into ``--cache`` as a compact record (final
values, and per seed the logged iterations, data term, test error and effective rank).  The plateau stop
reads exactly those logged points, so where it stops a run, and what the run is there, follows from the
reference's trajectory (``--confirm`` trains cells with ``--stop plateau`` and checks that they stop there
with those values).  The table compares, per cell and seed, the values where the rule (the current one,
and the first one without the drift condition) would have stopped with the final ones: they agree when
both errors are ≤ 1e-6, or the log10 errors differ by at most the seeds' spread (at least 0.05) and the
ranks by at most the seeds' spread (at least 0.5).  Then the claims of Table 1 that these cells decide,
judged once on the values where the rule stops and once on the full budget's.

    python benchmarks/plateau_validation.py --import /path/to/full_runs   # full_<opt>_<pen>_d<D>_<N>.json
    python benchmarks/plateau_validation.py --confirm adam_ratio_d1 gd_none_d1
    python benchmarks/plateau_validation.py            # the table: benchmarks/plateau_validation.md
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

from matcomp.plan.budgets import claim_budgets
from matcomp.report.claims import evaluate, load_claims
from matcomp.training import plateau

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / "plateau_validation"
NAME = re.compile(r"full_(\w+?)_(ratio|none|nuclear|schatten_ratio-1-2-2-3)_d(\d)_(\d+)\.json")
SPECS = {"schatten_ratio-1-2-2-3": "schatten_ratio:1/2:2/3"}  # file-name form -> penalty spec


def import_runs(folder: Path, cache: Path) -> None:
    """Compact records of the reference runs found in ``folder`` (run JSON + trajectory, as the CLI writes)."""
    from matcomp.store import results

    cache.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.glob("full_*.json")):
        m = NAME.fullmatch(path.name)
        if not m:
            continue
        opt, pen, depth, budget = m.groups()
        doc = json.loads(path.read_text())
        traj = np.load(results.trajectory_path(path), allow_pickle=False)
        seeds = []
        for i, run in enumerate(doc["runs"]):
            logged = {k: traj[k][i].tolist() for k in ("data_term", "test_error", "effective_rank")}
            seeds.append({k: run[k] for k in ("seed", "test_error", "effective_rank", "iterations", "stop_reason")}
                         | {"trajectory": {"iterations": traj["iterations"].tolist(), **logged}})  # fmt: skip
        record = {"optimizer": opt, "penalty": SPECS.get(pen, pen),
                  "depth": int(depth), "budget": int(budget), "lam": 0.05, "seeds": seeds,
                  "settings": {k: doc["settings"].get(k) for k in ("lr", "tol", "tol_on", "init", "log", "reduction", "dtype")},
                  "provenance": {k: doc["provenance"].get(k) for k in ("device_name", "seconds", "torch_threads", "created")}
                  | {"torch": doc["provenance"]["versions"]["torch"], "machine": platform.processor() or platform.machine()}}  # fmt: skip
        (cache / f"{opt}_{pen}_d{depth}.json").write_text(json.dumps(record) + "\n")
        print("imported", path.name)


def stop_point(seed: dict, drift: bool = True) -> tuple[int, float, float] | None:
    """Where the plateau rule (with or without its drift condition) stops this run: (iteration, Err, Rk)."""
    traj = seed["trajectory"]
    it = np.asarray(traj["iterations"], dtype=float)
    arrays = [np.asarray(traj[k], dtype=float) for k in ("data_term", "test_error", "effective_rank")]
    with mock.patch.object(plateau, "_drifting", plateau._drifting if drift else (lambda *a: "")):
        for k, t in enumerate(it):
            if 0 < t <= seed["iterations"] and plateau.still_moving(it, *arrays, int(t)) == "":
                return int(t), float(arrays[1][k]), float(arrays[2][k])
    return None


def _agree(stop: tuple[int, float, float] | None, seed: dict, err_spread: float, rank_spread: float) -> str:
    if stop is None:
        return "runs to the end"
    _, e, r = stop
    if e <= 1e-6 and seed["test_error"] <= 1e-6:
        return "yes (both ≤ 1e-6)"
    d_err = abs(math.log10(max(e, 1e-30)) - math.log10(max(seed["test_error"], 1e-30)))
    d_rank = abs(r - seed["effective_rank"])
    ok = d_err <= max(err_spread, 0.05) and d_rank <= max(rank_spread, 0.5)
    return "yes" if ok else f"**no** (Δlog10 Err {d_err:.2f}, ΔRk {d_rank:.2f})"


def rows(cache: Path) -> list[dict]:
    out = []
    for path in sorted(cache.glob("*.json")):
        rec = json.loads(path.read_text())
        errs = [math.log10(max(s["test_error"], 1e-30)) for s in rec["seeds"]]
        ranks = [s["effective_rank"] for s in rec["seeds"]]
        for seed in rec["seeds"]:
            first, now = stop_point(seed, drift=False), stop_point(seed)
            out.append({**{k: rec[k] for k in ("optimizer", "penalty", "depth", "budget")}, "seed": seed["seed"],
                        "final": (seed["test_error"], seed["effective_rank"]), "ran": seed["iterations"],
                        "stop_reason": seed["stop_reason"], "first": first, "now": now,
                        "agree_first": _agree(first, seed, float(np.ptp(errs)), float(np.ptp(ranks))),
                        "agree": _agree(now, seed, float(np.ptp(errs)), float(np.ptp(ranks))),
                        "se_log10_err": float(np.std(errs, ddof=1) / math.sqrt(len(errs))) if len(errs) > 1 else math.nan})  # fmt: skip
    return out


def _seed_point(r: dict, which: str) -> tuple[float, float, int, str]:
    """(Err, Rk, iterations, stop reason) of one seed where the rule stops it (``now``) or at its end."""
    if which == "now" and r["now"]:
        return r["now"][1], r["now"][2], r["now"][0], "plateau"
    return r["final"][0], r["final"][1], r["ran"], r["stop_reason"]


def _cells(table: list[dict], which: str) -> pd.DataFrame:
    """Table 1 rows (mean over seeds) from the values where the rule stops (``now``) or the full budget's.
    A cell is decided as the claims decide it: it ran the paper's 5·10⁵ iterations, or every seed was stopped
    by the plateau rule or the tolerance (a shorter reference that did neither is not decided)."""
    frame = []
    for (opt, pen, depth), group in pd.DataFrame(table).groupby(["optimizer", "penalty", "depth"]):
        points = [_seed_point(r, which) for _, r in group.iterrows()]
        reasons = {p[3] for p in points}
        frame.append({"experiment": "table1", "optimizer": opt, "penalty": pen, "depth": depth, "n_obs": 2000,
                      "lam": 0.0 if pen == "none" else 0.05,
                      "test_error_mean": float(np.mean([p[0] for p in points])), "n_seeds": len(points),
                      "n_diverged": 0, "effective_rank_mean": float(np.mean([p[1] for p in points])),
                      "max_iters": max(p[2] for p in points), "stop_reasons": ";".join(sorted(reasons)),
                      "plateaued": reasons <= {"plateau", "converged"},
                      "still_moving": "" if reasons <= {"plateau", "converged"} else "reference shorter than the paper's budget"})  # fmt: skip
    return pd.DataFrame(frame)


def verdicts(table: list[dict]) -> pd.DataFrame:
    """The Table 1 claims these cells decide, on the stopped values and on the full budget's."""
    from matcomp.plan.config import load, read_yaml

    budget = claim_budgets(load(read_yaml(ROOT / "config.yaml")), ROOT / "config.yaml")
    claims = [c for c in load_claims() if c["id"].startswith(("T1-", "I1-"))]
    now, full = (evaluate(claims, _cells(table, w), budget).set_index("id") for w in ("now", "full"))
    both = now[["verdict"]].join(full[["verdict"]].rename(columns={"verdict": "verdict_full"}))
    return both[(both["verdict"] != "not run") | (both["verdict_full"] != "not run")]


def _fmt(stop: tuple | None) -> str:
    return "–" if stop is None else f"{stop[0]:,}: {stop[1]:.3g} / {stop[2]:.2f}"


R_SEEDS = 0.25  # claim R-seeds: the largest standard error of log10 Err it calls negligible


def seed_spread(table: list[dict]) -> list[str]:
    """The standard error of log10 Err over the seeds at the full budget, and the cells above R-seeds' bound."""
    cells = {}
    for r in table:
        if not math.isnan(r["se_log10_err"]):
            cells.setdefault(
                f"{r['optimizer']} + {r['penalty']}, depth {r['depth']}", (r["se_log10_err"], [])
            )[1].append(f"{r['final'][0]:.3g}")
    se = [v[0] for v in cells.values()]
    lines = [f"Standard error of log10 Err over the seeds at the full budget: median {np.median(se):.3f}, largest "
             f"{max(se):.3f} (claim R-seeds calls ≤ {R_SEEDS} negligible)."]  # fmt: skip
    over = {name: v for name, v in cells.items() if v[0] > R_SEEDS}
    if not over:
        return [*lines[:1], "", "Every cell is within it: 2 seeds decide the claims these cells reach, hence the "
                "`decide` scale's 2 seeds."]  # fmt: skip
    named = "; ".join(f"{name}: {se:.3f} (Err {' and '.join(errs)})" for name, (se, errs) in over.items())
    return [*lines, "", f"Above it: {named}. There the seeds disagree by more than the paper's 'negligible' "
            "allows, so R-seeds is not held at the full budget on these cells; the claims check the seeds' mean, "
            "which with seeds this far apart moves with the seeds that ran, so a threshold between their values "
            "is fragile there (the paper's 5 seeds narrow it). Elsewhere 2 seeds decide the claims these cells reach, hence the `decide` scale's 2 seeds."]  # fmt: skip


def readings_of(cache: Path) -> str:
    """The readings the cache's references ran under (records before ``init`` existed ran ``layer``)."""
    found = set()
    for path in cache.glob("*.json"):
        st = json.loads(path.read_text())["settings"]
        found.add(f"init {st.get('init') or 'layer'}, tolerance on {st.get('tol_on') or 'data'}")
    return "; ".join(sorted(found))


def table_md(
    cache: Path, title: str = "# The plateau stop against full budgets (`benchmarks/plateau_validation.py`)"
) -> str:
    """The validation table of ``cache``, then one section per sub-folder (references under other readings)."""
    table = rows(cache)
    lines = [
        title,
        "",
        "Each cell: λ 0.05, rank 5, 2 000 entries, seeds 0 and 1, float32, CPU, trained to its full budget "
        "(`--stop budget`). *First rule*: the plateau rule without its drift condition; *rule*: the rule as it "
        "stands (`matcomp.training.plateau`). Entries: iteration where the rule stops the run: Err / Rk there; agree: "
        "against the run's final values (both ≤ 1e-6, or within the seeds' spread, at least 0.05 in log10 Err "
        f"and 0.5 in Rk). Readings of these references: {readings_of(cache)}.",
        "",
        "| cell | seed | budget | final Err / Rk (stop) | first rule stops at | agrees | rule stops at | agrees |",
        "|---|---:|---:|---|---|---|---|---|",
    ]
    for r in table:
        fin = f"{r['final'][0]:.3g} / {r['final'][1]:.2f} ({r['stop_reason']} at {r['ran']:,})"
        lines.append(f"| {r['optimizer']} + {r['penalty']}, depth {r['depth']} | {r['seed']} | {r['budget']:,} | {fin} "
                     f"| {_fmt(r['first'])} | {r['agree_first']} | {_fmt(r['now'])} | {r['agree']} |")  # fmt: skip
    early = [r for r in table if r["now"] and r["now"][0] < r["ran"]]
    wrong = [r for r in table if r["agree"].startswith("**no")]
    wrong_first = [r for r in table if r["agree_first"].startswith("**no")]
    saved = sum(r["ran"] - r["now"][0] for r in early) / max(sum(r["ran"] for r in table), 1)
    lines += [
        "",
        f"Runs: {len(table)}; the rule stops {len(early)} early and disagrees with the full budget on "
        f"{len(wrong)}; the first rule disagreed on {len(wrong_first)}. Iterations saved: {saved:.0%}.",
        "",
        "## The claims these cells decide",
        "",
        "| claim | on the values where the rule stops | at the full budget |",
        "|---|---|---|",
    ]
    for cid, v in verdicts(table).iterrows():
        lines.append(f"| {cid} | {v['verdict']} | {v['verdict_full']} |")
    lines += ["", "## Seed spread (2 seeds)", "", *seed_spread(table), *confirmations(cache)]
    for sub in sorted(d for d in cache.iterdir() if d.is_dir() and any(d.glob("*.json"))):
        lines += [
            "",
            table_md(sub, f"# References under other readings: `{sub.name}`").replace("\n## ", "\n### "),
        ]
    return "\n".join(lines) + "\n"


def confirmed_path(cache: Path) -> Path:
    return cache.with_name(f"{cache.name}_confirmed.json")


def confirm(cells: list[str], cache: Path) -> None:
    """Train ``cells`` (``opt_pen_dD``) with ``--stop plateau`` and check they stop where the replay says;
    the outcome is kept beside the cache (``*_confirmed.json``) for the table."""
    done = json.loads(confirmed_path(cache).read_text()) if confirmed_path(cache).exists() else {}
    for cell in cells:
        rec = json.loads((cache / f"{cell}.json").read_text())
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run.json"
            cmd = [sys.executable, "-m", "matcomp.cli", "train", "--optimizer", rec["optimizer"], "--penalty",
                   rec["penalty"], "--lam", "0.05", "--depth", str(rec["depth"]), "--seeds", "0", "1",
                   "--max-iters", str(rec["budget"]), "--stop", "plateau", "--out", str(out), "--quiet"]  # fmt: skip
            threads = str(
                rec["provenance"].get("torch_threads", 1)
            )  # the reference's: float32 sums depend on it
            subprocess.run(
                cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
            )
            runs = json.loads(out.read_text())["runs"]
        done[cell] = []
        for run, seed in zip(runs, rec["seeds"], strict=True):
            want = stop_point(seed)
            got = (run["iterations"], run["test_error"], run["effective_rank"])
            same = want is not None and got[0] == want[0] and math.isclose(got[1], want[1], rel_tol=1e-6)
            same = same or (want is None and run["stop_reason"] != "plateau")
            done[cell].append({"seed": seed["seed"], "trainer": list(got), "stop_reason": run["stop_reason"],
                               "replay": list(want) if want else None, "same": same})  # fmt: skip
            print(f"{cell} seed {seed['seed']}: plateau stop {got} ({run['stop_reason']}); replay {want}: "
                  f"{'same' if same else 'DIFFERENT'}")  # fmt: skip
    confirmed_path(cache).write_text(json.dumps(done, indent=1) + "\n")


def confirmations(cache: Path) -> list[str]:
    """The table's lines on the trainer's own stop (``--confirm``), if any cell was confirmed."""
    if not confirmed_path(cache).exists():
        return []
    done = json.loads(confirmed_path(cache).read_text())
    lines = ["", "## The trainer's own stop (`--confirm`)", "",
             "Cells trained with `--stop plateau` on the reference's number of threads (float32 sums depend on it): where the trainer stopped against where the replay says.", "",
             "| cell | seed | trainer stops at | replay | same |", "|---|---:|---|---|---|"]  # fmt: skip
    for cell, seeds in sorted(done.items()):
        for s in seeds:
            replay = _fmt(tuple(s["replay"])) if s["replay"] else "runs to the end"
            lines.append(f"| {cell} | {s['seed']} | {_fmt(tuple(s['trainer']))} ({s['stop_reason']}) | {replay} "
                         f"| {'yes' if s['same'] else '**no**'} |")  # fmt: skip
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--import", dest="folder", type=Path, help="import the reference runs of this folder")
    ap.add_argument("--confirm", nargs="+", help="cells (opt_pen_dD) to train with --stop plateau and check")
    ap.add_argument("--cache", type=Path, default=CACHE)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "plateau_validation.md")
    a = ap.parse_args()
    if a.folder:
        import_runs(a.folder, a.cache)
    if a.confirm:
        confirm(a.confirm, a.cache)
        return
    text = table_md(a.cache)
    a.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
