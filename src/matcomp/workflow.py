"""Glue between Snakemake jobs and the package: what the thin scripts under workflow/scripts/ call."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from .cli import save_result
from .data import load_problem
from .train import TrainConfig, train_batch


def redirect_log(snakemake: Any) -> None:
    """Send the job's stdout and stderr to its ``log:`` file."""
    if snakemake.log:
        fh = open(snakemake.log[0], "w", buffering=1)  # noqa: SIM115 - lives as long as the job
        sys.stdout = sys.stderr = fh


def train_cell(cell: dict[str, Any], data_files: Sequence[str], out: str, device: str = "auto") -> None:
    """Train one cell: ``cell`` is :meth:`matcomp.experiments.Cell.params`; writes ``out`` + trajectory."""
    problems = [load_problem(f) for f in data_files]
    for p, seed in zip(problems, cell["seeds"], strict=True):
        expect = {"rank": cell["rank"], "n_obs": cell["n_obs"], "seed": seed, **cell["data"]}
        got = {k: p.settings.get(k) for k in expect}
        if got != expect:
            raise ValueError(f"data file does not match the cell: expected {expect}, got {got}")
    train = cell["train"]
    cfg = TrainConfig(
        optimizer=cell["optimizer"], penalty=cell["penalty"], depth=cell["depth"], device=device,
        **{k: train[k] for k in ("lr", "init_std", "width", "max_iters", "tol", "reduction", "log", "dtype")},
    )  # fmt: skip
    result = train_batch(problems, [cell["lam"]] * len(problems), cfg, seeds=cell["seeds"], progress=True)
    result.settings["cell"] = cell
    save_result(result, out)
