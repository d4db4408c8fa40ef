"""Cell-steps per second: the naive loop (one cell at a time) vs the batched trainer.

The naive loop follows the cited design's code: one cell at a time, the loss (data term + λ·R through
autograd of ``torch.linalg.svdvals``) and its backward pass each step, a host-side ``loss < tol`` check
each step, and the logged metrics (test error, effective rank) from a second SVD at each logging point.
The batched trainer (``matcomp.training.train.train_batch``) trains B cells as one tensor program, takes one SVD
per step for penalty, gradient and metrics, and decides stopping on the device.

    python benchmarks/bench_train.py [--steps 200] [--device cpu] [--batches 1 8 32]
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import time

import torch

from matcomp.data import make_problem
from matcomp.training.metrics import effective_rank_t, relative_error_t
from matcomp.training.models import end_product, init_layers
from matcomp.training.optimizers import make_optimizer
from matcomp.training.penalties import get_penalty
from matcomp.training.spectral import ROUTES
from matcomp.training.train import TrainConfig, log_points, train_batch


def naive_cell(problem, depth: int, penalty: str, lam: float, steps: int, log: str, device: str) -> None:
    dev = torch.device(device)
    w_star = torch.as_tensor(problem.w_star, dtype=torch.float32, device=dev)
    mask = torch.as_tensor(problem.mask, dtype=torch.float32, device=dev)
    layers = [p[0].clone().requires_grad_(True) for p in init_layers([0], 100, 100, depth, device=dev)]
    opt = make_optimizer("adam", layers)
    pen = get_penalty(penalty)
    points = set(log_points(log, steps).tolist())
    for t in range(steps):
        w = end_product(layers)
        data = ((w - w_star) * mask).pow(2).sum()
        loss = data + lam * pen.of_matrix(w) if pen.spectral else data
        if data.item() < 0:  # the per-step host check of the stopping rule (tol = 0 here: never stops)
            break
        if t in points:
            with torch.no_grad():
                s = torch.linalg.svdvals(w)
                relative_error_t(w, w_star), effective_rank_t(s)
        opt.zero_grad()
        loss.backward()
        opt.step()


def bench(
    batch: int,
    depth: int,
    penalty: str,
    steps: int,
    device: str,
    log: str,
    repeats: int = 1,
    spectral: str = "auto",
    with_naive: bool = True,
    steady: bool = False,
) -> tuple[float, float, str]:
    """Best of ``repeats`` alternating runs of each variant (this shared VM's timings vary by ±30 %)."""
    problems = [make_problem(seed=s) for s in range(batch)]
    lam = 0.05 if penalty != "none" else 0.0
    cfg = TrainConfig(
        optimizer="adam",
        penalty=penalty,
        depth=depth,
        max_iters=steps,
        tol=0.0,
        log=log,
        device=device,
        spectral=spectral,
    )
    naive = batched = 0.0
    kernel = ""
    for _ in range(repeats):
        if with_naive:
            t0 = time.perf_counter()
            for p in problems:
                naive_cell(p, depth, penalty, lam, steps, log, device)
            naive = max(naive, batch * steps / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        res = train_batch(problems, [lam] * batch, cfg)
        seconds = time.perf_counter() - t0
        if steady:  # the second `steps` steps alone: set-up, first and last metrics cancel out
            t0 = time.perf_counter()
            res = train_batch(problems, [lam] * batch, dataclasses.replace(cfg, max_iters=2 * steps))
            seconds = time.perf_counter() - t0 - seconds
        batched = max(batched, batch * steps / seconds)
        kernel = res.provenance["optimizer_kernel"][cfg.optimizer]
    return naive, batched, kernel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument(
        "--log", default="every:10", help="logging schedule for both (the paper's plots need dense logs)"
    )
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3, help="best of this many alternating runs per row")
    ap.add_argument(
        "--spectral",
        default="auto",
        choices=ROUTES,
        help="the trainer's route",
    )
    ap.add_argument("--no-naive", action="store_true", help="time the batched trainer only (large B)")
    ap.add_argument("--depths", type=int, nargs="+", default=[1, 3])
    ap.add_argument(
        "--penalties", nargs="+", default=["none", "ratio"], help="penalty specs, one row set each"
    )
    ap.add_argument(
        "--steady",
        action="store_true",
        help="batched: time 2·steps minus steps (steady state, as in a 5·10⁵-step run: no set-up, no final SVDs)",
    )
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    name = (
        torch.cuda.get_device_name()
        if a.device.startswith("cuda")
        else platform.processor() or platform.machine()
    )
    print(f"# device={a.device} ({name}), torch {torch.__version__}, threads={torch.get_num_threads()}, "
          f"steps={a.steps}, log={a.log}, best of {a.repeats}, 100x100, Adam, float32, spectral={a.spectral}, "
          f"steady={a.steady}")  # fmt: skip
    bench(
        1, 1, "ratio", 5, a.device, a.log, spectral=a.spectral
    )  # warm-up: one-time imports and allocations are not timed
    print(
        f"{'B':>4} {'depth':>5} {'penalty':>12} {'naive c-s/s':>12} {'batched c-s/s':>14} {'speedup':>8} {'kernel':>8}"
    )
    for penalty in a.penalties:
        for depth in a.depths:
            for b in a.batches:
                naive, batched, kernel = bench(
                    b,
                    depth,
                    penalty,
                    a.steps,
                    a.device,
                    a.log,
                    a.repeats,
                    a.spectral,
                    not a.no_naive,
                    a.steady,
                )
                print(
                    f"{b:>4} {depth:>5} {penalty:>12} {naive:>12.0f} {batched:>14.0f} "
                    f"{batched / naive if naive else float('nan'):>7.2f}x {kernel:>8}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
