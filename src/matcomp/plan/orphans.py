"""Products (tables, figures) made from cached results that are gone.

Snakemake does not remake a missing intermediate file while the products made from it are newer than
their other inputs: delete a cell's result (as the damaged-result advice says, or by hand) and the next run
says "Nothing to be done" while ``results/tables/fig3.csv`` still names the deleted file.  An experiment's
table records each result it was made from (its ``file`` column); where one of those is gone, every product
of the experiment is *orphaned*, and the workflow stops before any job and names them with the command
that removes them (the rerun then remakes the results and the products).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..store import paths
from .products import products

SOURCE_COLUMN = "file"
"""The column of a table that names the result file each row was read from."""


def sources(table: Path) -> set[str]:
    """The result files a table csv says it was made from (none if it has no such column or is unreadable:
    the table's own rule checks it)."""
    try:
        with table.open(newline="") as fh:
            return {row[SOURCE_COLUMN] for row in csv.DictReader(fh) if row.get(SOURCE_COLUMN)}
    except (OSError, UnicodeDecodeError, csv.Error):
        return set()


def orphaned(root: Path, planned: Mapping[str, Iterable[str]]) -> dict[str, tuple[list[str], list[str]]]:
    """For each experiment of ``planned`` (name -> the results it reads now) whose table names one of them
    that is missing under ``root``: (the missing results, its products that exist).  A result the table
    names that the plan no longer reads (older code or settings, removed by ``matcomp clean``) is not an
    orphan: the table's inputs changed, so Snakemake remakes it."""
    out = {}
    for name, wanted in planned.items():
        wanted = set(wanted)
        named = sources(root / paths.table(name)) & wanted
        missing = sorted(f for f in named if not (root / f).is_file())
        if missing:
            out[name] = (missing, [p for p in products(name) if (root / p).exists()])
    return out


def made_from(root: Path, names: Iterable[str], files: Iterable[str]) -> list[str]:
    """The existing products of the experiments of ``names`` whose table was made from any of ``files``."""
    files = set(files)
    return [
        p
        for name in names
        if sources(root / paths.table(name)) & files
        for p in products(name)
        if (root / p).exists()
    ]
