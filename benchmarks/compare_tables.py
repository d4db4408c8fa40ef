"""Compare the tables of two workflow folders (a refactor must leave every number unchanged).

    python benchmarks/compare_tables.py OLD_DIR NEW_DIR

Reads every ``results/tables/*.csv`` of both, matches rows by their naming columns and compares every other
column: numbers exactly (NaN equal to NaN), text as text.  Columns that say how a run went rather than what
it found (seconds, file names: a changed code hash renames a result) are left out.  Prints each difference
and exits 1 if there is one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

VOLATILE = ("file", "device")
"""Columns that differ between two runs of the same code (a result's hash-named path; and every column whose
name starts with ``seconds``: wall time)."""


def differences(old: Path, new: Path) -> list[str]:
    out = []
    names = sorted(
        {p.name for p in (old / "results/tables").glob("*.csv")}
        | {p.name for p in (new / "results/tables").glob("*.csv")}
    )
    for name in names:
        a, b = old / "results/tables" / name, new / "results/tables" / name
        if not (a.is_file() and b.is_file()):
            out.append(f"{name}: only in {'new' if b.is_file() else 'old'}")
            continue
        da, db = pd.read_csv(a), pd.read_csv(b)
        cols = [c for c in da.columns if c not in VOLATILE and not c.startswith("seconds")]
        if list(da.columns) != list(db.columns):
            out.append(f"{name}: columns differ: {sorted(set(da.columns) ^ set(db.columns))}")
            cols = [c for c in cols if c in db.columns]
        if len(da) != len(db):
            out.append(f"{name}: {len(da)} rows, now {len(db)}")
            continue
        for col in cols:
            x, y = da[col], db[col]
            if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
                same = np.isclose(x.to_numpy(float), y.to_numpy(float), rtol=0, atol=0, equal_nan=True)
            else:
                same = ((x.astype(str) == y.astype(str)) | (x.isna() & y.isna())).to_numpy()
            for i in np.flatnonzero(~same)[:3]:
                out.append(f"{name} row {i} {col}: {x.iloc[i]!r} -> {y.iloc[i]!r}")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    a = p.parse_args()
    found = differences(a.old, a.new)
    print("\n".join(found) or f"every table of {a.new} equals {a.old}'s (less {', '.join(VOLATILE)})")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
