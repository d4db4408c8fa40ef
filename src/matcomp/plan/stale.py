"""Cached results that no job of the current config and code produces (``matcomp clean --stale``).

Result files of the cached kinds (ground truth, training, baseline and MovieLens jobs, and the packs that
train GPU jobs together) end in a hash of their settings and code, so a changed setting or an edited
package gives new files beside the old ones.  The old ones are never overwritten or deleted by the
workflow; this module finds them: every file under the cached kinds' folders of ``results/``, ``logs/``
and ``benchmarks/logs/`` that is neither a result of a job the config plans (at any of the scales asked
about) nor that job's log, benchmark or trajectory.  Fixed-path outputs (tables, figures, claims, the R
library, the MovieLens download) are never stale.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..store.paths import BENCHMARK_LOGS, CACHED, LOGS, MOVIELENS_MODELS, RESULTS, log_of
from ..store.results import trajectory_path
from .config import load
from .jobs import baseline_jobs, training_jobs
from .movielens import movielens_jobs
from .packs import make_packs, pack_folder

#: folders (under results/, logs/ and benchmarks/logs/) whose files are named by a settings hash
RESULT_SUFFIXES = (".trajectory.npz", ".json", ".npz")


def scales_of(config: dict[str, Any], scales: Sequence[str] | None) -> list[str]:
    """The scales to keep: those named, else ``paper`` and every scale the config defines."""
    return list(scales) if scales else ["paper", *config.get("scales", {})]


def planned_results(config: dict[str, Any]) -> set[str]:
    """Result files (relative paths) of every cached job one effective config plans, with the packs that
    could train its GPU jobs (a pack's folder holds copies of its members' results)."""
    files: set[str] = set()
    jobs = training_jobs(config)
    for path, job in jobs.items():
        files |= {path, str(trajectory_path(path)), *job.data_paths()}
    for pack, members in make_packs(jobs).items():
        for path in members:
            files |= {f"{pack_folder(pack)}/{path}", f"{pack_folder(pack)}/{trajectory_path(path)}"}
        files.add(pack_folder(pack))  # not a file: with_logs maps it to the pack's log and benchmark
    for path, job in baseline_jobs(config).items():
        files |= {path, *job.data_paths()}
    files |= set(movielens_jobs(config))
    return files


def with_logs(results: Iterable[str]) -> set[str]:
    """Result files with their jobs' logs and benchmarks (``logs/X.log``, ``benchmarks/logs/X.tsv``)."""
    out: set[str] = set()
    for path in results:
        stem = next((path[: -len(s)] for s in RESULT_SUFFIXES if path.endswith(s)), path)
        out |= {path, log_of(stem + ".x"), log_of(stem + ".x", ".tsv")}
    return out


PLACEMENTS = (False, True)
"""``gpus`` settings a result may have been planned under (a job's placement is part of its name): README's
commands run with and without ``--config gpus=true``, and neither's results are stale under the other."""


def current_files(
    config: dict[str, Any], scales: Sequence[str] | None = None, base: dict[str, Any] | None = None
) -> set[str]:
    """Every cached file some job of ``config`` (raw, before the scale) plans at the given scales, under
    either placement (:data:`PLACEMENTS`); ``base``: the workflow's config.yaml (what the user set over it
    wins over a scale, as in the workflow)."""
    keep: set[str] = set()
    for scale in scales_of(config, scales):
        for gpus in PLACEMENTS:
            raw = {**copy.deepcopy(config), "scale": scale, "gpus": gpus, "pack_training": "auto"}
            keep |= with_logs(planned_results(load(raw, base)))
    return keep


MOVIELENS = tuple(f"movielens/{m}/" for m in MOVIELENS_MODELS)
LOG_ROOTS = (f"{LOGS}/", f"{BENCHMARK_LOGS}/")


def _movielens_current(root: Path, rel: str, code: str) -> bool:
    """A MovieLens result (or its log) made by the MovieLens code ``code`` (this checkout's hash): kept
    whatever data folder it read (``movielens_dir``, the download, test data), since no config names every
    folder a user ran."""
    stem = next((rel[: -len(s)] for s in (".json", ".log", ".tsv") if rel.endswith(s)), rel)
    for top in LOG_ROOTS:
        stem = stem[len(top) :] if stem.startswith(top) else stem
    result = root / f"{stem}.json"
    try:
        recorded = (json.loads(result.read_text()).get("code") or {}).get("hash")
    except (OSError, ValueError, AttributeError):
        return False
    return recorded == code


def cached_files(root: Path) -> list[str]:
    """Every file under the cached kinds' folders, relative to ``root``."""
    found = []
    for top in (RESULTS, LOGS, BENCHMARK_LOGS):  # not figures/: no cached results there
        for sub in CACHED:
            folder = root / top / sub
            if folder.is_dir():
                found += [p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file()]
    return sorted(found)


HASHED = re.compile(r"_[0-9a-f]{10}$")
"""The end of a cached result's name (before its suffix): the hash of its settings and code."""
NOT_OURS = "not ours, left alone: its name or contents do not say the pipeline made it"


def _stem(rel: str) -> str:
    name = rel
    for top in LOG_ROOTS:
        name = name.removeprefix(top)
    return next((name[: -len(x)] for x in (*RESULT_SUFFIXES, ".log", ".tsv") if name.endswith(x)), name)


def made_by_pipeline(root: Path, rel: str) -> bool:
    """Whether a file's name and contents say a job of the workflow made it: a name ending in a settings
    hash (``…_0123456789.json``, its trajectory, log or benchmark), and for a result JSON a document that
    records its job or code (or an empty file: ``snakemake --touch`` marks jobs done that way).  A user's README, notes or own matrix beside the results is not ours."""
    stem = _stem(rel)
    if not HASHED.search(Path(stem).name) and "/packs/" not in f"/{rel}":
        return False
    if rel.endswith(".json") and rel.startswith(f"{RESULTS}/"):
        if (root / rel).stat().st_size == 0:  # marked done by `snakemake --touch`: the workflow's own
            return True
        try:
            doc = json.loads((root / rel).read_text())
        except (OSError, ValueError):
            return False
        return isinstance(doc, dict) and ("job" in doc or "code" in doc or "settings" in doc)
    return True


def named_data(root: Path, config: dict[str, Any]) -> Path | None:
    """The MovieLens folder the config names (``movielens_dir``), if it lies under ``root``: never stale."""
    folder = config.get("movielens_dir")
    if not folder:
        return None
    path = (root / folder).resolve()
    return path if path.is_relative_to(root.resolve()) else None


def stale_files(root: Path, config: dict[str, Any], scales: Sequence[str] | None = None) -> list[str]:
    """Cached files under ``root`` that no job of ``config`` plans at the given scales under either
    placement, except MovieLens results of this checkout's code (:func:`_movielens_current`) and files the
    pipeline did not make (:func:`made_by_pipeline`)."""
    return [f for f, why in stale_with_reasons(root, config, scales) if why != NOT_OURS]


def stale_with_reasons(
    root: Path,
    config: dict[str, Any],
    scales: Sequence[str] | None = None,
    base: dict[str, Any] | None = None,
) -> list[tuple[str, str]]:
    """(file, why it is stale) for :func:`stale_files`; a file the pipeline did not make comes with
    :data:`NOT_OURS` (listed, never removed)."""
    from ..store.codehash import code_hash

    keep, movielens_code = current_files(config, scales, base), code_hash("movielens")
    data = named_data(root, config)
    out = []
    for f in cached_files(root):
        if f in keep or (data is not None and (root / f).resolve().is_relative_to(data)):
            continue
        if not made_by_pipeline(root, f):
            out.append((f, NOT_OURS))
            continue
        if any(m in f for m in MOVIELENS):
            if not _movielens_current(root, f, movielens_code):
                out.append((f, "a MovieLens result of other MovieLens code (or unreadable)"))
            continue
        out.append(
            (f, "no job plans it at these scales under either placement (a setting or the code changed)")
        )
    return out


def running(root: Path) -> list[str]:
    """The lock files of a Snakemake run going in ``root`` (``.snakemake/locks``): while one runs, its
    finished results and live logs must not be removed."""
    locks = root / ".snakemake" / "locks"
    return sorted(p.name for p in locks.iterdir()) if locks.is_dir() else []


def remove(root: Path, files: Iterable[str]) -> int:
    """Delete ``files`` (relative to ``root``) and the folders they leave empty; returns bytes freed."""
    freed = 0
    for rel in files:
        path = root / rel
        freed += path.stat().st_size
        path.unlink()
        parent = path.parent
        while parent != root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return freed
