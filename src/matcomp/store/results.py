"""The result-file format, written and read in one place.

A training result is a pair: ``x.json`` (settings, per-seed results, provenance) and ``x.trajectory.npz``
beside it (the logged trajectories).  The pair names each other: the JSON records the trajectory file's
name, size and SHA-256 (``"trajectory": {"file", "bytes", "sha256"}``), and the npz records which result it
belongs to (``result``: the path the job was planned under, ``job.path``, or the JSON's file name for a
result without a job; file names alone repeat across optimizers).
Writers put the npz first and the JSON last, each atomically, so a finished JSON implies a finished
npz; readers check every link and stop with :class:`ResultFileError`, which names the file, what is wrong
and how to regenerate it.  Baseline and MovieLens results are a JSON alone (no trajectory).

:func:`check` is the cheap test the workflow runs on every existing result when it plans (the JSON parses,
names its own path, and its npz is there, of the recorded size, and names the JSON): a damaged, truncated
or swapped file stops the run there, before any output is deleted, with the command that removes it.
:func:`read_result` (and :func:`read`, :func:`load_trajectory` on it) also verifies the checksum and the final
rows, reading each file in full once.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .io import write_json, write_with
from .paths import trajectory_of

META = "result"
"""The npz entry naming the JSON it belongs to."""


class ResultFileError(RuntimeError):
    """A result file that cannot be trusted: the message names it, what is wrong, and the fix."""

    def __init__(self, path: str | os.PathLike[str], why: str, files: tuple[str, ...] = ()):
        self.path, self.why = str(path), why
        self.files = files or tuple(str(p) for p in _pair(path) if Path(p).exists())
        super().__init__(
            f"{self.path}: {why}. It cannot be used; remove it and rerun the same command, which makes it "
            f"again: rm {' '.join(self.files) or self.path}"
        )


def trajectory_path(out: str | os.PathLike[str]) -> Path:
    """Where the trajectories of a result file ``x.json`` go: ``x.trajectory.npz`` beside it."""
    return Path(trajectory_of(os.fspath(out)))


def check_result_name(out: str | os.PathLike[str]) -> None:
    """A result is ``x.json``: its trajectories go to ``x.trajectory.npz``, so any other name (``x.txt``)
    would write over the trajectory of an ``x.json`` beside it."""
    if Path(out).suffix != ".json":
        raise ValueError(
            f"a result file is named x.json (its trajectories go beside it as x.trajectory.npz), got {out}: "
            f"any other suffix would overwrite the trajectories of {Path(out).with_suffix('.json').name}"
        )


def _pair(path: str | os.PathLike[str]) -> tuple[Path, ...]:
    path = Path(path)
    if path.name.endswith(".trajectory.npz"):
        return (path.with_name(path.name[: -len(".trajectory.npz")] + ".json"), path)
    return (path, trajectory_path(path))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_arrays(path: Path, record: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every array of ``path``'s trajectory file, read from disk once: its bytes are checked against the
    recorded checksum, then unpacked from memory."""
    traj = trajectory_path(path)
    data = traj.read_bytes()
    if hashlib.sha256(data).hexdigest() != record.get("sha256"):
        raise ResultFileError(traj, f"its checksum differs from the one {path.name} recorded")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {k: z[k] for k in z.files if k != META}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise ResultFileError(traj, f"damaged trajectory file ({type(err).__name__}: {err})") from None


def write(
    out: str | os.PathLike[str], doc: dict[str, Any], arrays: dict[str, np.ndarray] | None = None
) -> None:
    """Write a result: its trajectory npz (when ``arrays``), then the JSON naming it, each atomically."""
    out = Path(out)
    if arrays is not None:
        check_result_name(out)
        traj = trajectory_path(out)
        meta = np.array(json.dumps({"file": _owner(out, doc)}))
        write_with(traj, lambda tmp: np.savez_compressed(tmp, **{META: meta}, **arrays), ".npz")
        doc = {
            **doc,
            "trajectory": {"file": traj.name, "bytes": traj.stat().st_size, "sha256": _sha256(traj)},
        }
    write_json(out, doc)


def copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Copy a result (and its npz) to ``dst`` with the same base name, npz first, each atomically."""
    import shutil

    if Path(src).name != Path(dst).name:
        raise ValueError(f"a result copied from {src} must keep its name, not become {dst}")
    doc = read(src)
    if "trajectory" in doc:
        write_with(trajectory_path(dst), lambda tmp: shutil.copyfile(trajectory_path(src), tmp), ".npz")
    write_with(dst, lambda tmp: shutil.copyfile(src, tmp), ".json")


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ResultFileError(path, "missing")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ResultFileError(path, f"damaged JSON ({type(err).__name__}: {err})") from None
    if not isinstance(doc, dict):
        raise ResultFileError(path, "not a result document (a JSON object was expected)")
    return doc


def _check_own_path(path: Path, doc: dict[str, Any]) -> None:
    planned = (doc.get("job") or {}).get("path")
    if planned is not None and not str(path).endswith(planned):
        raise ResultFileError(path, f"holds the result planned as {planned}, not this one (a copied file?)")


def _owner(path: Path, doc: dict[str, Any]) -> str:
    """What a result's trajectory file names as its owner: the job's planned path, else the file name."""
    return (doc.get("job") or {}).get("path") or path.name


def _npz_meta(path: Path, traj: Path, record: dict[str, Any], owner_wanted: str) -> None:
    """The cheap checks of a trajectory file: present, of the recorded size, and naming ``path``."""
    if not traj.is_file():
        raise ResultFileError(path, f"its trajectory file {traj.name} is missing")
    if traj.stat().st_size != record.get("bytes"):
        raise ResultFileError(
            traj, f"size {traj.stat().st_size} bytes, but {path.name} recorded {record.get('bytes')}"
        )
    try:
        with np.load(traj, allow_pickle=False) as z:
            owner = json.loads(str(z[META]))["file"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise ResultFileError(traj, f"damaged trajectory file ({type(err).__name__}: {err})") from None
    if owner != owner_wanted:
        raise ResultFileError(traj, f"belongs to {owner}, not to {owner_wanted} (a copied file?)")


def check(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The cheap check of an existing result (module docstring); raises :class:`ResultFileError`.  Returns
    the document it read."""
    path = Path(path)
    doc = _load_json(path)
    _check_own_path(path, doc)
    record = doc.get("trajectory")
    if isinstance(record, dict):
        _npz_meta(path, trajectory_path(path), record, _owner(path, doc))
    return doc


def _touched(path: str) -> bool:
    """A result that is an empty file (``snakemake --touch`` marks jobs done that way), npz empty or absent."""
    files = [Path(path), trajectory_path(path)]
    return all(not f.exists() or f.stat().st_size == 0 for f in files)


def damaged(paths: list[str]) -> list[ResultFileError]:
    """The problems of those ``paths`` that exist (each checked by :func:`check`), except results left empty
    by ``snakemake --touch`` (a job that reads one still stops with :class:`ResultFileError`)."""
    found = []
    for path in paths:
        if (Path(path).exists() or trajectory_path(path).exists()) and not _touched(path):
            try:
                check(path)
            except ResultFileError as err:
                found.append(err)
    return found


FINAL = ("test_error", "test_error_unobserved", "effective_rank")
"""The per-seed results that the last logged point of the trajectory repeats (every run's final state)."""
FINAL_RTOL = 1e-3
"""How far a result and its trajectory's last point may differ: the two are computed by different SVD calls
in float32 (measured: ≤ 5e-6 relative in the effective rank); an edited number differs by far more."""


def _agrees(recorded: Any, logged: float) -> bool:
    value = float("nan") if recorded is None else float(recorded)
    if not (np.isfinite(value) and np.isfinite(logged)):
        return not np.isfinite(value) and not np.isfinite(logged)
    return bool(np.isclose(value, logged, rtol=FINAL_RTOL, atol=1e-12))


def _check_final_rows(path: Path, doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Each seed's final test errors and effective rank against its trajectory's last point (``arrays``: the
    trajectory file's): a number edited in the JSON (whose checksum covers only the npz) is refused like a
    damaged file."""
    cells = doc.get("cells") or [
        {"runs": doc.get("runs", [])}
    ]  # a job's depths, or one `matcomp train` batch
    for cell in cells:
        prefix = f"d{cell['depth']}/" if "depth" in cell else ""
        for key in FINAL:
            if prefix + key not in arrays:
                continue
            last = arrays[prefix + key][:, -1]
            for i, run in enumerate(cell.get("runs", [])):
                if run.get("stop_reason") == "diverged":  # its log shows the zero matrix it stands in for
                    continue
                if i < len(last) and key in run and not _agrees(run[key], float(last[i])):
                    where = f" at depth {cell['depth']}" if "depth" in cell else ""
                    raise ResultFileError(
                        path, f"seed {run.get('seed', i)}{where} records {key} {run[key]}, but its "
                        f"trajectory ends at {float(last[i]):.6g} (an edited result?)"
                    )  # fmt: skip


@dataclass(frozen=True)
class Result:
    """A result read once and checked (:func:`read_result`): its document and its trajectory's arrays
    (empty for a result without one)."""

    path: Path
    doc: dict[str, Any]
    arrays: dict[str, np.ndarray]

    def trajectory(self, depth: int | None = None) -> dict[str, np.ndarray]:
        """The arrays of one depth of a job file (its ``d{depth}/…`` keys, without the prefix), or all."""
        if depth is None:
            return self.arrays
        prefix = f"d{depth}/"
        arrays = {k[len(prefix) :]: v for k, v in self.arrays.items() if k.startswith(prefix)}
        if not arrays:
            raise ResultFileError(trajectory_path(self.path), f"has no trajectories of depth {depth}")
        return arrays


def read_result(path: str | os.PathLike[str]) -> Result:
    """A result with its trajectory, each file read in full once (the cheap checks of :func:`check` open the
    npz's directory and its owner entry before) and every link checked: the trajectory's checksum over the
    bytes read, and each seed's final numbers against the trajectory's last point
    (:func:`_check_final_rows`)."""
    path = Path(path)
    doc = check(path)
    record = doc.get("trajectory")
    arrays: dict[str, np.ndarray] = {}
    if isinstance(record, dict):
        arrays = _read_arrays(path, record)
        _check_final_rows(path, doc, arrays)
    return Result(path, doc, arrays)


def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A result document, every link checked (:func:`read_result`)."""
    return read_result(path).doc


def load_trajectory(path: str | os.PathLike[str], depth: int | None = None) -> dict[str, np.ndarray]:
    """The trajectory arrays of a result (of one depth of a job file: ``d{depth}/…`` keys), checked as by
    :func:`read`; a reader that wants the document too calls :func:`read_result` once."""
    return read_result(path).trajectory(depth)


def read_all(paths: list[str], reader: Callable[[str], Any] = read) -> list[Any]:
    """``reader`` of every path; every damaged file is named in one error (not just the first)."""
    out, errors = [], []
    for path in paths:
        try:
            out.append(reader(path))
        except ResultFileError as err:
            errors.append(err)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        why = "; ".join(f"{e.path}: {e.why}" for e in errors)
        raise ResultFileError(f"{len(errors)} result files", why, sum((e.files for e in errors), ()))
    return out
