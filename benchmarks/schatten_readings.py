"""The two Schatten readings at the paper's full budget, against the numbers the paper prints.

The Schatten penalties' gradient σ^(p−1) weighs the smallest singular values most, and a float32 SVD
resolves those only to rounding noise (``benchmarks/README.md``, the gesvda route).  Two readings are
therefore possible: the float32 SVD (``spectral: svd``, what the paper's float32 PyTorch code computed,
the default) and a float64 SVD of the same float32 weights (``spectral: gesvda``: on a GPU cuSOLVER's
batched gesvda, here on the CPU the same float64 shifted matrix through LAPACK).  At 20 000 steps they
part beyond the seeds' spread at depth 1 (``gesvda_training.md``).  This runs a few depth-1 cells of
Tables 1 and 4 for the paper's 5·10⁵ iterations (or until the stopping rule fires) by each reading and
puts the final test error and effective rank beside the paper's, with the points in between (log-spaced).

Each reading is one mixed batch of the cells (one SVD per step for all), on the CPU, cached in
``--cache`` (one JSON per reading and step budget), so the two readings can run as two processes:

    python benchmarks/schatten_readings.py --reading svd &
    python benchmarks/schatten_readings.py --reading gesvda
    python benchmarks/schatten_readings.py --table-only
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from matcomp.data import make_problem
from matcomp.train import TrainConfig, train_batch

CELLS = [  # optimizer, penalty, depth; the paper's (Err, Rk) and where it prints them (λ 0.05, rank 5, 2 000 entries)
    ("adam", "schatten_ratio:1/2:2/3", 1, (0.72, 33), "Table 1"),
    ("adam", "schatten:1/2", 1, (0.94, 5), "Table 4 (Adam w.o. amsgrad)"),
    ("adam", "schatten:2/3", 1, (0.10, 5), "Table 4 (Adam w.o. amsgrad)"),
]
LAM, RANK, N_OBS = 0.05, 5, 2000
READINGS = {"svd": "float32 SVD (default)", "gesvda": "float64 SVD (gesvda reading; LAPACK here)"}
SHOWN_AT = (20_000, 100_000)


def cache_file(cache: Path, reading: str, steps: int, seed: int) -> Path:
    return cache / f"{reading}_{steps}_seed{seed}.json"


def run(reading: str, steps: int, seed: int, threads: int) -> dict:
    torch.set_num_threads(threads)
    cfg = TrainConfig(optimizer="adam", penalty=CELLS[0][1], depth=1, max_iters=steps, device="cpu",
                      spectral=reading, log="log:200")  # fmt: skip
    problems = [make_problem(100, 100, RANK, N_OBS, seed=seed) for _ in CELLS]
    t0 = time.perf_counter()
    res = train_batch(problems, [LAM] * len(CELLS), cfg, penalties=[c[1] for c in CELLS],
                      optimizers=[c[0] for c in CELLS])  # fmt: skip
    traj = res.trajectory
    cells = []
    for i, run_ in enumerate(res.runs):
        at = {int(s): (float(traj.test_error[i][j]), float(traj.effective_rank[i][j]))
              for s in SHOWN_AT if s <= steps for j in [int(np.searchsorted(traj.iterations, s))]}  # fmt: skip
        cells.append({k: run_[k] for k in ("optimizer", "penalty", "test_error", "effective_rank",
                                          "iterations", "stop_reason")} | {"at": at})  # fmt: skip
    return {"reading": reading, "steps": steps, "seed": seed, "cells": cells, "seconds": time.perf_counter() - t0,
            "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
            "threads": threads, "provenance": res.provenance}  # fmt: skip


def table(cache: Path, steps: int) -> str:
    """One row per cell, one column per reading, one entry per seed found in the cache."""
    docs = {
        r: [json.loads(f.read_text()) for f in sorted(cache.glob(f"{r}_{steps}_seed*.json"))]
        for r in READINGS
    }
    lines = [
        f"# The Schatten readings at {steps} steps (float32 weights, CPU)",
        "",
        "Depth-1 cells, Adam, λ 0.05, rank 5, 2 000 observed entries; one mixed batch per reading and seed "
        "(`benchmarks/schatten_readings.py`). Each entry: seed: final test error / effective rank (in brackets: at "
        + ", ".join(f"{s:,}" for s in SHOWN_AT if s <= steps)
        + " steps).",
        "",
        "| cell | paper: Err / Rk | " + " | ".join(READINGS.values()) + " |",
        "|---|---|" + "---|" * len(READINGS),
    ]
    for opt, pen, depth, (err, rk), where in CELLS:
        row = [f"{opt} + {pen}, depth {depth} ({where})", f"{err:g} / {rk}"]
        for reading in READINGS:
            row.append("<br>".join(_entry(doc, opt, pen, steps) for doc in docs[reading]) or "not run")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for reading, runs in docs.items():
        for doc in runs:
            lines.append(f"- {READINGS[reading]}, seed {doc['seed']}: {doc['seconds'] / 60:.0f} min on "
                         f"{doc['machine']}, torch {doc['torch']}, {doc['threads']} thread(s).")  # fmt: skip
    return "\n".join(lines) + "\n"


def _entry(doc: dict, optimizer: str, penalty: str, steps: int) -> str:
    found = [c for c in doc["cells"] if (c["optimizer"], c["penalty"]) == (optimizer, penalty)]
    if not found:
        return f"{doc['seed']}: not in this run"
    c = found[0]
    inner = "; ".join(f"{e:.2g} / {r:.1f}" for e, r in c["at"].values())
    inner = f" ({inner})" if inner else ""
    return f"{doc['seed']}: {c['test_error']:.2g} / {c['effective_rank']:.1f}{inner}{_stop(c, steps)}"


def _stop(cell: dict, steps: int) -> str:
    return "" if cell["stop_reason"] == "max_iters" else f", {cell['stop_reason']} at {cell['iterations']}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reading", choices=list(READINGS))
    ap.add_argument("--steps", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", default="benchmarks/schatten_readings")
    ap.add_argument("--out", default="benchmarks/schatten_readings.md")
    ap.add_argument("--table-only", action="store_true")
    a = ap.parse_args()
    cache = Path(a.cache)
    if not a.table_only:
        if a.reading is None:
            ap.error("--reading is needed unless --table-only")
        cache.mkdir(parents=True, exist_ok=True)
        doc = run(a.reading, a.steps, a.seed, a.threads)
        path = cache_file(cache, a.reading, a.steps, a.seed)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1) + "\n")
        tmp.replace(path)
        return
    text = table(cache, a.steps)
    Path(a.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
