"""Readings as planned experiment families (``readings:``) and every claim judged under each of them."""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcomp.labels import split_reading
from matcomp.plan.config import ConfigError, load, read_config
from matcomp.plan.jobs import training_jobs
from matcomp.report.check import check_claims
from matcomp.report.sensitivity import (
    NOT_PLANNED,
    changed_verdicts,
    defaults_only,
    sensitivity,
    to_markdown,
    under_reading,
)

ROOT = Path(__file__).resolve().parents[1]
BUDGET = {"run": {"t": {"budget": 1500, "unit": "iterations"}},
          "paper": {"t": {"budget": 500_000, "unit": "iterations"}, "u": {"budget": 500_000, "unit": "iterations"}}}  # fmt: skip


def _config(scale: str = "smoke", readings: dict | None = None) -> dict:
    """The config at ``scale``, its readings replaced by ``readings`` unless None."""
    raw = read_config(ROOT / "config.yaml")
    if readings is not None:
        raw["readings"] = readings
        for over in raw["scales"].values():
            over.pop("readings", None)
    return load({**raw, "scale": scale})


def test_a_reading_plans_its_experiments_with_its_setting() -> None:
    cfg = _config("quick")
    assert {"fig1@init_layer", "fig2@tol_data", "table3@gd_momentum0"} <= set(cfg["experiments"])
    exp = cfg["experiments"]["fig1@init_layer"]
    assert exp["train"]["init"] == "layer" and exp["depths"] == cfg["experiments"]["fig1"]["depths"]
    # a scale's override of the base experiment reaches its readings
    assert cfg["experiments"]["fig3@tol_data"]["train"] == {"max_iters": 20000, "tol_on": "data"}
    assert split_reading("fig3@tol_data") == ("fig3", "tol_data") and split_reading("fig3") == ("fig3", None)


@pytest.mark.parametrize(
    ("readings", "message"),
    [
        ({"r": {"description": "d", "train": {"init": "layer"}, "experiments": ["fig11"]}},
         "readings.r.experiments': unknown experiment 'fig11'; did you mean 'fig1'"),
        ({"r": {"description": "d", "train": {"init": "layer"}, "experiments": ["table2"]}},
         "table2 is a movielens experiment"),
        ({"r": {"description": "d", "train": {"init": "Layer"}, "experiments": ["fig1"]}}, "'Layer' is not one of"),
        ({"r": {"description": "d", "train": {"inti": "layer"}, "experiments": ["fig1"]}}, "inti"),
    ],
)  # fmt: skip
def test_a_bad_reading_is_named_before_any_work(readings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _config(readings=readings)


def test_an_experiment_name_with_the_reading_separator_is_refused() -> None:
    raw = read_config(ROOT / "config.yaml")
    raw["experiments"]["fig1@x"] = copy.deepcopy(raw["experiments"]["fig1"])
    with pytest.raises(ConfigError, match="'@' is reserved"):
        load({**raw, "scale": "smoke"})


def test_cells_a_reading_cannot_change_are_the_defaults_cells() -> None:
    """tol_on without a penalty and gd_momentum for other optimizers change no arithmetic: same job file,
    trained once; the cells they do change get new files."""
    base = training_jobs(_config(readings={}))
    same = training_jobs(
        _config(readings={"r": {"description": "d", "train": {"tol_on": "data"}, "experiments": ["fig1"]}})
    )
    assert set(same) == set(base)  # fig1 has no penalty
    mom = training_jobs(
        _config(
            readings={"m": {"description": "d", "train": {"gd_momentum": 0.0}, "experiments": ["table3"]}}
        )
    )
    new = {p: j for p, j in mom.items() if p not in base}
    assert new and {j.optimizer for j in new.values()} == {"gd_momentum"}
    assert all(j.experiments == ("table3@m",) for j in new.values())
    shared = [
        j for p, j in mom.items() if p in base and "table3" in j.experiments and j.optimizer != "gd_momentum"
    ]
    assert shared and all("table3@m" in j.experiments for j in shared)
    init = training_jobs(
        _config(readings={"i": {"description": "d", "train": {"init": "layer"}, "experiments": ["fig1"]}})
    )
    assert len(set(init) - set(base)) == len([p for p, j in base.items() if "fig1" in j.experiments])


# ---------------------------------------------------------------- judging under a reading


def _row(exp: str, err: float, decided: bool = True) -> dict:
    return {"experiment": exp, "optimizer": "gd", "penalty": "none", "depth": 3, "lam": 0.0,
            "test_error_mean": err, "effective_rank_mean": 5.0, "n_seeds": 2, "n_diverged": 0,
            "max_iters": 500_000 if decided else 1500, "stop_reasons": "max_iters", "plateaued": decided,
            "still_moving": "" if decided else "data term still at 100.0% of its start"}  # fmt: skip


CLAIM = {"id": "gd-recovers", "source": "s", "quote": "q", "paper": "p", "criterion": "c",
         "check": {"type": "threshold", "where": {"experiment": "t", "optimizer": "gd"},
                   "metric": "test_error_mean", "op": "<=", "value": 1e-3}}  # fmt: skip
OTHER = {
    **CLAIM,
    "id": "u-claim",
    "check": {**CLAIM["check"], "where": {"experiment": "u", "optimizer": "gd"}},
}
READINGS = {"layer": {"description": "literal init", "experiments": ["t"]},
            "short": {"description": "cut short", "experiments": ["t"]}}  # fmt: skip


def _cells() -> pd.DataFrame:
    return pd.DataFrame([_row("t", 1e-6), _row("t@layer", 1.0), _row("t@short", 1.0, decided=False),
                         _row("u", 1e-6), _row("u@other", 1.0)])  # fmt: skip


def test_under_a_reading_the_claims_see_only_its_cells_under_the_base_name() -> None:
    df = _cells()
    assert list(defaults_only(df)["experiment"]) == ["t", "u"]
    layer = under_reading(df, "layer")
    assert list(layer["experiment"]) == ["t"] and layer["test_error_mean"].tolist() == [1.0]


def test_each_claim_under_each_reading_with_what_changes() -> None:
    sens = sensitivity([CLAIM, OTHER], _cells(), BUDGET, READINGS).set_index("id")
    assert sens.loc["gd-recovers", "defaults"] == "held"
    assert sens.loc["gd-recovers", "layer"] == "not held"  # decided under the literal init
    assert sens.loc["gd-recovers", "short"].startswith("not reached")  # undecided stays open, with a leaning
    assert sens.loc["gd-recovers", "changes"] == "layer; short"
    assert "t gd/none/3" in sens.loc["gd-recovers", "ours_layer"]
    # u was not rerun by these readings: not planned, never judged on the defaults' cells
    assert sens.loc["u-claim", "layer"] == NOT_PLANNED and sens.loc["u-claim", "changes"] == ""
    words = changed_verdicts(sens.reset_index())
    assert words == {"gd-recovers": "held under the defaults, not held under layer, "
                     "not reached at this budget (leaning not held) under short"}  # fmt: skip
    md = to_markdown(sens.reset_index(), READINGS, "quick")
    assert "between decided verdicts (held / not held): gd-recovers" in md
    assert "| gd-recovers | held | not held |" in md


def test_check_claims_writes_the_readings_report_and_marks_changed_claims(tmp_path) -> None:
    import yaml

    claims_file = tmp_path / "claims.yaml"
    claims_file.write_text(yaml.safe_dump({"claims": [CLAIM, OTHER]}))
    table = tmp_path / "t.csv"
    _cells().to_csv(table, index=False)
    out = {k: str(tmp_path / f"{k}") for k in ("md", "csv", "rmd", "rcsv")}
    res = check_claims(claims_file, [table], out["md"], out["csv"], "quick", BUDGET,
                       readings=READINGS, readings_md=out["rmd"], readings_csv=out["rcsv"])  # fmt: skip
    # the defaults' verdicts read the default experiments only
    assert res.set_index("id").loc["gd-recovers", "verdict"] == "held"
    assert (
        "changes with the reading: held under the defaults, not held under layer"
        in Path(out["md"]).read_text()
    )
    rcsv = pd.read_csv(out["rcsv"])
    assert list(rcsv["id"]) == ["gd-recovers", "u-claim"] and not math.isnan(len(rcsv))


def test_rows_without_an_experiment_are_not_a_reading() -> None:
    df = pd.concat([_cells(), pd.DataFrame([{"method": "CP", "n_obs": 2000, "test_error_mean": 0.5}])])
    assert len(defaults_only(df)) == 3 and list(under_reading(df, "layer")["experiment"]) == ["t"]


def test_the_scoreboard_names_the_conflicting_claims_of_each_reading() -> None:
    """Issue 36.3: F2's claim needs the mean, T1's the sum: no single reading holds both."""
    from matcomp.report.sensitivity import scoreboard

    sens = pd.DataFrame(
        [
            {"id": "F2-adam-ratio-depth-invariant", "defaults": "not held", "mean": "held", "code7": "held"},
            {"id": "T1-adam-ratio-d1", "defaults": "held", "mean": "not held", "code7": "–"},
            {"id": "F1-adam-faster", "defaults": "not held", "mean": "not reached at this budget (leaning held)",
             "code7": "not held"},
        ]
    )  # fmt: skip
    text = "\n".join(scoreboard(sens, {"mean": {}, "code7": {}}))
    assert "| defaults | 1 | 2 | 0 | 0 |" in text and "| code7 | 1 | 1 | 0 | 1 |" in text
    assert "under **defaults**, not held: F2-adam-ratio-depth-invariant (held under mean, code7)" in text
    assert "under **mean**, not held: T1-adam-ratio-d1 (held under defaults)" in text
    assert "Readings that fail no claim another reading holds: **code7**" in text
    assert "Claims not held under any reading that decides them: F1-adam-faster." in text
    # the pair, by claim: code7 holds F2 and has not run T1's experiment, so it may still hold both
    assert (
        "- T1-adam-ratio-d1 (held under defaults) · F2-adam-ratio-depth-invariant (held under mean, code7): "
        "open under code7" in text
    )


def test_claims_held_apart_are_named_and_settled_only_where_every_reading_fails_one() -> None:
    from matcomp.report.sensitivity import scoreboard

    sens = pd.DataFrame(
        [
            {"id": "A", "defaults": "held", "mean": "not held", "code7": "held"},
            {"id": "B", "defaults": "not held", "mean": "held", "code7": "not held"},
            {"id": "C", "defaults": "held", "mean": "held", "code7": "held"},
            {"id": "D", "defaults": "held", "mean": "not held", "code7": "held"},
        ]
    )
    text = "\n".join(scoreboard(sens, {"mean": {}, "code7": {}}))
    assert (
        "**Held apart** (every reading fails a claim of each pair):\n"
        "- A, D (held under defaults, code7) · B (held under mean)\n" in text
    )
    assert "C (" not in text  # held with everything: apart from nothing
    together = sens.assign(code7=["held", "held", "held", "held"])
    assert "Every two claims held somewhere are held together by some reading." in "\n".join(
        scoreboard(together, {"mean": {}, "code7": {}})
    )


VERDICTS = ["held", "not held", "not reached at this budget", "–"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(VERDICTS), min_size=3, max_size=3), min_size=1, max_size=7))
def test_held_apart_lists_exactly_the_pairs_no_reading_holds_together(table: list[list[str]]) -> None:
    """Property: a pair of claims is listed as held apart exactly when each is held somewhere and no
    reading holds both; it is called settled exactly when every reading fails one of the two."""
    from matcomp.report.sensitivity import scoreboard

    names = ["defaults", "mean", "code7"]
    ids = [f"C{i}" for i in range(len(table))]
    sens = pd.DataFrame(
        [{"id": c, **dict(zip(names, row, strict=True))} for c, row in zip(ids, table, strict=True)]
    )
    text = "\n".join(scoreboard(sens, {"mean": {}, "code7": {}}))
    v = {c: dict(zip(names, row, strict=True)) for c, row in zip(ids, table, strict=True)}

    def settled(a: str, b: str) -> bool:
        return all("not held" in (v[a][n], v[b][n]) for n in names)

    listed = set()
    for line in text.splitlines():
        m = re.fullmatch(r"- (.+?) \(held under [^)]*\) · (.+?) \(held under [^)]*\)(: open under .+)?", line)
        if m:
            pairs = {frozenset((a, b)) for a in m.group(1).split(", ") for b in m.group(2).split(", ")}
            assert (m.group(3) is None) == all(settled(*sorted(p)) for p in pairs), line
            listed |= pairs
    expected = set()
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            held_a = {n for n in names if v[a][n] == "held"}
            held_b = {n for n in names if v[b][n] == "held"}
            if held_a and held_b and not held_a & held_b:
                expected.add(frozenset((a, b)))
    assert listed == expected


def test_the_papers_printed_numbers_are_shown_beside_every_reading_that_reran_a_table(tmp_path: Path) -> None:
    """Issue 36: is there one reading whose numbers agree with the printed ones?  Table 1's Adam + ratio at
    depth 1 (printed 4e-7 / 5) agrees under the defaults here and differs under code7; a reading that reran
    no table adds no rows; the one-page answer tallies each reading apart."""
    from matcomp.report.paper import write_paper_vs_ours
    from matcomp.report.summary import _paper_lines

    def cell(err: float) -> dict:
        return {"experiment": "table1", "optimizer": "adam", "depth": 1, "penalty": "ratio", "test_error_mean": err,
                "effective_rank_mean": 5.0, "n_seeds": 1, "_decided": True, "_how": "stopped by the tolerance"}  # fmt: skip

    frames = {
        "defaults": pd.DataFrame([cell(5e-7)]),
        "code7": pd.DataFrame([cell(3e-3)]),
        "mean": pd.DataFrame(),
    }
    out = write_paper_vs_ours(frames, str(tmp_path / "p.md"), str(tmp_path / "p.csv"))
    mine = out[(out["table"] == "table1") & (out["optimizer"] == "adam") & (out["depth"] == 1)
               & (out["penalty"] == "ratio")].set_index("reading")["mark"]  # fmt: skip
    assert mine.to_dict() == {"defaults": "agrees", "code7": "differs (Err)"}
    assert set(out.loc[out["reading"] == "code7", "mark"]) == {"differs (Err)"}  # only the cells it ran
    assert (out["reading"] == "defaults").sum() > 100  # every printed cell, most not run
    md = (tmp_path / "p.md").read_text()
    assert "| code7 | table1 | adam | 1 | ratio | 4e-7 / 5 | 3e-3 / 5 | differs (Err) |" in md
    lines = "\n".join(_paper_lines(out))
    assert "| defaults | table1 | 1 | 0 |" in lines and "| code7 | table1 | 0 | 1 | 0 | 0 |" in lines
    assert "table1 (under code7) adam, depth 1, ratio" in lines
