"""What every result file records about how it was made."""

from __future__ import annotations

import platform
import socket
import sys
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

_PACKAGES = ("matcomp", "torch", "numpy", "scipy", "cvxpy", "scs", "fancyimpute", "scikit-learn", "rpy2")


def package_versions(names: tuple[str, ...] = _PACKAGES) -> dict[str, str | None]:
    """Installed versions of the packages a result may depend on (None when absent)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(**extra: Any) -> dict[str, Any]:
    """Versions, interpreter, host and time; ``extra`` (device, dtype, seconds, …) is merged in."""
    return {
        "versions": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
