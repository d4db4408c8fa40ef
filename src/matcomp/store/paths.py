"""Every path the workflow writes, once: the cached results (patterns with the fields the planner fills in),
the aggregates (tables, figures, the answer files), and where each job's log and benchmark go.  The rules
(``workflow/rules/*.smk``), the planner (:mod:`matcomp.plan`), ``matcomp clean --stale`` and the check that
every output folder is writable read them here."""

from __future__ import annotations

RESULTS = "results"
"""The folder every result lies under: cached results, tables and the answer files (change it here alone)."""
FIGURES = "figures"
LOGS = "logs"
BENCHMARK_LOGS = "benchmarks/logs"
"""Where each job's log and Snakemake benchmark go (a result's path below its root, :func:`log_of`)."""
OUTPUT_ROOTS = (RESULTS, FIGURES, LOGS, BENCHMARK_LOGS)
"""The folders the workflow writes under (each existing folder below them is checked before any job)."""
NOT_WRITTEN = (RESULTS + "/R",)
"""Folders under them that no job writes into once made (the R library: thousands of folders)."""

# ---------------------------------------------------------------- cached results (named by their settings)
DATA_FILE = RESULTS + "/data/m{m}_n{n}_r{rank}_o{n_obs}_s{seed}{norm}_{code}.npz"
TRAIN_RESULT = RESULTS + "/cells/r{rank}_o{n_obs}/{optimizer}/{penalty}/lam{lam}_{hash}.json"
BASELINE_RESULT = RESULTS + "/baselines/{method}/r{rank}_o{n_obs}_{hash}.json"
PACK_FOLDER = RESULTS + "/packs/{pack}"
MOVIELENS_RESULT = RESULTS + "/movielens/{model}/{row}/split{pct}_s{seed}_{hash}.json"
MOVIELENS_MODELS = ("lnn", "embedding")
""":data:`matcomp.movielens.terms.MODELS` (spelled here: this module is part of every step's code, which
should not include the MovieLens checkpoints; ``tests/test_paths.py`` checks the two agree)."""
CACHED = ("cells", "baselines", "data", *(f"movielens/{m}" for m in MOVIELENS_MODELS), "packs")
"""The folders (under ``results/``, ``logs/`` and ``benchmarks/logs/``) of results cached under a settings hash:
what ``matcomp clean --stale`` looks through."""


def trajectory_of(result: str) -> str:
    """The trajectories beside a result (path or pattern) ``x.json``: ``x.trajectory.npz``."""
    return result.removesuffix(".json") + ".trajectory.npz"


def log_of(result: str, ext: str = ".log") -> str:
    """The log (``.log``) or benchmark (``.tsv``) file of a result path or pattern: ``results/X.json`` ->
    ``logs/X.log`` / ``benchmarks/logs/X.tsv`` (``figures/X.pdf`` -> ``logs/figures/X.log``)."""
    stem = result.removeprefix(RESULTS + "/").rsplit(".", 1)[0]
    return f"{LOGS}/{stem}{ext}" if ext == ".log" else f"{BENCHMARK_LOGS}/{stem}{ext}"


# ---------------------------------------------------------------- aggregates (fixed names)
TABLE = RESULTS + "/tables/{name}.{ext}"
FIGURE = FIGURES + "/{name}.{ext}"
R_LIBRARY = RESULTS + "/R/library"
ROPTSPACE_RECORD = RESULTS + "/R/roptspace.json"
MOVIELENS_DOWNLOAD = RESULTS + "/movielens/ml-100k"
EFFECTIVE_CONFIG = RESULTS + "/config.effective.yaml"
REPORT = RESULTS + "/REPORT.md"
CLAIMS = RESULTS + "/claims.{ext}"
PAPER_VS_OURS = RESULTS + "/paper_vs_ours.{ext}"
READINGS = RESULTS + "/readings.{ext}"


def table(name: str, ext: str = "csv") -> str:
    """``results/tables/{name}.{ext}`` (``name`` may be a Snakemake wildcard, ``"{name}"``)."""
    return TABLE.format(name=name, ext=ext)


def figure(name: str, ext: str = "pdf") -> str:
    """``figures/{name}.{ext}``."""
    return FIGURE.format(name=name, ext=ext)
