"""Training equivalence of two spectral routes: the same cells trained by a reference and a candidate route.

One study script for every question of the kind "does route B train like route A?" (it replaces the former
``polar_training.py``, ``gesvda_training.py`` and ``schatten_readings.py``):

``--study polar``
    the polar route (matrix products) against the SVD route, ratio and nuclear penalties, each configuration
    alone on the CPU, 3 seeds, 20 000 steps (``benchmarks/polar_training.md``);
``--study gesvda``
    Schatten penalties: the candidate runs all configurations of one depth as ONE mixed batch (as a GPU pack
    does) on ``--device`` (default cuda) by ``auto-gesvda`` (cuSOLVER's batched approximate SVD in
    float64), against each configuration alone by the float32 SVD on the CPU; 20 000 steps
    (``benchmarks/gesvda_training.md``);
``--study schatten-readings``
    the two Schatten readings at the paper's budget: float32 SVD against float64 (gesvda, through LAPACK on
    the CPU), Adam at depth 1, 5·10⁵ steps, beside the numbers the paper prints, with the values at 20 000
    and 10⁵ steps (``benchmarks/schatten_readings.md``).

Each configuration's result on each side is cached in ``--cache`` (one JSON per configuration, side, route,
device, step budget and seed set), so an interrupted study resumes, the candidate can run on a GPU machine
and the table be written anywhere (``--table-only``).  Agreement: both ≤ 1e-6, or the difference of the
seed means within the larger of the two seed-to-seed spreads (log10 for the test error); a seed that
diverged must diverge on both sides, and the rest are compared.

    python benchmarks/route_training.py --study polar
    python benchmarks/route_training.py --study gesvda --side reference           # CPU part
    PYTHONPATH=src python3 benchmarks/route_training.py --study gesvda --side candidate   # on the GPU
    python benchmarks/route_training.py --study schatten-readings --seeds 0 --side candidate &
    python benchmarks/route_training.py --study gesvda --table-only
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from matcomp.data import make_problem
from matcomp.training.penalties import get_penalty
from matcomp.training.placement import resolve_route
from matcomp.training.train import TrainConfig, train_batch

Config = tuple  # optimizer, penalty, λ, depth, rank, n_obs


@dataclass(frozen=True)
class Study:
    title: str
    configs: list[Config]
    steps: int
    reference: str  # route@device
    candidate: str
    mixed: bool  # the candidate trains the configurations of one depth as one mixed batch
    seeds: tuple[int, ...] = (0, 1, 2)
    log: str = "log:40"
    paper: dict[Config, str] = field(default_factory=dict)  # the paper's printed "Err / Rk" and where
    shown_at: tuple[int, ...] = ()


STUDIES = {
    "polar": Study(
        "Polar vs SVD route: training equivalence",
        [("adam", "ratio", 0.05, 1, 5, 2000), ("adam", "ratio", 0.05, 3, 5, 2000), ("adam", "ratio", 0.05, 1, 10, 3000),
         ("adam", "ratio", 0.05, 3, 10, 3000), ("adagrad", "ratio", 0.05, 3, 5, 2000),
         ("rmsprop", "ratio", 0.05, 1, 5, 2000), ("adam", "nuclear", 0.05, 1, 5, 2000)],
        20_000, "svd@cpu", "polar@cpu", mixed=False,
    ),
    "gesvda": Study(
        "gesvda route: training equivalence (Schatten penalties, one mixed batch per depth)",
        [("adam", "schatten:1/2", 0.05, 1, 5, 2000), ("rmsprop", "schatten:1/3", 0.05, 1, 5, 2000),
         ("gd", "schatten_ratio:1/3:2/3", 0.05, 1, 5, 2000), ("adam", "schatten_ratio:1/2:2/3", 0.05, 3, 5, 2000)],
        20_000, "svd@cpu", "auto-gesvda@cuda", mixed=True,
    ),
    "schatten-readings": Study(
        "The two Schatten readings at the paper's budget: float32 SVD (default) vs float64 (gesvda reading)",
        [("adam", "schatten_ratio:1/2:2/3", 0.05, 1, 5, 2000), ("adam", "schatten:1/2", 0.05, 1, 5, 2000),
         ("adam", "schatten:2/3", 0.05, 1, 5, 2000)],
        500_000, "svd@cpu", "gesvda@cpu", mixed=True, seeds=(0, 1), log="log:200",
        paper={("adam", "schatten_ratio:1/2:2/3", 0.05, 1, 5, 2000): "0.72 / 33 (Table 1)",
               ("adam", "schatten:1/2", 0.05, 1, 5, 2000): "0.94 / 5 (Table 4)",
               ("adam", "schatten:2/3", 0.05, 1, 5, 2000): "0.10 / 5 (Table 4)"},
        shown_at=(20_000, 100_000),
    ),
}  # fmt: skip


def label(config: Config) -> str:
    optimizer, penalty, lam, depth, rank, n_obs = config
    return f"{optimizer}_{penalty.replace(':', '_').replace('/', '-')}_l{lam:g}_d{depth}_r{rank}_n{n_obs}"


def cache_path(cache: Path, config: Config, side: str, route: str, device: str, steps: int, seeds) -> Path:
    tag = "s" + "-".join(str(s) for s in seeds)
    return cache / f"{label(config)}_{side}-{route}-{device}_{steps}_{tag}.json"


def _environment(device: torch.device) -> dict:
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


def train(
    study: Study, configs: list[Config], side: str, spec: str, seeds: tuple[int, ...], cache: Path
) -> None:
    """Train ``configs`` (one batch; a mixed one when several) by ``spec`` (route@device), cache each."""
    route, device = spec.split("@")
    dev = torch.device(device)
    planned = [resolve_route(route, get_penalty(c[1]), dev) for c in configs]
    paths = [cache_path(cache, c, side, r, dev.type, study.steps, seeds) for c, r in zip(configs, planned)]
    if all(p.exists() for p in paths):
        return
    depth = {c[3] for c in configs}
    assert len(depth) == 1, depth
    problems, lams, penalties, optimizers = [], [], [], []
    for c in configs:
        problems += [make_problem(100, 100, c[4], c[5], seed=s) for s in seeds]
        lams += [c[2]] * len(seeds)
        penalties += [c[1]] * len(seeds)
        optimizers += [c[0]] * len(seeds)
    cfg = TrainConfig(optimizer=optimizers[0], penalty=penalties[0], depth=depth.pop(), max_iters=study.steps,
                      log=study.log, device=device, spectral=route)  # fmt: skip
    t0 = time.perf_counter()
    res = train_batch(problems, lams, cfg, seeds=list(seeds) * len(configs), penalties=penalties,
                      optimizers=optimizers)  # fmt: skip
    seconds = time.perf_counter() - t0
    traj = res.trajectory
    for i, (c, path) in enumerate(zip(configs, paths)):
        rows = range(i * len(seeds), (i + 1) * len(seeds))
        at = {str(s): [[float(traj.test_error[r][j]), float(traj.effective_rank[r][j])] for r in rows]
              for s in study.shown_at if s <= study.steps for j in [int(np.searchsorted(traj.iterations, s))]}  # fmt: skip
        out = {
            "config": list(c), "side": side, "seeds": list(seeds), "steps": study.steps,
            "route": res.provenance["spectral_route"][get_penalty(c[1]).spec],
            **{k: [res.runs[r][k] for r in rows] for k in ("test_error", "effective_rank", "stop_reason", "diverged_at")},
            "at": at, "seconds": seconds, "batch_configs": [label(b) for b in configs], **_environment(dev),
        }  # fmt: skip
        path.write_text(json.dumps(out, indent=1) + "\n")


def _diverged(res: dict) -> np.ndarray:
    return np.array(
        [
            r == "diverged" or e is None or not np.isfinite(e)
            for r, e in zip(res["stop_reason"], res["test_error"])
        ]
    )


def _subset(res: dict, keep: np.ndarray) -> dict:
    return {**res, **{k: [v for v, ok in zip(res[k], keep) if ok] for k in ("test_error", "effective_rank")}}


def _agree_finite(a: dict, b: dict) -> str:
    ea, eb = np.log10(a["test_error"]), np.log10(b["test_error"])
    if max(a["test_error"]) <= 1e-6 and max(b["test_error"]) <= 1e-6:
        return "yes (both ≤ 1e-6)"
    spread = max(np.ptp(ea), np.ptp(eb), 0.05)
    ra, rb = np.asarray(a["effective_rank"]), np.asarray(b["effective_rank"])
    rank_spread = max(np.ptp(ra), np.ptp(rb), 0.05)
    ok = abs(ea.mean() - eb.mean()) <= spread and abs(ra.mean() - rb.mean()) <= rank_spread
    return "yes (within seed spread)" if ok else "**no**"


def agree(a: dict, b: dict) -> str:
    """Agreement (module docstring); a diverged seed must diverge on both sides."""
    da, db = _diverged(a), _diverged(b)
    if (da != db).any():
        return f"**no** (diverged seeds: reference {np.flatnonzero(da).tolist()}, candidate {np.flatnonzero(db).tolist()})"
    if da.all():
        return "yes (every seed diverged on both)"
    verdict = _agree_finite(_subset(a, ~da), _subset(b, ~db))
    return verdict + (f"; seeds {np.flatnonzero(da).tolist()} diverged on both" if da.any() else "")


def fmt(res: dict) -> str:
    """Test error mean (min–max) | Rk | seconds, over the seeds that did not diverge."""
    d = _diverged(res)
    if d.all():
        return f"diverged ({len(d)}/{len(d)}) | – | {res['seconds']:.0f}"
    e, r = _subset(res, ~d)["test_error"], _subset(res, ~d)["effective_rank"]
    text = f"{np.mean(e):.2e} ({min(e):.1e}–{max(e):.1e}) | {np.mean(r):.2f} | {res['seconds']:.0f}"
    at = "; ".join(f"{int(s):,}: {np.mean([x[0] for x in v]):.2g} / {np.mean([x[1] for x in v]):.1f}"
                   for s, v in res.get("at", {}).items())  # fmt: skip
    text = text if not at else f"{text.split(' | ')[0]} [{at}] | {' | '.join(text.split(' | ')[1:])}"
    return text if not d.any() else f"{d.sum()}/{len(d)} diverged; rest: {text}"


def _found(cache: Path, config: Config, side: str, steps: int) -> list[dict]:
    return [
        json.loads(p.read_text()) for p in sorted(cache.glob(f"{label(config)}_{side}-*_{steps}_s*.json"))
    ]


def table(study: Study, cache: Path) -> str:
    """Every cached candidate of every configuration beside its reference ("not run" where none is)."""
    lines = [
        f"# {study.title} ({study.steps:,} steps, float32 weights)",
        "",
        f"Made by `benchmarks/route_training.py --study {next(k for k, v in STUDIES.items() if v is study)}`. "
        f"Reference: each configuration alone, {study.reference}. Candidate: {study.candidate}"
        f"{', the configurations of one depth as one mixed batch' if study.mixed else ', each alone'}. Test "
        "error: mean over seeds (min–max), [at the steps shown: mean error / Rk]; Rk: mean effective rank; s: "
        "wall seconds (a mixed batch: the whole batch).",
        "",
        "| optimizer + penalty (λ) | depth | rank | paper | seeds | reference: test error | Rk | s | candidate | "
        "test error | Rk | s | agree |",
        "|---|---:|---:|---|---|---|---:|---:|---|---|---:|---:|---|",
    ]
    for config in study.configs:
        optimizer, penalty, lam, depth, rank, _ = config
        for ref in _found(cache, config, "reference", study.steps) or [None]:
            head = f"| {optimizer} + {penalty} ({lam:g}) | {depth} | {rank} | {study.paper.get(config, '')} "
            if ref is None:
                lines.append(head + "| | not run | | | | | | | |")
                continue
            head += f"| {ref['seeds']} | {fmt(ref)} "
            cands = [c for c in _found(cache, config, "candidate", study.steps) if c["seeds"] == ref["seeds"]]
            for cand in cands or [None]:
                if cand is None:
                    lines.append(head + "| not run | | | | |")
                    continue
                name = f"{cand['route']['route']} on {cand['device']} ({cand['device_name']})"
                lines.append(head + f"| {name} | {fmt(cand)} | {agree(ref, cand)} |")
    machines = {(d["device_name"], d["torch"], d["threads"]) for c in study.configs
                for side in ("reference", "candidate") for d in _found(cache, c, side, study.steps)}  # fmt: skip
    lines += [
        "",
        "Machines: " + "; ".join(f"{n}, torch {t}, {th} thread(s)" for n, t, th in sorted(machines)),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", choices=list(STUDIES), required=True)
    ap.add_argument("--side", choices=["reference", "candidate", "both"], default="both")
    ap.add_argument("--seeds", type=int, nargs="+", help="default: the study's")
    ap.add_argument("--steps", type=int, help="default: the study's")
    ap.add_argument("--device", help="the candidate's device (default: the study's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--table-only", action="store_true", help="train nothing; write the table of what is cached"
    )
    ap.add_argument("--cache", help="default: benchmarks/route_training/STUDY")
    ap.add_argument("--out", help="default: benchmarks/route_training/STUDY.md")
    a = ap.parse_args()
    study = STUDIES[a.study]
    if a.steps:
        study = Study(**{**study.__dict__, "steps": a.steps})
    if a.device:
        study = Study(**{**study.__dict__, "candidate": study.candidate.split("@")[0] + "@" + a.device})
    seeds = tuple(a.seeds or study.seeds)
    torch.set_num_threads(a.threads)
    cache = Path(a.cache or f"benchmarks/route_training/{a.study}")
    cache.mkdir(parents=True, exist_ok=True)
    if not a.table_only:
        for config in study.configs if a.side != "candidate" else []:
            train(study, [config], "reference", study.reference, seeds, cache)
        if a.side != "reference":
            groups = [[c for c in study.configs if c[3] == d] for d in sorted({c[3] for c in study.configs})]
            for group in groups if study.mixed else [[c] for c in study.configs]:
                train(study, group, "candidate", study.candidate, seeds, cache)
    text = table(study, cache)
    Path(a.out or f"benchmarks/route_training/{a.study}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
