"""The decide campaign: scale ``decide`` run a few CPU-hours at a time, its evidence committed and resumable.

The full decide scale is ≈ 224 CPU-hours on a 2-core machine (``benchmarks/cost_decide.md``); this runs it in
pieces that finish.  ``benchmarks/decide/queue.yaml`` lists experiments in order; ``run --hours H`` plans the
decide scale as the workflow does, takes the queue's next training and baseline jobs whose full-budget
estimate (``matcomp.cost``: the step table, an upper bound: plateau stops end most runs sooner) fits in what
is left of H, and runs them with Snakemake in a work folder (a git worktree of this checkout's HEAD, so that
editing the checkout meanwhile changes nothing under the running jobs).  A job that would not fit is not
started.  Each finished job's files (its ground truth, result and trajectory; a baseline's result) are
checked and copied into ``benchmarks/decide/results/`` (the *evidence*, committed), and an experiment whose
jobs are all there is marked done in the queue (``harvest`` does the same for a work folder that ran
without the runner).

``restore`` copies the evidence into a work folder (ground truth first, so that the cached results stay newer
than their inputs): Snakemake then finds those jobs done and does not train them again, as long as their
settings and the training code match (a result's name holds both hashes).  ``rebuild`` regenerates, from the
evidence alone and with the current report code, every done experiment's table or figure (copied to
``benchmarks/decide_figures/``) and ``benchmarks/decide_verdicts.md``; it refuses, naming the experiments,
where the evidence was made by other training code (nothing is trained by a rebuild).

    python benchmarks/decide_campaign.py status
    nohup python benchmarks/decide_campaign.py run --hours 2.5 > decide.log 2>&1 &   # beside your work
    python benchmarks/decide_campaign.py rebuild
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT / "src"))

from decide_verdicts import _cpu  # noqa: E402  (beside this file: the machine's name, said once)

from matcomp import paths, results  # noqa: E402
from matcomp.cost import job_hours  # noqa: E402
from matcomp.plan.config import load, read_config  # noqa: E402
from matcomp.plan.jobs import baseline_jobs, training_jobs  # noqa: E402

EVIDENCE = CHECKOUT / "benchmarks" / "decide"
QUEUE = EVIDENCE / "queue.yaml"
FIGURES = CHECKOUT / "benchmarks" / "decide_figures"
VERDICTS = CHECKOUT / "benchmarks" / "decide_verdicts.md"
DEFAULT_WORKDIR = CHECKOUT.parent / f"{CHECKOUT.name}-decide"
BASELINE_HOURS = 0.05
"""A baseline job's estimate (CP by SCS ≈ 1.4 s per solve, SoftImpute 0.3 s, OptSpace seconds: two seeds per
job; an upper bound with margin)."""
COPIED_FIRST = ("results/R/roptspace.json",)
"""Inputs of cached results that no job's data list names (the OptSpace implementation's record)."""
BUILD_RULES = ("table", "dynamics_figure", "comparison_figure", "effective_config")
"""The rules a rebuild may run: nothing that trains or solves."""


# ---------------------------------------------------------------- the plan and the queue


@dataclass(frozen=True)
class Job:
    """One training or baseline job of the decide scale: its result, the files it reads, its estimate."""

    path: str
    data: tuple[str, ...]
    hours: float
    experiments: tuple[str, ...]

    def files(self) -> list[str]:
        """What the evidence keeps of it: its ground truth, its result and (for training) its trajectory."""
        traj = paths.trajectory_of(self.path)
        return [*self.data, self.path, *([traj] if self.path.startswith("results/cells/") else [])]


def decide_config(checkout: Path = CHECKOUT) -> dict[str, Any]:
    """The decide scale's effective config, checked as the workflow checks it."""
    return load(read_config(checkout / "config.yaml", overrides={"scale": "decide"}))


def plan(config: dict[str, Any]) -> dict[str, Job]:
    """Every training and baseline job of ``config`` by result path, with its CPU-hour estimate."""
    out = {}
    for path, job in training_jobs(config).items():
        hours = job_hours(job)
        out[path] = Job(path, tuple(job.data_paths()), hours if hours is not None else float("inf"),
                        job.experiments)  # fmt: skip
    for path, bjob in baseline_jobs(config).items():
        out[path] = Job(path, tuple(bjob.data_paths()), BASELINE_HOURS, bjob.experiments)
    return out


def target_of(config: dict[str, Any], name: str) -> str:
    """The file that builds an experiment: its table (csv) or its figure (pdf)."""
    kind = config["experiments"][name].get("kind")
    return paths.table(name) if kind == "table" else paths.figure(name)


def read_queue(path: Path = QUEUE) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise SystemExit(
            f"{path}: cannot read the queue ({err}); restore it with git checkout -- {path}"
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("queue"), list):
        raise SystemExit(f"{path}: expected 'queue:' with a list of {{experiment, why}} entries")
    doc.setdefault("done", {})
    doc["done"] = doc["done"] or {}
    return doc


def write_queue(doc: dict[str, Any], path: Path = QUEUE) -> None:
    """The queue with its ``done`` records, written atomically (the header comment kept)."""
    head = "".join(line for line in path.read_text().splitlines(keepends=True) if line.startswith("#"))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110))
    os.replace(tmp, path)


def check_queue(doc: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """The queue's experiment names, each checked against the config (a typo is named, before any work)."""
    names = [e.get("experiment") for e in doc["queue"]]
    unknown = [n for n in names if n not in config["experiments"]]
    if unknown:
        raise SystemExit(
            f"{QUEUE}: unknown experiment(s) {unknown}; valid: {', '.join(config['experiments'])}"
        )
    return names


def jobs_of(jobs: dict[str, Job], name: str) -> list[Job]:
    return [j for j in jobs.values() if name in j.experiments]


def in_evidence(job: Job, evidence: Path = EVIDENCE) -> bool:
    return all((evidence / f).is_file() for f in job.files())


def pending(jobs: Iterable[Job], evidence: Path = EVIDENCE) -> list[Job]:
    """The jobs whose files the evidence lacks, each once, in the order given."""
    return list({j.path: j for j in jobs if not in_evidence(j, evidence)}.values())


def fitting(jobs: Sequence[Job], hours: float, cores: int) -> list[Job]:
    """The longest prefix of ``jobs`` that ``cores`` parallel slots finish within ``hours``: each job at most
    ``hours``, and together at most ``cores × hours`` (a job too long for what is left is not started, and the
    ones after it wait, so that the queue's order holds)."""
    chosen, total = [], 0.0
    for job in jobs:
        if job.hours > hours or total + job.hours > cores * hours:
            break
        chosen.append(job)
        total += job.hours
    return chosen


# ---------------------------------------------------------------- moving files


def _copy(src: Path, dst: Path) -> None:
    """``src`` to ``dst`` with its times (a cached result must stay newer than its inputs), atomically."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.part")
    shutil.copy2(src, tmp)
    os.replace(tmp, dst)


def harvest(workdir: Path, jobs: Iterable[Job], evidence: Path = EVIDENCE) -> list[Job]:
    """Copy each finished job's files from ``workdir`` into the evidence (checked first: a damaged or
    unfinished result is left out); returns the jobs now in the evidence."""
    kept = []
    for job in jobs:
        if not all((workdir / f).is_file() for f in job.files()):
            continue
        try:
            results.check(workdir / job.path)
        except results.ResultFileError as err:
            print(f"not kept: {err}", file=sys.stderr)
            continue
        for rel in [*COPIED_FIRST, *job.files()]:
            if (workdir / rel).is_file() and not (evidence / rel).is_file():
                _copy(workdir / rel, evidence / rel)
        kept.append(job)
    return kept


def restore(workdir: Path, evidence: Path = EVIDENCE) -> int:
    """Copy into ``workdir`` every evidence file it lacks, stamped now: inputs (ground truth, the OptSpace
    record) a second before results, so that Snakemake finds each cached result newer than what it read
    and newer than the checkout's scripts (a fresh clone's files are as new as the clone; an output older
    than its rule's script counts as made by other code, and would be made again).  Returns the count."""
    files = sorted(p.relative_to(evidence) for p in (evidence / "results").rglob("*") if p.is_file())
    first = [f for f in files if str(f).startswith(("results/data/", *COPIED_FIRST))]
    now, n = time.time(), 0
    for rel in [*first, *(f for f in files if f not in first)]:
        if not (workdir / rel).exists():
            _copy(evidence / rel, workdir / rel)
            stamp = now if rel in first else now + 1
            os.utime(workdir / rel, (stamp, stamp))
            n += 1
    return n


# ---------------------------------------------------------------- running


def worktree(workdir: Path) -> Path:
    """A git worktree of this checkout's HEAD at ``workdir`` (made if absent): the campaign's jobs run code
    that editing the checkout does not change under them."""
    if not (workdir / "Snakefile").is_file():
        subprocess.run(["git", "-C", str(CHECKOUT), "worktree", "add", "--detach", str(workdir), "HEAD"],
                       check=True)  # fmt: skip
    return workdir


def snakemake(workdir: Path, targets: Sequence[str], cores: int, extra: Sequence[str] = ()) -> int:
    """Snakemake at scale decide in ``workdir``, at the lowest CPU priority (work beside it keeps its pace);
    the targets first (an option such as ``--allowed-rules`` takes every word after it)."""
    cmd = ["nice", "-n", "19", "snakemake", *targets, "--cores", str(cores), *extra, "--config", "scale=decide"]  # fmt: skip
    print("+", " ".join(cmd), f"(in {workdir})", flush=True)
    return subprocess.run(cmd, cwd=workdir).returncode


def commit_of(folder: Path) -> str:
    out = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def _cpu_seconds(root: Path, jobs: Iterable[Job]) -> float:
    """Seconds the jobs' cells recorded (training; baselines are not counted)."""
    total = 0.0
    for job in jobs:
        if job.path.startswith("results/cells/"):
            doc = results.read(root / job.path)
            total += sum(float(c["provenance"]["seconds"]) for c in doc["cells"])
    return total


def mark_complete(
    jobs: dict[str, Job], workdir: Path, evidence: Path = EVIDENCE, queue: Path = QUEUE
) -> list[str]:
    """Mark done, in the queue file as it is now (another process may have written it meanwhile), every
    queued experiment whose jobs are all in the evidence: where its evidence came from and what it cost
    (the seconds its cells recorded).  Returns the names newly marked."""
    doc = read_queue(queue)
    new = []
    for name in (e["experiment"] for e in doc["queue"]):
        mine = jobs_of(jobs, name)
        if name in doc["done"] or not mine or pending(mine, evidence):
            continue
        doc["done"][name] = {
            "jobs": len(mine), "cpu_hours": round(_cpu_seconds(evidence, mine) / 3600, 2),
            "commit": commit_of(workdir), "machine": f"{platform.machine()} {_cpu()}",
            "finished": dt.datetime.now().isoformat(timespec="minutes"),
        }  # fmt: skip
        new.append(name)
    if new:
        write_queue(doc, queue)
    return new


def run(hours: float, workdir: Path, cores: int) -> None:
    """Run the queue's next jobs that fit in ``hours`` (module docstring), harvesting after each batch and
    marking done each experiment whose jobs are all in the evidence (``rebuild`` draws its figure)."""
    deadline = time.monotonic() + hours * 3600
    config = decide_config()
    jobs, names = plan(config), check_queue(read_queue(), config)
    worktree(workdir)
    print(f"restored {restore(workdir)} evidence file(s) into {workdir}", flush=True)
    harvest(workdir, jobs.values())  # what an earlier run left finished there
    print(f"done: {', '.join(mark_complete(jobs, workdir)) or 'nothing new'}", flush=True)
    owner = {
        j.path: n for n in reversed(names) for j in jobs_of(jobs, n)
    }  # a shared job: its first experiment
    todo = pending(j for n in names if n not in read_queue()["done"] for j in jobs_of(jobs, n))
    while todo:
        left = (deadline - time.monotonic()) / 3600
        batch = fitting(todo, left, cores)
        if not batch:
            print(f"stop: {owner[todo[0].path]}'s next job ({todo[0].path}, ≤ {todo[0].hours:.2f} CPU-h) does not "
                  f"fit in the {left:.2f} h left", flush=True)  # fmt: skip
            return
        snakemake(workdir, [j.path for j in batch], cores, ["--keep-going"])
        kept = harvest(workdir, batch)
        print(f"{len(kept)} of {len(batch)} job(s) kept in {EVIDENCE}", flush=True)
        failed = pending(batch)
        for job in failed:  # not retried in this run: its log says why
            print(f"failed: {job.path} ({owner[job.path]}); see its log in {workdir}/logs", flush=True)
        if not kept:
            raise SystemExit(f"no job of the batch finished; see the logs in {workdir}/logs")
        print(f"done: {', '.join(mark_complete(jobs, workdir)) or 'nothing new'}", flush=True)
        todo = [j for j in pending(todo) if j not in failed]


# ---------------------------------------------------------------- rebuilding the verdicts from the evidence

COPIED_TREE = (
    "Snakefile",
    "config.yaml",
    "workflow",
    "src",
    "envs",
    "profiles",
    "benchmarks/cost_scale_cpu.json",
)


def scratch_checkout(into: Path) -> Path:
    """The workflow and package of this checkout (as edited now) in ``into``, with the evidence restored."""
    for rel in COPIED_TREE:
        src, dst = CHECKOUT / rel, into / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dst)
    restore(into)
    return into


def rebuildable(doc: dict[str, Any], jobs: dict[str, Job], evidence: Path = EVIDENCE) -> tuple[list, list]:
    """(the done experiments whose every job the evidence holds under today's names, the others with why)."""
    ok, stale = [], []
    for name in doc["done"]:
        missing = [j.path for j in jobs_of(jobs, name) if not in_evidence(j, evidence)]
        if missing:
            stale.append((name, f"{len(missing)} job(s) not in the evidence under the current code's names, "
                                f"e.g. {missing[0]} (the training code or settings changed since)"))  # fmt: skip
        else:
            ok.append(name)
    return ok, stale


def rebuild(cores: int, verdicts: Path = VERDICTS, figures: Path = FIGURES) -> None:
    """Tables, figures and verdicts of every done experiment, from the evidence, with today's report code."""
    import decide_verdicts  # noqa: PLC0415

    config, doc = decide_config(), read_queue()
    ok, stale = rebuildable(doc, plan(config))
    for name, why in stale:
        print(f"not rebuilt: {name}: {why}", file=sys.stderr)
    if not ok:
        raise SystemExit("no done experiment to rebuild from the evidence")
    with tempfile.TemporaryDirectory(prefix="decide-rebuild-") as tmp:
        work = scratch_checkout(Path(tmp))
        targets = [target_of(config, n) for n in ok]
        if snakemake(work, targets, cores, ["--allowed-rules", *BUILD_RULES]) != 0:
            raise SystemExit("the rebuild failed (it may only build tables and figures; see above)")
        figures.mkdir(parents=True, exist_ok=True)
        for png in sorted((work / "figures").glob("*.png")):
            shutil.copy2(png, figures / png.name)
        verdicts.write_text(decide_verdicts.markdown(work, sources=decide_sources(doc, ok)))
    print(f"wrote {verdicts} and {len(ok)} experiment(s)' figures/tables ({', '.join(ok)})")


def decide_sources(doc: dict[str, Any], names: Sequence[str]) -> list[str]:
    """One line per experiment: where and on which commit its evidence was made."""
    return [f"{n}: {d.get('jobs')} jobs, {d.get('cpu_hours')} CPU-h, commit {str(d.get('commit'))[:10]}, "
            f"{d.get('machine')}, {d.get('finished')}" for n, d in ((n, doc['done'][n]) for n in names)]  # fmt: skip


def status() -> None:
    config, doc = decide_config(), read_queue()
    jobs = plan(config)
    for name in check_queue(doc, config):
        mine = jobs_of(jobs, name)
        todo = pending(mine)
        state = "done" if name in doc["done"] else f"{len(mine) - len(todo)}/{len(mine)} jobs in the evidence"
        est = sum(j.hours for j in todo)
        print(f"{name:22s} {state:32s} ≤ {est:6.2f} CPU-h to go (full budgets)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("status", help="the queue: what is done, what is left")
    r = sub.add_parser("run", help="run the next jobs that fit in --hours")
    r.add_argument("--hours", type=float, required=True)
    r.add_argument("--cores", type=int, default=1)
    r.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    s = sub.add_parser("restore", help="copy the evidence into a work folder")
    s.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    h = sub.add_parser("harvest", help="copy finished jobs of a work folder into the evidence")
    h.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    b = sub.add_parser("rebuild", help="tables, figures and decide_verdicts.md from the evidence")
    b.add_argument("--cores", type=int, default=2)
    b.add_argument("--out", type=Path, default=VERDICTS, help="the verdicts file (default: %(default)s)")
    b.add_argument(
        "--figures", type=Path, default=FIGURES, help="where the figures go (default: %(default)s)"
    )
    a = p.parse_args()
    if a.cmd == "status":
        status()
    elif a.cmd == "run":
        if a.hours <= 0 or a.cores < 1:
            raise SystemExit("--hours must be > 0 and --cores >= 1")
        run(a.hours, a.workdir.resolve(), a.cores)
    elif a.cmd == "restore":
        print(f"restored {restore(worktree(a.workdir.resolve()))} file(s)")
    elif a.cmd == "harvest":
        jobs = plan(decide_config())
        kept = harvest(a.workdir.resolve(), jobs.values())
        print(
            f"{len(kept)} finished job(s) are in {EVIDENCE}; done: {', '.join(mark_complete(jobs, a.workdir))}"
        )
    else:
        rebuild(a.cores, a.out, a.figures)


if __name__ == "__main__":
    main()
