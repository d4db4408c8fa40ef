"""OPT: OptSpace (Keshavan, Montanari & Oh 2010) in R, called through rpy2.

``implementation``:

- ``"roptspace"``: the CRAN package ROptSpace (``OptSpace(A, ropt, niter, tol)``), the one the paper ran;
  an error if it is absent.
- ``"builtin-cran"``: matcomp's base-R twin of ROptSpace 0.2.4's steps (``matcomp/R/optspace_cran.R``:
  straight-line moves, a step search that compares each trial with the previous one), written from a
  description of that package, not from its code.  It stalls at low sample sizes as ROptSpace does.
- ``"builtin-published"``: matcomp's base-R port of the published algorithm (``matcomp/R/optspace.R``:
  geodesic steps with Armijo backtracking); it converges further than ROptSpace at low sample sizes.
- ``"auto"`` (default): ROptSpace when ``requireNamespace("ROptSpace")`` succeeds, else ``builtin-cran``.

``"builtin"`` (before the split) is refused with a message naming the two builtins.

ROptSpace has no Debian or conda-forge package; :func:`install_roptspace` installs it from CRAN into a
project-local library (pass that folder as ``r_lib``), and returns False where CRAN is unreachable.
Every result records which implementation ran.  numpy NaN reaches R as NaN, not NA: the R side turns it
into ``NA_real_`` explicitly before OptSpace sees it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ._common import nan_matrix, observed_input

# rpy2 tries its API mode first (which needs R's headers, r-base-dev) unless told otherwise.
os.environ.setdefault("RPY2_CFFI_MODE", "ABI")

IMPLEMENTATIONS = ("auto", "roptspace", "builtin-cran", "builtin-published")
# Sourced in this order; optspace_cran.R uses optspace.R's helpers.
R_FILES = ("optspace.R", "optspace_cran.R")
# What each implementation is, recorded in every result's info["notes"] (see the R files' headers).
IMPLEMENTATION_NOTES = {
    "roptspace": "CRAN's ROptSpace; dist as that package defines it",
    "builtin-cran": (
        "matcomp's twin of ROptSpace 0.2.4's steps, from a description of them: rescale by "
        "sqrt(|E| r / ||M_E||^2), trim, spectral start, straight-line moves X + tW, Y + tZ with S re-solved by "
        "least squares; step search from t = -0.1 halving up to 20 times against the previous trial. "
        "Decisions: rho = 0, so (W, Z) is the Euclidean gradient of 1/2 ||P_E(XSY' - M)||^2 (no tangent "
        "correction: zero at the least-squares S); S re-fitted by least squares before the first step; "
        "f(t) with S fixed; dist = RMS residual over E of the rescaled matrix (data RMS sqrt(r)), tol on it"
    ),
    "builtin-published": (
        "matcomp's port of the published algorithm (Keshavan, Montanari & Oh 2010; Keshavan & Oh 2009): "
        "geodesic steps on the Grassmannians, Armijo backtracking from twice the previous step, rho = 0; "
        "dist = ||P_E(A - XSY')||_F / ||P_E(A)||_F, tol on it"
    ),
}
REMOVED_IMPLEMENTATIONS = {
    "builtin": "'builtin' was split in two: 'builtin-cran' (ROptSpace 0.2.4's steps, what the paper ran) "
    "and 'builtin-published' (the published algorithm, the former 'builtin')",
}
INSTALL_R = "apt-get install -y --no-install-recommends r-base-core"
INSTALL_RPY2 = "pip install -e '.[r]'"
CRAN = "https://cloud.r-project.org"


class MissingRDependency(RuntimeError):
    """R, rpy2 or an R package that OPT needs is not available; the message names the fix."""


@dataclass(frozen=True)
class OptSpaceFit:
    """What R's OptSpace returned (``X`` n×r, ``S`` r×r, ``Y`` m×r, ``dist``) and which implementation ran.

    ``w_r`` is ``X S Yᵀ`` computed in R; :meth:`reconstruct` computes it in numpy.
    """

    x: np.ndarray
    s: np.ndarray
    y: np.ndarray
    dist: np.ndarray
    w_r: np.ndarray
    implementation: str
    version: str
    n_na: int
    seconds: float

    @property
    def rank(self) -> int:
        return int(self.s.shape[0])

    def reconstruct(self) -> np.ndarray:
        """``X S Yᵀ`` in numpy from the returned factors."""
        return self.x @ self.s @ self.y.T


_R_STATE: dict[str, Any] = {}


def r_script_path(name: str = "optspace.R") -> Path:
    """One of the builtin R files shipped as package data (:data:`R_FILES`)."""
    return Path(str(resources.files("matcomp") / "R" / name))


def check_implementation(implementation: str) -> str:
    """``implementation`` if it is one of :data:`IMPLEMENTATIONS`, else a ValueError naming them."""
    if implementation in IMPLEMENTATIONS:
        return implementation
    why = REMOVED_IMPLEMENTATIONS.get(implementation, "unknown")
    raise ValueError(
        f"OptSpace implementation {implementation!r}: {why}; valid: {', '.join(IMPLEMENTATIONS)}"
    )


def _robjects() -> Any:
    """``rpy2.robjects`` with matcomp's R code sourced (once); MissingRDependency when R/rpy2 is absent."""
    if "ro" in _R_STATE:
        return _R_STATE["ro"]
    if not os.environ.get("R_HOME") and shutil.which("R") is None:
        raise MissingRDependency(f"OPT needs R, which is not installed (no `R` on PATH): {INSTALL_R}")
    # Starting R through rpy2 exports R's environment (R_HOME, ..., LD_LIBRARY_PATH=/usr/lib/R/lib:
    # /usr/lib/x86_64-linux-gnu:...) into this process.  That LD_LIBRARY_PATH makes any Python started
    # later from here (a subprocess, a Snakemake job) load the system's libpython instead of its own and
    # lose its site-packages.  R has its libraries loaded by then, so the variable is put back.
    saved_ld = os.environ.get("LD_LIBRARY_PATH")
    try:
        import rpy2.robjects as ro
    except ImportError as err:
        raise MissingRDependency(f"OPT needs rpy2, which is not importable ({err}): {INSTALL_RPY2}") from None
    except Exception as err:  # rpy2 raises assorted errors when it cannot load libR
        msg = f"{type(err).__name__}: {err}".splitlines()[0]
        raise MissingRDependency(
            f"OPT cannot start R through rpy2 ({msg}): {INSTALL_R}; {INSTALL_RPY2} "
            "(on R 4.2 keep rpy2-rinterface<3.6.6)"
        ) from None
    finally:
        if saved_ld is None:
            os.environ.pop("LD_LIBRARY_PATH", None)
        else:
            os.environ["LD_LIBRARY_PATH"] = saved_ld
    for name in R_FILES:
        ro.r["source"](str(r_script_path(name)))
    _R_STATE["ro"] = ro
    return ro


def _converter(ro: Any) -> Any:
    from rpy2.robjects import numpy2ri

    return ro.default_converter + numpy2ri.converter


def _add_lib(ro: Any, r_lib: str | os.PathLike[str] | None) -> None:
    if r_lib is not None and Path(r_lib).is_dir():
        ro.r(".libPaths")(ro.StrVector([str(Path(r_lib).resolve()), *ro.r(".libPaths")()]))


def has_roptspace(r_lib: str | os.PathLike[str] | None = None) -> bool:
    """Whether R can load the ROptSpace package (looking in ``r_lib`` first, if given)."""
    ro = _robjects()
    _add_lib(ro, r_lib)
    # isTRUE(): requireNamespace's result is invisible, which rpy2 3.6's r() turns into None.
    return bool(ro.r('isTRUE(requireNamespace("ROptSpace", quietly = TRUE))')[0])


def to_r_matrix(w: np.ndarray) -> Any:
    """An R double matrix (an rpy2 object) of ``w`` with every NaN made ``NA_real_``.

    Plain numpy conversion gives R a NaN, which R's ``is.na`` accepts but ``is.nan`` also flags and some
    R code treats as a value; this is the conversion OPT uses.
    """
    ro = _robjects()
    with _converter(ro).context():
        r_w = ro.conversion.get_conversion().py2rpy(np.asarray(w, dtype=np.float64))
    return ro.globalenv["matcomp_nan_to_na"](r_w)


def optspace_fit(
    w_obs: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    rank: int | None = None,
    niter: int = 50,
    tol: float = 1e-6,
    implementation: str = "auto",
    r_lib: str | os.PathLike[str] | None = None,
) -> OptSpaceFit:
    """Run OptSpace on ``w_obs`` (NaN = unobserved, or ``mask`` True = observed).

    ``rank=None`` lets OptSpace estimate the rank (``ropt = NA``); ``niter`` and ``tol`` are OptSpace's.
    """
    check_implementation(implementation)
    w, mask = observed_input(w_obs, mask)
    ro = _robjects()
    _add_lib(ro, r_lib)
    if implementation == "roptspace" and not has_roptspace():
        raise MissingRDependency(
            "R package 'ROptSpace' is not installed: install it with "
            "matcomp.baselines.optspace.install_roptspace(LIB) (needs CRAN) and pass r_lib=LIB, "
            "or use implementation='auto', 'builtin-cran' or 'builtin-published'"
        )
    ropt: Any = ro.NA_Integer if rank is None else int(rank)
    with _converter(ro).context():
        r_w = ro.conversion.get_conversion().py2rpy(w)
    # Called under rpy2's default conversion so the result is a ListVector whatever the rpy2 version
    # (3.6's numpy converter turns R lists into NamedList, 3.5's into other types); elements converted below.
    t0 = time.perf_counter()
    out = ro.globalenv["matcomp_optspace"](
        r_w, ropt=ropt, niter=int(niter), tol=float(tol), implementation=implementation
    )
    seconds = time.perf_counter() - t0
    with _converter(ro).context():
        to_py = ro.conversion.get_conversion().rpy2py
        res = {str(name): to_py(out.rx2(str(name))) for name in out.names}
    return OptSpaceFit(
        x=_mat(res["X"]),
        s=_mat(res["S"]),
        y=_mat(res["Y"]),
        dist=np.atleast_1d(np.asarray(res["dist"], dtype=np.float64)),
        w_r=_mat(res["M"]),
        implementation=str(res["implementation"][0]),
        version=str(res["version"][0]),
        n_na=int(np.asarray(res["n_na"]).ravel()[0]),
        seconds=seconds,
    )


def _mat(value: Any) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    return a.reshape(1, 1) if a.ndim == 0 else a if a.ndim == 2 else a.reshape(-1, 1)


def complete(
    w_obs: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    rank: int | None = None,
    niter: int = 50,
    tol: float = 1e-6,
    implementation: str = "auto",
    r_lib: str | os.PathLike[str] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """OptSpace completion ``X S Yᵀ`` and an info dict (implementation, rank, iterations, dist)."""
    fit = optspace_fit(
        w_obs, mask, rank=rank, niter=niter, tol=tol, implementation=implementation, r_lib=r_lib
    )
    w_hat = fit.w_r
    finite = bool(np.isfinite(w_hat).all())
    if not finite:
        w_hat = nan_matrix(w_hat.shape)
    info: dict[str, Any] = {
        "implementation": fit.implementation,
        "implementation_requested": implementation,
        "version": fit.version,
        "notes": IMPLEMENTATION_NOTES[fit.implementation],
        "rank_requested": rank,
        "rank": fit.rank,
        "iterations": len(fit.dist) - 1,
        "final_dist": float(fit.dist[-1]) if len(fit.dist) else float("nan"),
        "dist": fit.dist.tolist(),
        "niter": niter,
        "tol": tol,
        "wall_seconds": fit.seconds,
        "status": "ok" if finite else "failed",
        "message": "" if finite else "non-finite entries in the completion",
    }
    return w_hat, info


def install_roptspace(lib_dir: str | os.PathLike[str], repos: str = CRAN, timeout_s: float = 300) -> bool:
    """Install ROptSpace from CRAN into ``lib_dir``; True when R can then load it from there.

    Runs ``Rscript`` in a subprocess (no rpy2 needed); returns False, without raising, when R is missing,
    CRAN is unreachable, the build fails or it takes longer than ``timeout_s``.
    """
    rscript = shutil.which("Rscript")
    if rscript is None:
        return False
    lib = Path(lib_dir).resolve()
    lib.mkdir(parents=True, exist_ok=True)
    code = (
        "options(timeout = 60); args <- commandArgs(TRUE); .libPaths(c(args[1], .libPaths()));"
        "try(install.packages('ROptSpace', lib = args[1], repos = args[2], quiet = TRUE));"
        "quit(status = if (requireNamespace('ROptSpace', lib.loc = args[1], quietly = TRUE)) 0 else 1)"
    )
    try:
        proc = subprocess.run(
            [rscript, "--vanilla", "-e", code, str(lib), repos],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (subprocess.TimeoutExpired, OSError):
        return False
    return proc.returncode == 0
