"""The data job: one ground-truth problem (W*, Ω), a pure function of its settings, named by its code."""

from __future__ import annotations

from typing import Any

from ..data import make_problem
from ..store.codehash import verify


def make_data(params: dict[str, Any], out: str) -> None:
    """Write the problem of ``params`` (m, n, rank, n_obs, seed, normalize, code) to ``out``; the file records
    the code that made it."""
    code = verify(params["code"])
    problem = make_problem(
        params["m"], params["n"], params["rank"], params["n_obs"], params["seed"], params["normalize"]
    )
    problem.settings.update(code=code["hash"], code_files=code["files"])
    problem.save(out)
