"""Training equivalence of the spectral routes: the polar route against the SVD route, same cells.

For each configuration (optimizer + penalty, depth, rank), 3 seeds trained as one batch on the CPU in
float32 for ``--steps`` steps (default 20 000) with ``spectral: svd`` and with ``spectral: polar``; the
table gives each route's final test error (mean, min–max over seeds) and effective rank, and whether the
routes agree: both ≤ 1e-6, or the difference of their seed means within the larger of their seed-to-seed
spreads (in log10 for the error).  Each configuration's runs are cached in ``--cache`` (one JSON per
configuration and route), so an interrupted run resumes.

    python benchmarks/polar_training.py [--steps 20000] [--out benchmarks/polar_training.md]
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

CONFIGS = [  # optimizer, penalty, λ, depth, rank, n_obs
    ("adam", "ratio", 0.05, 1, 5, 2000),
    ("adam", "ratio", 0.05, 3, 5, 2000),
    ("adam", "ratio", 0.05, 1, 10, 3000),
    ("adam", "ratio", 0.05, 3, 10, 3000),
    ("adagrad", "ratio", 0.05, 3, 5, 2000),
    ("rmsprop", "ratio", 0.05, 1, 5, 2000),
    ("adam", "nuclear", 0.05, 1, 5, 2000),
]
SEEDS = (0, 1, 2)


def run(config: tuple, route: str, steps: int, cache: Path) -> dict:
    optimizer, penalty, lam, depth, rank, n_obs = config
    path = cache / f"{optimizer}_{penalty}_d{depth}_r{rank}_{route}_{steps}.json"
    if path.exists():
        return json.loads(path.read_text())
    problems = [make_problem(100, 100, rank, n_obs, seed=s) for s in SEEDS]
    cfg = TrainConfig(optimizer=optimizer, penalty=penalty, depth=depth, max_iters=steps, log="log:40",
                      device="cpu", spectral=route)  # fmt: skip
    t0 = time.perf_counter()
    res = train_batch(problems, [lam] * len(problems), cfg)
    out = {
        "test_error": [r["test_error"] for r in res.runs],
        "effective_rank": [r["effective_rank"] for r in res.runs],
        "seconds": time.perf_counter() - t0,
        "route": res.provenance["spectral_route"],
    }
    path.write_text(json.dumps(out))
    return out


def agree(a: dict, b: dict) -> str:
    ea, eb = np.log10(a["test_error"]), np.log10(b["test_error"])
    if max(a["test_error"]) <= 1e-6 and max(b["test_error"]) <= 1e-6:
        return "yes (both ≤ 1e-6)"
    spread = max(np.ptp(ea), np.ptp(eb), 0.05)
    ra, rb = np.asarray(a["effective_rank"]), np.asarray(b["effective_rank"])
    rank_spread = max(np.ptp(ra), np.ptp(rb), 0.05)
    ok = abs(ea.mean() - eb.mean()) <= spread and abs(ra.mean() - rb.mean()) <= rank_spread
    return "yes (within seed spread)" if ok else "**no**"


def fmt(res: dict) -> str:
    e = res["test_error"]
    return (
        f"{np.mean(e):.2e} ({min(e):.1e}–{max(e):.1e}) | {np.mean(res['effective_rank']):.2f} | "
        f"{res['seconds']:.0f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--out", default="benchmarks/polar_training.md")
    ap.add_argument("--cache", default="benchmarks/polar_training")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cache = Path(a.cache)
    cache.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# Polar vs SVD route: training equivalence ({a.steps} steps, float32, CPU, seeds {SEEDS})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{a.threads} thread(s). Test error: mean over seeds (min–max); Rk: mean effective rank; s: seconds.",
        "",
        "| optimizer + penalty (λ) | depth | rank | svd: test error | Rk | s | polar: test error | Rk | s | agree |",
        "|---|---:|---:|---|---:|---:|---|---:|---:|---|",
    ]
    for config in CONFIGS:
        svd, polar = (run(config, route, a.steps, cache) for route in ("svd", "polar"))
        optimizer, penalty, lam, depth, rank, _ = config
        row = f"| {optimizer} + {penalty} ({lam:g}) | {depth} | {rank} | {fmt(svd)} | {fmt(polar)} | {agree(svd, polar)} |"
        print(row, flush=True)
        lines.append(row)
    Path(a.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
