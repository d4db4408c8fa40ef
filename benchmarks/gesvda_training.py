"""Training equivalence of the gesvda route: Schatten penalties in one mixed GPU batch against the CPU SVD route.

The reference: each configuration (optimizer + penalty, λ, depth, rank, n_obs) alone on the CPU with
``spectral: svd``, 3 seeds as one batch, float32, ``--steps`` steps (default 20 000).  The candidate: all
configurations of one depth as ONE mixed batch (``train_batch(..., penalties=[...], optimizers=[...])``, a
penalty and an optimizer per cell) on ``--candidate-device`` (default cuda) with ``spectral:
--candidate-route`` (default auto-gesvda, which on CUDA takes gesvda for the Schatten penalties).  The
table gives each side's final test error (mean, min–max over seeds) and effective rank, and whether they agree by
``polar_training.agree`` (both ≤ 1e-6, or the difference of their seed means within the larger of their
seed-to-seed spreads, in log10 for the error); a seed that diverged must have diverged on both sides, and
the rest are compared.  Runs are cached in ``--cache``, one JSON per configuration and side (the
candidate's file name holds the route it ran and the device), so the candidate can run on a GPU machine
and the table be written anywhere.

    python benchmarks/gesvda_training.py [--steps 20000] [--reference-only] [--candidate-device cuda]
        [--candidate-route auto-gesvda] [--threads 1] [--table-only] [--cache benchmarks/gesvda_training]
        [--out benchmarks/gesvda_training.md]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from polar_training import agree, fmt  # benchmarks/ is on sys.path when this script runs

from matcomp.data import make_problem
from matcomp.penalties import get_penalty
from matcomp.spectral import resolve_route, route_entry
from matcomp.train import TrainConfig, train_batch

N_OBS = 2000  # config.yaml: table3/table4 (and table1), λ = 0.05, rank 5
CONFIGS = [  # optimizer, penalty, λ, depth, rank, n_obs
    ("adam", "schatten:1/2", 0.05, 1, 5, N_OBS),
    ("rmsprop", "schatten:1/3", 0.05, 1, 5, N_OBS),
    ("gd", "schatten_ratio:1/3:2/3", 0.05, 1, 5, N_OBS),
    ("adam", "schatten_ratio:1/2:2/3", 0.05, 3, 5, N_OBS),
]
SEEDS = (0, 1, 2)
LOG = "log:40"


def label(config: tuple) -> str:
    optimizer, penalty, lam, depth, rank, n_obs = config
    return f"{optimizer}_{penalty.replace(':', '_').replace('/', '-')}_l{lam:g}_d{depth}_r{rank}_n{n_obs}"


def cache_path(cache: Path, config: tuple, route: str, device: str, steps: int, ref: bool = False) -> Path:
    """The reference's file (``..._reference-svd-cpu_STEPS.json``) or the candidate's (``..._ROUTE-DEVICE_STEPS``)."""
    return cache / f"{label(config)}_{'reference-' if ref else ''}{route}-{device}_{steps}.json"


def problems_of(config: tuple) -> list:
    _, _, _, _, rank, n_obs = config
    return [make_problem(100, 100, rank, n_obs, seed=s) for s in SEEDS]


def summary(runs: list[dict]) -> dict:
    return {
        "test_error": [r["test_error"] for r in runs],
        "effective_rank": [r["effective_rank"] for r in runs],
        "stop_reason": [r["stop_reason"] for r in runs],
        "diverged_at": [r["diverged_at"] for r in runs],
    }


def environment(device: torch.device) -> dict:
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine()
    )
    return {
        "device": str(device),
        "device_name": name,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def reference(config: tuple, steps: int, cache: Path) -> dict:
    """The configuration alone on the CPU, SVD route."""
    path = cache_path(cache, config, "svd", "cpu", steps, ref=True)
    if path.exists():
        return json.loads(path.read_text())
    optimizer, penalty, lam, depth, _, _ = config
    problems = problems_of(config)
    cfg = TrainConfig(optimizer=optimizer, penalty=penalty, depth=depth, max_iters=steps, log=LOG,
                      device="cpu", spectral="svd")  # fmt: skip
    t0 = time.perf_counter()
    res = train_batch(problems, [lam] * len(problems), cfg, seeds=list(SEEDS))
    out = {
        **summary(res.runs),
        "seconds": time.perf_counter() - t0,
        "route": res.provenance["spectral_route"],
        **environment(torch.device("cpu")),
    }
    path.write_text(json.dumps(out))
    return out


def candidate(configs: list[tuple], steps: int, cache: Path, device: str, route: str) -> None:
    """Configurations of one depth as one mixed batch on ``device``, unless every one is cached already;
    results cached per configuration."""
    dev = torch.device(device)
    planned = [resolve_route(route, get_penalty(c[1]), dev) for c in configs]
    paths = [cache_path(cache, c, r, dev.type, steps) for c, r in zip(configs, planned)]
    if all(p.exists() for p in paths):
        return
    depth = {c[3] for c in configs}
    assert len(depth) == 1, depth
    problems, lams, penalties, optimizers = [], [], [], []
    for c in configs:
        problems += problems_of(c)
        lams += [c[2]] * len(SEEDS)
        penalties += [c[1]] * len(SEEDS)
        optimizers += [c[0]] * len(SEEDS)
    cfg = TrainConfig(optimizer=optimizers[0], penalty=penalties[0], depth=depth.pop(), max_iters=steps,
                      log=LOG, device=device, spectral=route)  # fmt: skip
    t0 = time.perf_counter()
    res = train_batch(problems, lams, cfg, seeds=list(SEEDS) * len(configs), penalties=penalties,
                      optimizers=optimizers)  # fmt: skip
    seconds = time.perf_counter() - t0
    env = environment(dev)
    for i, (c, want) in enumerate(zip(configs, planned)):
        record = route_entry(res.provenance["spectral_route"], get_penalty(c[1]).spec)
        ran = record["route"]
        if ran != want:
            print(f"note: {label(c)} ran route {ran!r}, planned {want!r}", flush=True)
        out = {
            **summary(res.runs[i * len(SEEDS) : (i + 1) * len(SEEDS)]),
            "seconds": seconds,  # the whole mixed batch's wall time
            "route": record,
            "batch_cells": len(problems),
            "batch_configs": [label(b) for b in configs],
            **env,
        }
        cache_path(cache, c, ran, dev.type, steps).write_text(json.dumps(out))


def diverged(res: dict) -> np.ndarray:
    reasons = res.get("stop_reason", [None] * len(res["test_error"]))
    return np.array([r == "diverged" or not np.isfinite(e) for r, e in zip(reasons, res["test_error"])])


def subset(res: dict, keep: np.ndarray) -> dict:
    return {**res, **{k: [v for v, ok in zip(res[k], keep) if ok] for k in ("test_error", "effective_rank")}}


def agree_robust(a: dict, b: dict) -> str:
    """``polar_training.agree`` on the seeds that ran to the end; a diverged seed must diverge on both sides."""
    da, db = diverged(a), diverged(b)
    if (da != db).any():
        return f"**no** (diverged seeds: reference {np.flatnonzero(da).tolist()}, candidate {np.flatnonzero(db).tolist()})"
    if da.all():
        return "yes (every seed diverged on both)"
    verdict = agree(subset(a, ~da), subset(b, ~db))
    return verdict + (f"; seeds {np.flatnonzero(da).tolist()} diverged on both" if da.any() else "")


def fmt_robust(res: dict) -> str:
    """``polar_training.fmt`` over the seeds that did not diverge, with how many did."""
    d = diverged(res)
    if d.all():
        return f"diverged ({len(d)}/{len(d)}) | – | {res['seconds']:.0f}"
    text = fmt(subset(res, ~d))
    return text if not d.any() else f"{d.sum()}/{len(d)} diverged; rest: {text}"


def cached_table(refs: dict, cache: Path, steps: int) -> str:
    """Every cached candidate of every configuration against its reference ("not run" where none is)."""
    r0 = refs[CONFIGS[0]]
    lines = [
        f"# gesvda route: training equivalence ({steps} steps, float32, seeds {SEEDS})",
        "",
        f"Reference: each configuration alone, CPU, `spectral: svd` ({r0['device_name']}, torch {r0['torch']}, "
        f"{r0['threads']} thread(s)). Candidates: the configurations of one depth as one mixed batch "
        "(`penalties=`, `optimizers=`) on the device named, by the route named (gesvda on cuda: cuSOLVER's "
        "approximate SVD; gesvda on cpu: LAPACK on the same float64 shifted matrix). Test error: mean over "
        "seeds (min–max); Rk: mean effective rank; s: wall seconds (candidate: the whole mixed batch).",
        "",
        "| optimizer + penalty (λ) | depth | reference: test error | Rk | s | candidate | test error | Rk | s "
        "| agree |",
        "|---|---:|---|---:|---:|---|---|---:|---:|---|",
    ]
    for config in CONFIGS:
        ref = refs[config]
        optimizer, penalty, lam, depth, _, _ = config
        found = sorted(
            p for p in cache.glob(f"{label(config)}_*_{steps}.json") if "_reference-" not in p.name
        )
        head = f"| {optimizer} + {penalty} ({lam:g}) | {depth} | {fmt_robust(ref)} "
        if not found:
            lines.append(head + "| not run | | | | |")
        for path in found:
            cand = json.loads(path.read_text())
            name = f"{cand['route']['route']} on {cand['device']} ({cand['device_name']})"
            lines.append(head + f"| {name} | {fmt_robust(cand)} | {agree_robust(ref, cand)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--out", default="benchmarks/gesvda_training.md")
    ap.add_argument("--cache", default="benchmarks/gesvda_training")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--candidate-device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument(
        "--candidate-route", default="auto-gesvda", help="spectral route of the candidate (gesvda on CUDA)"
    )
    ap.add_argument("--reference-only", action="store_true", help="compute the CPU references only, no table")
    ap.add_argument(
        "--table-only",
        action="store_true",
        help="train nothing: one row per configuration and cached candidate (any route and device)",
    )
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cache = Path(a.cache)
    cache.mkdir(parents=True, exist_ok=True)
    refs = {}
    for config in CONFIGS:
        refs[config] = ref = reference(config, a.steps, cache)
        print(f"reference {label(config)}: {fmt_robust(ref)} | {ref['stop_reason']}", flush=True)
    if a.reference_only:
        return
    if not a.table_only:
        for depth in sorted({c[3] for c in CONFIGS}):
            group = [c for c in CONFIGS if c[3] == depth]
            candidate(group, a.steps, cache, a.candidate_device, a.candidate_route)
    Path(a.out).write_text(cached_table(refs, cache, a.steps))


if __name__ == "__main__":
    main()
