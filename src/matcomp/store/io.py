"""Atomic result files: a killed job never leaves a file that looks finished."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .paths import NOT_WRITTEN, OUTPUT_ROOTS


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class OutputFolderError(PermissionError):
    """An output folder that cannot be written (the message names it and the fix)."""


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = ""):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The file gets the permissions the umask gives a new file (``mkstemp`` alone would leave it 0600, which a
    shared project directory on a cluster cannot read); a folder that cannot be written is one clear error.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".tmp{suffix}")
    except PermissionError as err:
        raise OutputFolderError(
            f"cannot write {path}: the folder {path.parent} is not writable ({err.strerror}); make it writable "
            f"(chmod u+w {path.parent}, or chattr -i {path.parent} if it was made immutable) and rerun"
        ) from None
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        json.dump(_clean(obj), fh, indent=1)
        fh.write("\n")


def write_with(path: str | os.PathLike[str], writer: Callable[[str], None], suffix: str = "") -> None:
    """Call ``writer(tmp)`` and move the result onto ``path`` atomically."""
    with atomic_path(path, suffix) as tmp:
        writer(tmp)


def unwritable_folder(root: str | os.PathLike[str] = ".") -> tuple[str, str] | None:
    """(folder, why) of the first existing output folder under ``root`` where no file can be created (a
    read-only or immutable folder, at any depth: ``logs/tables`` as much as ``results``), else None."""
    root = Path(root)
    for top in OUTPUT_ROOTS:
        for folder, subdirs, _ in os.walk(root / top):
            rel = Path(folder).relative_to(root).as_posix()
            if any(rel == s or rel.startswith(f"{s}/") for s in NOT_WRITTEN):
                subdirs.clear()
                continue
            try:
                tempfile.TemporaryFile(dir=folder).close()
            except OSError as err:
                return rel, str(err.strerror)
    return None


LOCKS = Path(tempfile.gettempdir()) / "matcomp-locks"
"""Where :func:`sole_maker` keeps its lock files (one per output, named by a hash of its absolute path):
outside the project, so no cached folder holds them."""


@contextmanager
def sole_maker(outs: Sequence[str | os.PathLike[str]]):
    """Hold an exclusive lock on each of ``outs`` while the block makes them: a second process asked for the
    same output (a rerun beside a job orphaned by a killed Snakemake) stops at once, naming the holder's
    pid, instead of training the same job beside it and writing the same files.  The kernel releases the
    lock when its holder dies, however it dies."""
    import fcntl
    import hashlib

    LOCKS.mkdir(parents=True, exist_ok=True)
    held = []
    try:
        for out in outs:
            name = hashlib.sha256(str(Path(out).resolve()).encode()).hexdigest()[:24]
            fh = open(LOCKS / f"{name}.lock", "a+")  # noqa: SIM115 - held until the block ends
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "unknown"
                fh.close()
                raise RuntimeError(
                    f"another process (pid {holder}) is already making {out}: a job orphaned by a killed "
                    f"Snakemake? Wait for it to finish (its result is kept) or stop it (kill {holder}), then "
                    "rerun the same command"
                ) from None
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
            held.append(fh)
        yield
    finally:
        for fh in held:
            fh.close()


def read_json(path: str | os.PathLike[str]) -> Any:
    with open(path) as fh:
        return json.load(fh)
