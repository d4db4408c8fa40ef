"""SI: fancyimpute's SoftImpute (Mazumder, Hastie & Tibshirani 2010) with the library's defaults.

fancyimpute 0.7.0 is the last release: it passes ``force_all_finite`` to scikit-learn's ``check_array``,
removed in scikit-learn 1.8 (pin ``scikit-learn<1.8``), and emits a FutureWarning on every call.  Its
warnings and progress prints are captured here, never shown; the library's own summary line (iterations
run, shrinkage λ) is parsed from the captured prints into the returned info.

Its default λ comes from a randomized SVD that draws from numpy's global random state; ``random_state``
seeds that state for the call (and restores it afterwards) so that results are reproducible.
"""

from __future__ import annotations

import contextlib
import io
import re
import time
import warnings
from importlib import metadata
from typing import Any

import numpy as np

from ._common import observed_input

IMPLEMENTATION = "fancyimpute"
_STOP = re.compile(r"Stopped after iteration (\d+) for lambda=(\S+)")


class SoftImputeDependencyError(RuntimeError):
    """fancyimpute is missing, or incompatible with the installed scikit-learn."""


def complete(
    w_obs: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    random_state: int | None = 0,
    **softimpute_options: Any,
) -> tuple[np.ndarray, dict[str, Any]]:
    """SoftImpute completion of ``w_obs`` (NaN = unobserved, or ``mask`` True = observed).

    ``softimpute_options`` override ``fancyimpute.SoftImpute``'s defaults (``shrinkage_value``,
    ``max_iters``, ``convergence_threshold``, ...).  Returns ``(w_hat, info)``.
    """
    w, mask = observed_input(w_obs, mask)
    softimpute_options.pop("verbose", None)  # its prints are always captured (module docstring)
    out = io.StringIO()
    state = np.random.get_state()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        try:
            from fancyimpute import SoftImpute
        except ImportError as err:
            raise SoftImputeDependencyError(
                f"SI needs fancyimpute ({err}): pip install -e '.[baselines]'"
            ) from None
        solver = SoftImpute(verbose=True, **softimpute_options)
        t0 = time.perf_counter()
        try:
            if random_state is not None:
                np.random.seed(random_state)
            w_hat = solver.fit_transform(w)
        except TypeError as err:
            if "force_all_finite" not in str(err):
                raise
            raise SoftImputeDependencyError(
                "fancyimpute 0.7.0 needs scikit-learn<1.8 (check_array lost 'force_all_finite'): "
                "pip install 'scikit-learn<1.8'"
            ) from None
        finally:
            np.random.set_state(state)
        seconds = time.perf_counter() - t0
    w_hat = np.asarray(w_hat, dtype=np.float64)
    info: dict[str, Any] = {
        "implementation": IMPLEMENTATION,
        "options": {k: v for k, v in softimpute_options.items() if _plain(v)},
        "random_state": random_state,
        "wall_seconds": seconds,
        "versions": {name: _version(name) for name in ("fancyimpute", "scikit-learn")},
        "warnings": sorted({f"{w.category.__name__}: {w.message}".splitlines()[0] for w in caught}),
    }
    stop = _STOP.findall(out.getvalue())
    if stop:
        info["iterations"] = int(stop[-1][0])
        info["shrinkage_value"] = float(stop[-1][1])
    max_iters = softimpute_options.get("max_iters", 100)
    info["hit_max_iters"] = info.get("iterations") == max_iters
    finite = bool(np.isfinite(w_hat).all())
    info["status"] = "ok" if finite else "failed"
    info["message"] = "" if finite else "non-finite entries in the completion"
    return w_hat, info


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
