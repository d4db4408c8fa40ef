"""Where one training step of a scale=paper pack spends its time: the profiler's per-step table.

The batch is the largest pack's cells at one depth (``cost_paper.build_batch``: the paper's problems,
λ, penalties and optimizers, no logging, no early stop).  Two profiled runs of ``train_batch``, of
``--warmup`` and of ``--warmup + --steps`` steps, are subtracted op by op, so set-up, the first steps and
the final metrics cancel and what is left is ``--steps`` steady steps.  Printed per step: the wall time
(an unprofiled pair of runs, as in ``cost_paper.py``), the number of ATen ops, CUDA kernel launches and
host syncs, and the ops that take the most host (self CPU) and device time.  On a GPU a step of a few
hundred small kernels is bound by the host's time per op; this table says which ops those are.  (On the
CPU, LAPACK calls that ``batched_linalg`` runs in its worker threads are missing from the op table.)

    python benchmarks/step_profile.py [--spectral auto-gesvda] [--depth 1] [--steps 10] [--out FILE]
"""

from __future__ import annotations

import argparse
import collections
import platform
from pathlib import Path

import torch
from cost_paper import Batch, build_batch, paper_jobs, seconds_per_step
from torch.profiler import ProfilerActivity, profile

LAUNCHES = ("cudaLaunchKernel", "cuLaunchKernel", "cudaGraphLaunch")  # and their *Ex* variants
SYNCS = (
    "cudaStreamSynchronize",
    "cudaDeviceSynchronize",
    "cudaMemcpy",
    "cudaMemcpyAsync",
    "aten::_local_scalar_dense",
)


def op_table(batch: Batch, max_iters: int) -> dict[str, list[float]]:
    """Op name → [calls, self CPU µs, self device µs] over one ``train_batch`` run of ``max_iters`` steps."""
    activities = [ProfilerActivity.CPU]
    if torch.cuda.is_available():
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        batch.train(max_iters)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
    table: dict[str, list[float]] = {}
    for evt in prof.key_averages():
        device_us = getattr(evt, "self_device_time_total", getattr(evt, "self_cuda_time_total", 0.0))
        table[evt.key] = [evt.count, evt.self_cpu_time_total, device_us]
    return table


def per_step(batch: Batch, warmup: int, steps: int) -> dict[str, list[float]]:
    """The op table of ``steps`` steady steps, per step (a long run minus a short one)."""
    op_table(batch, warmup)  # allocations, cuBLAS/cuSOLVER handles, graph captures
    short, long = op_table(batch, warmup), op_table(batch, warmup + steps)
    zero = [0.0, 0.0, 0.0]
    return {
        key: [(a - b) / steps for a, b in zip(long[key], short.get(key, zero))]
        for key in long
        if long[key][0] != short.get(key, zero)[0]
    }


def report(ops: dict[str, list[float]], ms: float, batch: Batch, device: str, top: int) -> str:
    aten = {k: v for k, v in ops.items() if k.startswith("aten::")}
    launches = sum(v[0] for k, v in ops.items() if k.startswith(LAUNCHES))
    syncs = {k: ops[k][0] for k in SYNCS if k in ops}
    lines = [
        f"# step profile: {collections.Counter(batch.penalties).most_common()}",
        f"machine: {torch.cuda.get_device_name() if device == 'cuda' else platform.processor() or 'cpu'}; "
        f"torch {torch.__version__}; device {device}; depth {batch.cfg.depth}; cells {len(batch.problems)}; "
        f"optimizers {len(set(batch.optimizers))}; spectral {batch.cfg.spectral}",
        "",
        f"per step: wall {ms:.2f} ms; ATen ops {sum(v[0] for v in aten.values()):.0f}; "
        f"kernel/graph launches {launches:.0f}; host syncs and reads {syncs or 'none'}",
        "",
    ]
    for title, col in (("self CPU", 1), ("self device", 2))[: 2 if device == "cuda" else 1]:
        lines += [f"| op (top {top} by {title} time) | calls/step | self CPU µs/step | self device µs/step |",
                  "|---|---:|---:|---:|"]  # fmt: skip
        for key, (calls, cpu_us, dev_us) in sorted(ops.items(), key=lambda kv: -kv[1][col])[:top]:
            lines.append(f"| {key} | {calls:.1f} | {cpu_us:.0f} | {dev_us:.0f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spectral", default="auto-gesvda", help="train.spectral for the whole config")
    ap.add_argument("--depth", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    _, jobs, packs = paper_jobs(a.spectral)
    paths = max(packs.values(), key=len)
    batch = build_batch([jobs[p] for p in paths], a.depth, a.device)
    ops = per_step(batch, a.warmup, a.steps)
    seconds, device = seconds_per_step(batch, a.steps, a.warmup)
    text = report(ops, 1e3 * seconds, batch, device.split(":")[0], a.top)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
