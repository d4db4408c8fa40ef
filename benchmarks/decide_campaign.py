"""The decide campaign: scale ``decide`` run a few CPU-hours at a time, its evidence committed and resumable.

The full decide scale is ≈ 224 CPU-hours on a 2-core machine (``benchmarks/cost_decide.md``); this runs it in
pieces that finish.  ``benchmarks/decide/queue.yaml`` lists experiments in order; ``run --hours H`` plans the
decide scale as the workflow does, takes the queue's next training and baseline jobs whose full-budget
estimate (``matcomp.plan.cost``: the step table, an idle machine's upper bound: plateau stops end most runs
sooner; times the slowdown the evidence's full-budget jobs measured here, :func:`slowdown`) fits in what is
left of H (in the queue's order, as a batch that ends in time in any order: :func:`fitting`; a job that does
not fit lets later ones that do go first), and runs them with Snakemake in a work folder (a git worktree of this checkout's HEAD, so that
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
import dataclasses
import datetime as dt
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT / "src"))

from decide_verdicts import _cpu  # noqa: E402  (beside this file: the machine's name, said once)

from matcomp.plan.config import deep_merge, load, read_config, read_yaml  # noqa: E402
from matcomp.plan.cost import job_hours  # noqa: E402
from matcomp.plan.jobs import baseline_jobs, training_jobs  # noqa: E402
from matcomp.report.claims import load_claims  # noqa: E402
from matcomp.report.tables import cell_summaries  # noqa: E402
from matcomp.store import paths, results  # noqa: E402
from matcomp.store.io import write_with  # noqa: E402

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
README = CHECKOUT / "README.md"
README_MARKS = ("<!-- decide-scoreboard: written by decide_campaign.py rebuild; do not edit -->",
                "<!-- /decide-scoreboard -->")  # fmt: skip
"""Where README's answer holds the decided scoreboard (copied from the verdicts file by ``rebuild``)."""
SCOREBOARD_HEAD = "### Scoreboard"
SCOREBOARD_END = "| reading | what it changes |"


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


SELECTING = {"optimizers": "optimizer", "penalties": "penalty", "lams": "lam", "n_obs_grid": "n_obs"}
"""The lists of an experiment a queue entry's ``only:`` may cut (each picks whole jobs: a job's result path
names its optimizer, penalty, λ and n_obs), and the cell column each is; never depths or seeds, which one job
holds together (a job trained for fewer of them would carry the full job's name)."""


@dataclass(frozen=True)
class Entry:
    """One queue entry: an experiment, or a part of it (``only:`` a sub-list of some of its SELECTING lists,
    with the ``claims:`` that part decides by itself, under its own ``name:``)."""

    name: str
    experiment: str
    only: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    claims: tuple[str, ...] = ()

    @property
    def base(self) -> str:
        """The experiment the part cuts (``table1`` for ``table1@code7``: a reading copies its lists)."""
        return self.experiment.split("@")[0]

    def overlay(self) -> dict[str, Any]:
        """The config overlay that plans this part alone (empty for a whole experiment)."""
        return {"experiments": {self.base: {k: list(v) for k, v in self.only}}} if self.only else {}


def _entry(raw: Any, config: dict[str, Any]) -> Entry:
    if not isinstance(raw, dict) or raw.get("experiment") not in config["experiments"]:
        name = raw.get("experiment") if isinstance(raw, dict) else raw
        raise SystemExit(f"{QUEUE}: unknown experiment {name!r}; valid: {', '.join(config['experiments'])}")
    exp, only = raw["experiment"], raw.get("only") or {}
    if not only:
        return Entry(raw.get("name", exp), exp)
    where = f"{QUEUE}: {exp}'s part {raw.get('name')!r}"
    if not raw.get("name") or raw["name"] == exp or not raw.get("claims"):
        raise SystemExit(f"{where}: a part (only:) needs its own name: and the claims: it decides")
    for key, values in only.items():
        have = config["experiments"][exp].get(key)
        if key not in SELECTING or not isinstance(have, list):
            raise SystemExit(f"{where}: only: may cut {', '.join(SELECTING)} (lists of the experiment), "
                             f"not {key!r}")  # fmt: skip
        if not isinstance(values, list) or not values or set(values) - set(have):
            raise SystemExit(f"{where}: only.{key} must be a non-empty sub-list of {have}, got {values!r}")
    return Entry(raw["name"], exp, tuple((k, tuple(v)) for k, v in only.items()), tuple(raw["claims"]))


def check_queue(doc: dict[str, Any], config: dict[str, Any]) -> list[Entry]:
    """The queue's entries, each checked against the config (a typo is named, before any work)."""
    entries = [_entry(raw, config) for raw in doc["queue"]]
    claims = load_claims()
    outside = [f"{e.name}: {why}" for e in entries for why in claims_outside(e, claims)]
    if outside:
        raise SystemExit(
            f"{QUEUE}: a part's claims must read only the cells it trains:\n  " + "\n  ".join(outside)
        )
    names = [e.name for e in entries]
    if len(names) != len(set(names)):
        raise SystemExit(
            f"{QUEUE}: an entry's name is given twice: {sorted(n for n in names if names.count(n) > 1)}"
        )
    return entries


def part_config(entry: Entry) -> dict[str, Any]:
    """The decide scale's config with ``entry``'s cut applied (what ``run`` plans and ``rebuild`` builds)."""
    if not entry.only:
        return decide_config()
    raw = read_config(CHECKOUT / "config.yaml", overrides={"scale": "decide"})
    return load(deep_merge(raw, entry.overlay()), base=read_yaml(CHECKOUT / "config.yaml"))


def entry_jobs(entry: Entry, jobs: dict[str, Job]) -> list[Job]:
    """The jobs of ``entry`` (``jobs``: the full plan, whose estimates and inputs it takes)."""
    if not entry.only:
        return jobs_of(jobs, entry.experiment)
    mine = [j.path for j in jobs_of(plan(part_config(entry)), entry.experiment)]
    if set(mine) - set(jobs):  # cutting whole jobs cannot change another's depths; say so if it ever does
        raise SystemExit(
            f"{QUEUE}: {entry.name} plans jobs the whole scale does not: {sorted(set(mine) - set(jobs))}"
        )
    return [jobs[p] for p in mine]


def _selections(node: Any) -> Iterable[dict[str, Any]]:
    """Every cell selection of a claim (a mapping that names an experiment), however deep."""
    if isinstance(node, dict):
        if "experiment" in node:
            yield node
        for value in node.values():
            yield from _selections(value)
    elif isinstance(node, list):
        for value in node:
            yield from _selections(value)


def claims_outside(entry: Entry, claims: list[dict[str, Any]]) -> list[str]:
    """The entry's claims that read a cell of its experiment the part does not train (each with why): a
    claim over "every penalty" of Table 1 cannot be judged on two of them."""
    by_id, out = {c["id"]: c for c in claims}, []
    for cid in entry.claims:
        if cid not in by_id:
            out.append(f"{cid}: no such claim")
            continue
        for sel in _selections([by_id[cid].get("check"), by_id[cid].get("checks")]):
            exps = sel["experiment"] if isinstance(sel["experiment"], list) else [sel["experiment"]]
            if entry.base not in exps:
                continue
            for key, column in SELECTING.items():
                cut = dict(entry.only).get(key)
                given = sel.get(column)
                given = given if isinstance(given, list) else [given]
                if cut is not None and (sel.get(column) is None or set(given) - set(cut)):
                    out.append(
                        f"{cid}: reads {column} {sel.get(column, 'every one')}, the part trains {list(cut)}"
                    )
    return out


def jobs_of(jobs: dict[str, Job], name: str) -> list[Job]:
    return [j for j in jobs.values() if name in j.experiments]


def in_evidence(job: Job, evidence: Path = EVIDENCE) -> bool:
    return all((evidence / f).is_file() for f in job.files())


def pending(jobs: Iterable[Job], evidence: Path = EVIDENCE) -> list[Job]:
    """The jobs whose files the evidence lacks, each once, in the order given."""
    return list({j.path: j for j in jobs if not in_evidence(j, evidence)}.values())


def fitting(jobs: Sequence[Job], hours: float, cores: int) -> list[Job]:
    """The jobs, in the queue's order, that ``cores`` parallel slots finish within ``hours`` in whatever order
    Snakemake starts them.  Graham's bound for list scheduling: a batch of total ``T`` whose longest job is
    ``L`` ends by ``T / cores + (1 - 1 / cores) · L`` (three 1.46 h jobs on two cores end at 2.92 h, not at
    their 2.19 h mean).  A job that would break the bound is not started, and the later ones that keep it go
    ahead of it (backfill: it is the first to start in the next batch, which the runner plans in the time
    left once this one ends)."""
    chosen: list[Job] = []
    total = longest = 0.0
    for job in jobs:
        t, m = total + job.hours, max(longest, job.hours)
        if t / cores + (1 - 1 / cores) * m <= hours:
            chosen.append(job)
            total, longest = t, m
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
    """A git worktree of this checkout's HEAD at ``workdir`` (made if absent, moved to HEAD if it holds another
    commit: its ignored results stay): the campaign's jobs run code that editing the checkout does not
    change under them, and the names the runner plans are the ones its Snakemake plans."""
    head = subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip
    if not (workdir / "Snakefile").is_file():
        subprocess.run(["git", "-C", str(CHECKOUT), "worktree", "add", "--detach", str(workdir), head],
                       check=True)  # fmt: skip
    at = subprocess.run(["git", "-C", str(workdir), "rev-parse", "HEAD"], capture_output=True, text=True)
    if at.stdout.strip() != head:
        print(f"moving the work folder {workdir} from {at.stdout.strip()[:10]} to {head[:10]}", flush=True)
        subprocess.run(["git", "-C", str(workdir), "checkout", "--quiet", "--detach", head], check=True)
    return workdir


def snakemake(
    workdir: Path, targets: Sequence[str], cores: int, extra: Sequence[str] = (),
    every: Callable[[], None] | None = None, seconds: float = 120.0,
) -> int:  # fmt: skip
    """Snakemake at scale decide in ``workdir``, at the lowest CPU priority (work beside it keeps its pace);
    the targets first (an option such as ``--allowed-rules`` takes every word after it).  ``every``: called
    each ``seconds`` while it runs (the runner harvests each job as it finishes, so that a run cut short,
    a session's end, keeps every finished job)."""
    cmd = ["nice", "-n", "19", "snakemake", *targets, "--cores", str(cores), *extra, "--config", "scale=decide"]  # fmt: skip
    print("+", " ".join(cmd), f"(in {workdir})", flush=True)
    proc = subprocess.Popen(cmd, cwd=workdir)
    while True:
        try:
            return proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            if every is not None:
                every()


def commit_of(folder: Path) -> str:
    out = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def _recorded_seconds(doc: dict[str, Any]) -> float:
    """Seconds a training job's cells recorded."""
    return sum(float(c["provenance"]["seconds"]) for c in doc["cells"])


def _cpu_seconds(root: Path, jobs: Iterable[Job]) -> float:
    """Seconds the jobs' cells recorded (training; baselines are not counted)."""
    return sum(
        _recorded_seconds(results.read(root / j.path)) for j in jobs if j.path.startswith("results/cells/")
    )


def slowdown(jobs: dict[str, Job], evidence: Path = EVIDENCE) -> tuple[float, int]:
    """(factor, n): how much longer than its estimate a full-budget job took here, the median over the ``n``
    training jobs of the evidence whose every seed ran its whole budget (a plateau stop ends sooner and says
    nothing of a step's speed), at least 1.  The estimate is an idle machine's; the campaign's jobs ran at
    nice 19 beside the work on the code, so ``run`` plans with every estimate times this factor."""
    ratios = []
    for job in jobs.values():
        f = evidence / job.path
        if job.path.startswith("results/cells/") and f.is_file() and 0 < job.hours < math.inf:
            doc = results.read(f)
            budget = int(doc["job"]["train"]["max_iters"])
            if all(int(r["iterations"]) >= budget for c in doc["cells"] for r in c["runs"]):
                ratios.append(_recorded_seconds(doc) / 3600 / job.hours)
    return (max(1.0, statistics.median(ratios)) if ratios else 1.0), len(ratios)


def calibrated(jobs: dict[str, Job], factor: float) -> dict[str, Job]:
    """``jobs`` with every estimate times ``factor`` (:func:`slowdown`)."""
    return {path: dataclasses.replace(j, hours=j.hours * factor) for path, j in jobs.items()}


def queue_parts(entries: Sequence[Entry], jobs: dict[str, Job]) -> dict[str, list[Job]]:
    """Each entry's jobs by its name, in queue order."""
    return {e.name: entry_jobs(e, jobs) for e in entries}


def mark_complete(
    parts: dict[str, list[Job]], workdir: Path, evidence: Path = EVIDENCE, queue: Path = QUEUE
) -> list[str]:
    """Mark done, in the queue file as it is now (another process may have written it meanwhile), every
    entry (``parts``: its jobs by its name) whose jobs are all in the evidence: where its evidence came from
    and what it cost (the seconds its cells recorded).  Returns the names newly marked."""
    doc = read_queue(queue)
    new = []
    for name, mine in parts.items():
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
    """Run the queue's next jobs that fit in ``hours`` (module docstring), harvesting each job as it finishes
    and marking done each entry whose jobs are all in the evidence (``rebuild`` draws its figure)."""
    deadline = time.monotonic() + hours * 3600
    config = decide_config()
    planned = plan(config)
    factor, n = slowdown(planned)
    jobs = calibrated(planned, factor)
    print(
        f"estimates × {factor:.2f}: the median slowdown of the evidence's {n} full-budget job(s)", flush=True
    )
    parts = queue_parts(check_queue(read_queue(), config), jobs)
    worktree(workdir)
    print(f"restored {restore(workdir)} evidence file(s) into {workdir}", flush=True)
    harvest(workdir, jobs.values())  # what an earlier run left finished there
    print(f"done: {', '.join(mark_complete(parts, workdir)) or 'nothing new'}", flush=True)
    owner = {j.path: n for n, mine in reversed(parts.items()) for j in mine}  # a shared job: its first entry
    todo = pending(j for n, mine in parts.items() if n not in read_queue()["done"] for j in mine)
    while todo:
        left = (deadline - time.monotonic()) / 3600
        batch = fitting(todo, left, cores)
        if not batch:
            print(f"stop: {owner[todo[0].path]}'s next job ({todo[0].path}, ≤ {todo[0].hours:.2f} CPU-h) does not "
                  f"fit in the {left:.2f} h left", flush=True)  # fmt: skip
            return

        def collect(batch: list[Job] = batch) -> None:
            fresh = harvest(workdir, pending(batch))
            if fresh:
                print(f"kept as they finished: {', '.join(j.path for j in fresh)}", flush=True)
                mark_complete(parts, workdir)

        snakemake(workdir, [j.path for j in batch], cores, ["--keep-going"], every=collect)
        kept = harvest(workdir, batch)
        print(f"{len(kept)} of {len(batch)} job(s) kept in {EVIDENCE}", flush=True)
        failed = pending(batch)
        for job in failed:  # not retried in this run: its log says why
            print(f"failed: {job.path} ({owner[job.path]}); see its log in {workdir}/logs", flush=True)
        if not kept:
            raise SystemExit(f"no job of the batch finished; see the logs in {workdir}/logs")
        print(f"done: {', '.join(mark_complete(parts, workdir)) or 'nothing new'}", flush=True)
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


def rebuildable(
    doc: dict[str, Any], parts: dict[str, list[Job]], evidence: Path = EVIDENCE
) -> tuple[list, list]:
    """(the done entries whose every job the evidence holds under today's names, the others with why)."""
    ok, stale = [], []
    for name in doc["done"]:
        missing = [j.path for j in parts.get(name, []) if not in_evidence(j, evidence)]
        if name not in parts:
            stale.append((name, "no longer in the queue"))
        elif missing:
            stale.append((name, f"{len(missing)} job(s) not in the evidence under the current code's names, "
                                f"e.g. {missing[0]} (the training code or settings changed since)"))  # fmt: skip
        else:
            ok.append(name)
    return ok, stale


def builds(entries: Sequence[Entry], done: Sequence[str]) -> dict[str, list[Entry]]:
    """The done entries grouped by the config overlay that builds them (``""``: none): a part is built only
    where its whole experiment is not done, and with its cut, so that its table holds the cells it trained."""
    whole = {e.experiment for e in entries if e.name in done and not e.only}
    out: dict[str, list[Entry]] = {}
    for e in entries:
        if e.name in done and (not e.only or e.experiment not in whole):
            out.setdefault(yaml.safe_dump(e.overlay()) if e.only else "", []).append(e)
    return out


def rebuild(
    cores: int,
    verdicts: Path = VERDICTS,
    figures: Path = FIGURES,
    queue: Path = QUEUE,
    readme: Path | None = None,
) -> None:
    """Tables, figures and verdicts of every done entry, from the evidence, with today's report code; a
    part's table holds its cells only, and its experiment's other claims are not judged.  ``readme``: also
    its decided scoreboard (:func:`write_readme`)."""
    import decide_verdicts  # noqa: PLC0415

    config, doc = decide_config(), read_queue(queue)
    entries = check_queue(doc, config)
    parts = queue_parts(entries, plan(config))
    ok, stale = rebuildable(doc, parts)
    for name, why in stale:
        print(f"not rebuilt: {name}: {why}", file=sys.stderr)
    if not ok:
        raise SystemExit("no done experiment to rebuild from the evidence")
    groups = builds(entries, ok)
    with tempfile.TemporaryDirectory(prefix="decide-rebuild-") as tmp:
        work = scratch_checkout(Path(tmp))
        for i, (overlay, group) in enumerate(groups.items()):
            extra = ["--allowed-rules", *BUILD_RULES]
            if overlay:
                (work / f"part{i}.yaml").write_text(overlay)
                extra += ["--configfile", f"part{i}.yaml"]
            if snakemake(work, [target_of(config, e.experiment) for e in group], cores, extra) != 0:
                raise SystemExit("the rebuild failed (it may only build tables and figures; see above)")
        figures.mkdir(parents=True, exist_ok=True)
        for png in sorted((work / "figures").glob("*.png")):
            shutil.copy2(png, figures / png.name)
        built = [e for group in groups.values() for e in group]
        judged = {e.base: set(e.claims) for e in built if e.only}
        kept = kept_toward(doc, parts)
        text = decide_verdicts.markdown(work, sources=decide_sources(doc, built), parts=judged, kept=kept)
        verdicts.write_text(text)
    if readme is not None:
        write_readme(verdicts, readme)
    print(f"wrote {verdicts} and {len(built)} entries' figures/tables ({', '.join(e.name for e in built)})"
          + (f"; {readme}'s scoreboard" if readme is not None else ""))  # fmt: skip


def scoreboard_block(verdicts_text: str) -> str:
    """The scoreboard of a verdicts file (its per-reading tally of decided claims, the readings that fail no
    claim another holds, the claims no reading holds), as README shows it: the lines from its heading to
    the table of what each reading changes, the heading dropped."""
    lines = verdicts_text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith(SCOREBOARD_HEAD))
    except StopIteration:
        return "No reading was decided beside the defaults yet."
    end = next((i for i in range(start, len(lines)) if lines[i].startswith(SCOREBOARD_END)), len(lines))
    return "\n".join(lines[start + 1 : end]).strip()


def with_scoreboard(readme_text: str, block: str, where: Path = README) -> str:
    """``readme_text`` with the text between :data:`README_MARKS` replaced by ``block``; an error naming
    the markers if README lacks them (nothing is written then)."""
    head, mark, rest = readme_text.partition(README_MARKS[0])
    _, end, tail = rest.partition(README_MARKS[1])
    if not mark or not end:
        raise SystemExit(f"{where}: the markers {README_MARKS[0]!r} … {README_MARKS[1]!r} are missing; put "
                         "them back where the decided scoreboard goes (git show HEAD:README.md)")  # fmt: skip
    return f"{head}{mark}\n{block}\n{end}{tail}"


def write_readme(verdicts: Path, readme: Path = README) -> None:
    """README's scoreboard block from ``verdicts``, written atomically."""
    text = with_scoreboard(readme.read_text(), scoreboard_block(verdicts.read_text()), readme)
    write_with(readme, lambda tmp: Path(tmp).write_text(text))


def kept_toward(doc: dict[str, Any], parts: dict[str, list[Job]], evidence: Path = EVIDENCE) -> pd.DataFrame:
    """The cells of every training job the evidence holds for an entry not yet done (under the first such
    entry that lists it; a job of a done entry is already among the verdicts' cells), read from the evidence
    with today's table code."""
    done = {j.path for name, mine in parts.items() if name in doc["done"] for j in mine}
    rows, seen = [], set(done)
    for name, mine in parts.items():
        for job in mine:
            if job.path.startswith("results/cells/") and job.path not in seen and in_evidence(job, evidence):
                seen.add(job.path)
                rows += [
                    {"experiment": name, **r, "file": job.path} for r in cell_summaries(evidence / job.path)
                ]
    return pd.DataFrame(rows)


def decide_sources(doc: dict[str, Any], entries: Sequence[Entry]) -> list[str]:
    """One line per entry: where and on which commit its evidence was made (a part: what it trains)."""
    out = []
    for e in entries:
        d = doc["done"][e.name]
        cut = "; ".join(f"{k} {', '.join(map(str, v))}" for k, v in e.only)
        part = f" (part of {e.experiment}: {cut} only; judges {', '.join(e.claims)})" if e.only else ""
        out.append(f"{e.name}{part}: {d.get('jobs')} jobs, {d.get('cpu_hours')} CPU-h, commit "
                   f"{str(d.get('commit'))[:10]}, {d.get('machine')}, {d.get('finished')}")  # fmt: skip
    return out


def status() -> None:
    config, doc = decide_config(), read_queue()
    planned = plan(config)
    factor, n = slowdown(planned)
    print(
        f"CPU-h to go: full-budget estimates × {factor:.2f} (the median slowdown of {n} full-budget jobs here)"
    )
    for name, mine in queue_parts(check_queue(doc, config), calibrated(planned, factor)).items():
        todo = pending(mine)
        state = "done" if name in doc["done"] else f"{len(mine) - len(todo)}/{len(mine)} jobs in the evidence"
        est = sum(j.hours for j in todo)
        print(f"{name:22s} {state:32s} ≤ {est:6.2f} CPU-h to go")


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
    b.add_argument("--no-readme", action="store_true", help="leave README's decided scoreboard as it is")
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
        parts = queue_parts(check_queue(read_queue(), decide_config()), jobs)
        print(
            f"{len(kept)} finished job(s) are in {EVIDENCE}; done: {', '.join(mark_complete(parts, a.workdir))}"
        )
    else:
        rebuild(a.cores, a.out, a.figures, readme=None if a.no_readme else README)


if __name__ == "__main__":
    main()
