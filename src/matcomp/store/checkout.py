"""Which copy of the package runs, and a workflow job's start.

The rules (``common.smk``), every job script and ``matcomp clean`` put their checkout's ``src/`` first on
``sys.path``; :func:`require` checks that it won.  A second copy installed elsewhere (a non-editable
``pip install``, another clone) must not: results would be named after this checkout's code but made by
other code.  :func:`start_job` is the first call of every script under ``workflow/scripts/``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def package_dir(src: str | os.PathLike[str]) -> Path:
    return (Path(src) / "matcomp").resolve()


def runs_from(src: str | os.PathLike[str]) -> bool:
    """Whether this process imported ``matcomp`` from ``src`` (a checkout's ``src/`` folder)."""
    import matcomp

    return Path(matcomp.__file__).resolve().parent == package_dir(src)


def require(src: str | os.PathLike[str], who: str = "this job") -> None:
    """Stop unless this process runs the package under ``src``, naming both copies and the fix."""
    import matcomp

    if not runs_from(src):
        want = package_dir(src)
        raise RuntimeError(
            f"{who} imported matcomp from {Path(matcomp.__file__).resolve().parent}, not from the checkout it "
            f"belongs to ({want}); remove the other copy from this environment (pip uninstall matcomp, then "
            f"pip install -e {want.parents[1]}) and rerun"
        )


def scripts_src(scriptdir: str | os.PathLike[str]) -> Path:
    """The ``src/`` of the checkout whose ``workflow/scripts/`` is ``scriptdir`` (Snakemake gives it with "..")."""
    return Path(scriptdir).resolve().parents[1] / "src"


def start_job(snakemake: Any) -> None:
    """A job script's start: the checkout's package is the one running (:func:`require`), and the job's
    output goes to its log (:func:`redirect_log`)."""
    require(scripts_src(snakemake.scriptdir))
    redirect_log(snakemake)


def redirect_log(snakemake: Any) -> None:
    """Send a Snakemake job's stdout and stderr to its ``log:`` file; an error that ends the job is also
    named in one line on the console (Snakemake's own message only points at the log)."""
    if snakemake.log:
        fh = open(snakemake.log[0], "w", buffering=1)  # noqa: SIM115 - lives as long as the job
        console, previous = sys.__stderr__, sys.excepthook
        sys.stdout = sys.stderr = fh

        def hook(kind: type[BaseException], err: BaseException, tb: Any) -> None:
            previous(kind, err, tb)  # the traceback, into the log
            print(f"{kind.__name__}: {err} (traceback: {snakemake.log[0]})", file=console, flush=True)

        sys.excepthook = hook
