"""What a scale costs, per experiment: on this CPU (measured) and on one H200 node (from its recorded numbers).

For every training job of the scale (``config.yaml``, ``--scale``) and each of its depths: the cells (its
seeds) and the iterations they are expected to run.  With ``stop: plateau`` that is, where
``benchmarks/plateau_validation/`` has measured the cell type (optimizer × penalty × depth), the median
iteration at which the rule stopped its reference runs (or the full budget where it did not); elsewhere the
full budget (an upper bound: the *budget* column).

* **This CPU**: seconds per step of a batch of that many cells, by penalty class (none; ratio/nuclear: one
  SVD; Schatten: one SVD and their ∂R/∂σ) and depth, measured here (``--measure``, cached in
  ``benchmarks/cost_scale_cpu.json``, one torch thread, as the workflow's jobs run), times the iterations.
  Two such jobs run at once on 2 cores: wall ≈ CPU-hours / 2.
* **One H200 node** (``--gpu-record``: ``cost_paper.py``'s output on that machine, at scale paper): the jobs
  without a Schatten penalty train in one pack per depth on the GPU, whose step time the record gives (the
  decide scale's packs hold fewer cells: the recorded time is an upper bound), for as many steps as its
  longest member runs (a pack stops when all its cells have); the Schatten jobs run on the host's CPU, 8 at
  a time, at the recorded per-depth step time of a 5-cell batch scaled to the scale's cells.

    python benchmarks/cost_scale.py --scale decide --measure     # time the CPU table first (~1 min)
    python benchmarks/cost_scale.py --scale decide --out benchmarks/cost_decide.md
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from matcomp.data import make_problem
from matcomp.plan.config import load, read_yaml
from matcomp.plan.cost import STEP_TABLE, penalty_class
from matcomp.plan.jobs import TrainJob, training_jobs
from matcomp.training.train import TrainConfig, train_batch

ROOT = Path(__file__).resolve().parents[1]
CPU_TABLE = STEP_TABLE  # the table the workflow's start-of-run estimate reads too
GPU_RECORD = ROOT / "benchmarks" / "device" / "2026-11-27-h200-session4" / "cost_paper_auto.json"
VALIDATION = ROOT / "benchmarks" / "plateau_validation"
CLASSES = {"none": "none", "ratio": "ratio", "nuclear": "ratio", "schatten": "schatten:1/2", "schatten_ratio": "schatten_ratio:1/2:2/3"}  # fmt: skip


def measure(cells: int, out: Path, steps: int = 100) -> None:
    """Seconds per step of a ``cells``-cell batch, each penalty class × depth 1-5, one thread: the best of 3
    runs of 10 + ``steps`` steps minus the best of 3 of 10 (set-up and final metrics cancel)."""
    torch.set_num_threads(1)
    table = {}
    for name, spec in CLASSES.items():
        if name == "nuclear":
            continue
        for depth in range(1, 6):
            problems = [make_problem(seed=s) for s in range(cells)]
            cfg = TrainConfig(optimizer="adam", penalty=spec, depth=depth, log="none", device="cpu", tol=0.0)
            times = []
            for n in (10, 10 + steps):
                best = float("inf")
                for _ in range(3):
                    t0 = time.perf_counter()
                    train_batch(problems, [0.05] * cells, TrainConfig(**{**cfg.__dict__, "max_iters": n}))
                    best = min(best, time.perf_counter() - t0)
                times.append(best)
            table[f"{name}/d{depth}/b{cells}"] = max(times[1] - times[0], 1e-6) / steps
            print(name, depth, f"{1e3 * table[f'{name}/d{depth}/b{cells}']:.2f} ms/step", flush=True)
    doc = json.loads(out.read_text()) if out.exists() else {}
    doc.update(table)
    doc["_machine"] = f"{platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread"
    out.write_text(json.dumps(doc, indent=1) + "\n")


def expected_stops() -> dict[tuple[str, str, int], float]:
    """Median iteration where the plateau rule stopped each validated cell type (its budget where it ran on)."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from plateau_validation import stop_point

    out = {}
    for path in sorted(VALIDATION.glob("*.json")):
        rec = json.loads(path.read_text())
        stops = []
        for seed in rec["seeds"]:
            at = stop_point(seed)
            ran = seed["iterations"] if seed["stop_reason"] == "converged" else rec["budget"]
            stops.append(min(at[0], ran) if at else ran)
        out[(rec["optimizer"], penalty_class(rec["penalty"]), rec["depth"])] = float(np.median(stops))
    return out


def _iters(job: TrainJob, depth: int, stops: dict, plateau: bool) -> float:
    budget = float(dict(job.train)["max_iters"])
    return (
        min(stops.get((job.optimizer, penalty_class(job.penalty), depth), budget), budget)
        if plateau
        else budget
    )


def job_costs(jobs: dict[str, TrainJob], cpu: dict, gpu: dict, stops: dict, plateau: bool) -> dict[str, dict]:
    """Per job: CPU hours here (with the expected stops, and at the budget), and its H200-node share."""
    gpu_ms = {b["depth"]: b["ms_per_step"] for b in gpu["pack_batches"] if b["device"] == "cuda"}
    host_ms = defaultdict(list)
    for b in gpu["pack_batches"]:
        if b["device"] == "cpu":
            host_ms[b["depth"]].append(b["ms_per_step"] / b["cells"])
    # a pack (one per training settings and depth) runs as long as its longest member
    pack_steps: dict[tuple, float] = defaultdict(float)
    out = {}
    for path, job in jobs.items():
        cost = {"cpu_h": 0.0, "cpu_budget_h": 0.0, "node_cpu_job_h": 0.0}
        cls = penalty_class(job.penalty)
        for depth in job.depths:
            measured = next(k for k in cpu if k.startswith(f"{cls}/d{depth}/b"))
            per_step = cpu[measured] / int(measured.rsplit("b", 1)[1]) * len(job.seeds)  # linear in cells
            iters = _iters(job, depth, stops, plateau)
            cost["cpu_h"] += per_step * iters / 3600
            cost["cpu_budget_h"] += per_step * float(dict(job.train)["max_iters"]) / 3600
            if cls.startswith("schatten"):
                cost["node_cpu_job_h"] += np.mean(host_ms[depth]) * 1e-3 * len(job.seeds) * iters / 3600
            else:
                pack_steps[(job.train, depth)] = max(pack_steps[(job.train, depth)], iters)
        out[path] = cost
    out["_pack"] = {"gpu_h": sum(gpu_ms.get(d, 0.0) * 1e-3 * s / 3600 for (_, d), s in pack_steps.items())}
    return out


def report(scale: str, costs: dict, jobs: dict[str, TrainJob], cpu: dict, gpu: dict, config: dict) -> str:
    experiments = [
        n for n, e in config["experiments"].items() if e.get("enabled", True) and e["kind"] != "movielens"
    ]
    lines = [
        f"# Cost of scale `{scale}` (`benchmarks/cost_scale.py`)",
        "",
        f"This CPU: {cpu.get('_machine', '?')}, per-step times measured here (while other single-thread jobs ran: "
        f"an upper bound). H200 node: {gpu['machine']}, torch {gpu['torch']} (recorded at scale paper). CPU-h: "
        "training job hours with the plateau stops measured in `benchmarks/plateau_validation/` (budget: every "
        "cell to its full budget); node: the Schatten jobs' hours on the host CPU (8 at a time); the packed GPU "
        "jobs are one total below (a pack serves every experiment). A reading's experiment (`X@reading`) counts "
        "only the jobs no default experiment plans. The measured stops were made under the readings of their "
        "references (`benchmarks/plateau_validation.md`): under the default `tol_on: loss` a penalised run never "
        "stops on the tolerance, so the penalised cells' stops are estimates.",
        "",
        "| experiment | jobs | cells | CPU-h here (stops) | CPU-h here (budget) | node: Schatten CPU job-h |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def own(name: str) -> list[str]:
        """A reading's experiment counts only the jobs no default experiment plans (the rest are shared)."""
        mine = [p for p, j in jobs.items() if name in j.experiments]
        return mine if "@" not in name else [p for p in mine if all("@" in e for e in jobs[p].experiments)]

    for name in experiments:
        mine = own(name)
        cells = sum(len(jobs[p].seeds) * len(jobs[p].depths) for p in mine)
        tot = {k: sum(costs[p][k] for p in mine) for k in ("cpu_h", "cpu_budget_h", "node_cpu_job_h")}
        lines.append(
            f"| {name} | {len(mine)} | {cells} | {tot['cpu_h']:.1f} | {tot['cpu_budget_h']:.1f} | {tot['node_cpu_job_h']:.1f} |"
        )
    tot = {
        k: sum(c[k] for p, c in costs.items() if p != "_pack")
        for k in ("cpu_h", "cpu_budget_h", "node_cpu_job_h")
    }
    gpu_h = costs["_pack"]["gpu_h"]
    family = sorted({p for n in experiments if "@" in n for p in own(n)})
    fam = {k: sum(costs[p][k] for p in family) for k in ("cpu_h", "cpu_budget_h", "node_cpu_job_h")}
    lines += [
        f"| of which the readings family (`readings:`, their own jobs) | {len(family)} | "
        f"{sum(len(jobs[p].seeds) * len(jobs[p].depths) for p in family)} | {fam['cpu_h']:.1f} | "
        f"{fam['cpu_budget_h']:.1f} | {fam['node_cpu_job_h']:.1f} |",
    ]
    lines += [
        f"| **all (each job once)** | {len(jobs)} | {sum(len(j.seeds) * len(j.depths) for j in jobs.values())} | "
        f"**{tot['cpu_h']:.0f}** | {tot['cpu_budget_h']:.0f} | {tot['node_cpu_job_h']:.1f} |",
        "",
        f"- **This 2-core CPU**: {tot['cpu_h']:.0f} CPU-hours with the measured stops ({tot['cpu_budget_h']:.0f} at "
        f"the full budget), ≈ {tot['cpu_h'] / 2:.0f} h wall with two jobs at a time.",
        f"- **One H200 node**: the packed jobs {gpu_h:.2f} GPU-hours (packs run until their longest member stops), "
        f"beside {tot['node_cpu_job_h']:.1f} CPU job-hours of Schatten jobs on 8 slots: ≈ "
        f"{max(gpu_h, tot['node_cpu_job_h'] / 8):.1f} h wall.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="decide")
    ap.add_argument("--measure", action="store_true", help="time the CPU table for this scale's batch size")
    ap.add_argument("--cpu-table", type=Path, default=CPU_TABLE)
    ap.add_argument("--gpu-record", type=Path, default=GPU_RECORD)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    config = load({**read_yaml(ROOT / "config.yaml"), "scale": a.scale, "gpus": False})
    jobs = training_jobs(config)
    if a.measure:
        measure(len(config["seeds"]), a.cpu_table)
    cpu = json.loads(a.cpu_table.read_text())
    gpu = json.loads(a.gpu_record.read_text())
    plateau = config["train"].get("stop") == "plateau"
    costs = job_costs(jobs, cpu, gpu, expected_stops() if plateau else {}, plateau)
    text = report(a.scale, costs, jobs, cpu, gpu, config)
    if a.out:
        a.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
