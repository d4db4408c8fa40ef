"""The typed hand-off from the table steps to the claims (matcomp.report.cells)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from matcomp.report.cells import join_stops, read_tables, stop_set
from matcomp.report.claims import decision

BUDGET = {"paper": {"t": {"budget": 1000, "unit": "iterations"}}, "run": {}}


def _write(tmp_path: Path) -> list[Path]:
    """A training table (depth, a plateau flag, the penalty label "None", stop reasons) and a baselines
    summary without those columns, as the table and comparison steps write them."""
    train = pd.DataFrame(
        [{"experiment": "t", "optimizer": "gd", "depth": 3, "penalty": "none", "penalty_label": "None",
          "n_obs": 2000, "max_iters": 100, "plateaued": True, "stop_reasons": join_stops(["plateau", "max_iters"]),
          "still_moving": "", "test_error_mean": 0.5},
         {"experiment": "t", "optimizer": "adam", "depth": 1, "penalty": "ratio", "penalty_label": "Ratio",
          "n_obs": 2000, "max_iters": 100, "plateaued": False, "stop_reasons": "max_iters",
          "still_moving": "test error fell 3% over the last quarter", "test_error_mean": 0.1}]
    )  # fmt: skip
    base = pd.DataFrame([{"experiment": "b", "method": "CP", "n_obs": 2000, "test_error_mean": 0.01}])
    paths = [tmp_path / "t.csv", tmp_path / "b.csv"]
    train.to_csv(paths[0], index=False)
    base.to_csv(paths[1], index=False)
    return paths


def test_tables_read_back_with_their_types(tmp_path: Path) -> None:
    """Concatenated with a table that lacks them, depth stays an integer (not 3.0), the plateau flag a
    boolean (not the string "True"), and the label "None" a label (pandas reads it as missing by default)."""
    df = read_tables([*_write(tmp_path), tmp_path / "absent.csv"])
    assert (
        str(df["depth"].dtype) == "Int64" and df["depth"].tolist()[:2] == [3, 1] and pd.isna(df["depth"][2])
    )
    assert str(df["plateaued"].dtype) == "boolean" and df["plateaued"].tolist()[:2] == [True, False]
    assert df["penalty_label"].tolist()[:2] == ["None", "Ratio"]
    assert df["method"][2] == "CP" and pd.isna(df["method"][0])
    assert pd.isna(pd.read_csv(tmp_path / "t.csv")["penalty_label"][0])  # what an untyped read gives


def test_stop_reasons_round_trip() -> None:
    assert join_stops(["max_iters", "converged", "max_iters"]) == "converged;max_iters"
    assert stop_set("converged;max_iters") == {"converged", "max_iters"}
    assert (
        stop_set(float("nan")) == frozenset()
        and stop_set(pd.NA) == frozenset()
        and stop_set("") == frozenset()
    )


def test_a_read_back_cell_is_decided_by_its_flag(tmp_path: Path) -> None:
    """The claims decide the plateaued cell read back from csv and not the one still moving: the flag is
    read as a boolean, the stop reasons as a set."""
    df = read_tables(_write(tmp_path))
    plateaued, moving = (decision(df.iloc[i], BUDGET) for i in (0, 1))
    assert plateaued[0] and "plateaued" in plateaued[1] and "plateau stop" in plateaued[1], plateaued
    assert not moving[0] and "still moving (test error fell 3%" in moving[1], moving
