"""What on disk would stop a run midway, found while planning: files dated in the future, and files standing
where the workflow keeps a folder.

Snakemake compares modification times: a ground-truth file dated next year (a wrong clock, ``touch -d``, an
archive from a machine ahead of this one) makes every result made from it look older than its input, so a
dry run can say "Nothing to be done" while a real run trains a job and then deletes its output for clock
skew.  :func:`future_files` finds them, and :func:`back_dates` says to which time each can be set without
making anything that was made from it look out of date.  A file where a folder of results must be makes
Snakemake stop with a NotADirectoryError traceback while building its DAG: :func:`blocked_folder`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path

SLACK = 120.0
"""Seconds of clock difference tolerated (file systems and machines that disagree a little)."""


def mtime(path: str | Path) -> float | None:
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return None


def future_files(paths: Iterable[str | Path], now: float | None = None, slack: float = SLACK) -> list[str]:
    """The existing files of ``paths`` dated more than ``slack`` seconds after ``now``."""
    now = time.time() if now is None else now
    return sorted({str(p) for p in paths if (t := mtime(p)) is not None and t > now + slack})


def back_dates(
    found: Iterable[str], made_from: Mapping[str, Iterable[str]], now: float | None = None
) -> dict[str, float]:
    """For each file of ``found``, a time to set it to: a second before the oldest existing file made from it
    (``made_from``: file → what is made from it), so that nothing made from it looks out of date; now where
    nothing made from it exists (or it is a result itself: what is made from it is then remade, cheaply)."""
    now = time.time() if now is None else now
    out = {}
    for path in found:
        times = [t for p in made_from.get(path, ()) if (t := mtime(p)) is not None and t <= now]
        out[path] = min(times) - 1 if times else now
    return out


def blocked_folder(outputs: Iterable[str | Path]) -> tuple[str, str] | None:
    """(a path that is a file where a folder of ``outputs`` must be, an output it would hold), else None."""
    seen: set[Path] = set()
    for out in outputs:
        for folder in reversed(Path(out).parents[:-1]):  # results, results/cells, ... (not ".")
            if folder not in seen:
                seen.add(folder)
                if folder.exists() and not folder.is_dir():
                    return folder.as_posix(), Path(out).as_posix()
    return None


def touch_command(dates: Mapping[str, float]) -> str:
    """``touch -d @T file …`` for each group of files with the same time T."""
    groups: dict[int, list[str]] = {}
    for path, when in dates.items():
        groups.setdefault(int(when), []).append(path)
    return "; ".join(f"touch -d @{when} {' '.join(sorted(files))}" for when, files in sorted(groups.items()))
