"""Verdicts that cannot be fooled (issue 34): every claim against its untrained twin, seed by seed, on settled
times, with divergence counted as failing; the issue's examples as regular tests and the rule's properties
over generated tables (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_claims_catalogue import CLAIMS, _budget, cells_for

from matcomp.report.claims import NOT_REACHED, UNINFORMATIVE, evaluate
from matcomp.report.tables import _settled_counts, join_seeds, settled_hit
from matcomp.report.twin import UNTRAINED_RANK, alike_twin, networks, untrained_twin

PAPER = 500_000
BUDGET = {
    "run": {},
    "paper": {e: {"budget": PAPER, "unit": "iterations"} for e in ("table1", "fig1", "fig3")},
}
BY_ID = {c["id"]: c for c in CLAIMS}


def _reads_training_cells(df: pd.DataFrame) -> bool:
    return bool(networks(df).any())


@pytest.mark.parametrize("claim", CLAIMS, ids=[c["id"] for c in CLAIMS])
def test_no_claim_is_held_by_its_untrained_twin(claim: dict) -> None:
    """The cells on which the claim holds, read at iteration 0: an untrained network meets none of them (a
    claim about networks; those about the baselines or Table 2 alone have no twin)."""
    df = cells_for(claim, holds=True)
    if not _reads_training_cells(df):
        pytest.skip("reads no training cell (baselines or Table 2 only)")
    res = evaluate([claim], untrained_twin(df), _budget()).iloc[0]
    assert res["verdict"] != "held", f"{claim['id']}: {res['ours']}"


def test_only_claims_about_baselines_or_table2_lack_a_twin() -> None:
    without = {c["id"] for c in CLAIMS if not _reads_training_cells(cells_for(c, holds=True))}
    assert all(i.startswith("T2-") for i in without), sorted(without)


def _fig1(ranks: dict[tuple[str, int], float], trained: bool = True, **kw: object) -> pd.DataFrame:
    return pd.DataFrame([
        {"experiment": "fig1", "optimizer": o, "penalty": "none", "depth": d, "lam": 0.0, "n_obs": 2000,
         "test_error_mean": 1e-5, "effective_rank_mean": r, "n_seeds": 2, "n_diverged": 0, "max_iters": PAPER,
         "stop_reasons": "max_iters", "plateaued": True, "still_moving": "", "trained": trained, **kw}
        for (o, d), r in ranks.items()
    ])  # fmt: skip


def test_deeper_is_lower_rank_needs_trained_cells_and_a_fall_for_each_optimizer() -> None:
    """Issue 34.1 and its first wrong verdict: an untrained network's rank already falls with depth, and
    Adam's 24.2, 5.89, 15.0, 16.2 at depths 2-5 rises from depth 3."""
    claim = BY_ID["F1-depth-lowers-rank"]
    untrained = {(o, d): UNTRAINED_RANK[d] for o in ("adam", "gd") for d in (2, 3, 4, 5)}
    assert evaluate([claim], _fig1(untrained, trained=False), BUDGET).loc[0, "verdict"] == UNINFORMATIVE
    decided = {**{("gd", d): r for d, r in zip((2, 3, 4, 5), (8.9, 4.95, 4.95, 4.96))},
               **{("adam", d): r for d, r in zip((2, 3, 4, 5), (24.2, 5.89, 15.0, 16.2))}}  # fmt: skip
    res = evaluate([claim], _fig1(decided), BUDGET).iloc[0]
    assert res["verdict"] == "not held", res["ours"]
    decided.update({("adam", 4): 5.1, ("adam", 5): 5.0})
    assert evaluate([claim], _fig1(decided), BUDGET).loc[0, "verdict"] == "held"
    same = {(o, d): 20.0 for o in ("adam", "gd") for d in (2, 3, 4, 5)}  # every depth ends alike
    assert evaluate([claim], _fig1(same), BUDGET).loc[0, "verdict"] == "not held"


def _t1(opt: str, depth: int, errs: list[float], ranks: list[float], **kw: object) -> dict:
    return {"experiment": "table1", "optimizer": opt, "penalty": kw.pop("penalty", "ratio"), "depth": depth,
            "lam": 0.05, "n_obs": 2000, "test_error_mean": float(np.mean(errs)),
            "effective_rank_mean": float(np.mean(ranks)), "n_seeds": len(errs), "n_diverged": 0,
            "test_error_seeds": join_seeds(errs), "effective_rank_seeds": join_seeds(ranks),
            "seeds": ";".join(str(i) for i in range(len(errs))), "max_iters": PAPER, "stop_reasons": "max_iters",
            "plateaued": True, "still_moving": "", "trained": True, **kw}  # fmt: skip


def test_one_bad_seed_is_not_hidden_by_the_mean() -> None:
    """Issue 34.4: Adam + ratio at depth 1 with one of five seeds at Err 4.5e-5 / Rk 7.4."""
    claim = BY_ID["T1-adam-ratio-d1"]
    errs, ranks = [4e-7] * 4 + [4.5e-5], [5.0] * 4 + [7.4]
    assert np.mean(errs) <= 1e-5 and round(np.mean(ranks)) == 5  # the mean would pass
    res = evaluate([claim], pd.DataFrame([_t1("adam", 1, errs, ranks)]), None).iloc[0]
    assert res["verdict"] == "not held" and "4 of 5 seeds" in res["ours"], res["ours"]


def test_a_speed_claim_compares_seed_by_seed() -> None:
    """Issue 34.4: two of five Adam seeds never settle below 1e-3; GD's all settle at 10⁵: not held."""
    claim = BY_ID["F1-adam-faster"]

    def cell(opt: str, depth: int, times: list[tuple[float, float]]) -> dict:
        lo, hi = max(t[0] for t in times), max(t[1] for t in times)
        return {**_fig1({(opt, depth): 5.0}).iloc[0].to_dict(), "iters_to_err_0.001": lo if lo == hi else math.nan,
                "iters_to_err_0.001_lo": lo, "iters_to_err_0.001_hi": hi,
                "iters_to_err_0.001_seeds": join_seeds(times), "seeds": "0;1;2;3;4"}  # fmt: skip

    adam = [(3000.0, 3000.0)] * 3 + [(float(PAPER), math.inf)] * 2
    rows = [c for d in (3, 4, 5) for c in (cell("adam", d, adam), cell("gd", d, [(1e5, 1e5)] * 5))]
    res = evaluate([claim], pd.DataFrame(rows), BUDGET).iloc[0]
    assert res["verdict"] == "not held" and "3 of 5 seed pairs" in res["ours"], res["ours"]


def test_a_transient_crossing_is_not_a_settled_time() -> None:
    """Issue 34.3: Adam crosses 1e-3 at 300 and ends at 0.30 (depths 4-5 of the decide run): never settled;
    a run that crosses at 300 and stays is settled between the logged points around it."""
    it = np.array([0, 100, 200, 300, 1000, 10000, 100000])
    climbs = np.array([1.0, 0.5, 0.01, 1e-5, 1e-5, 0.01, 0.30])
    stays = np.array([1.0, 0.5, 0.01, 1e-5, 1e-5, 1e-6, 1e-7])
    assert settled_hit(it, climbs, 1e-3, 100000) is None
    assert settled_hit(it, stays, 1e-3, 100000) == (201.0, 300.0)
    runs = [
        {"stop_reason": "max_iters", "iterations": 100000},
        {"stop_reason": "diverged", "iterations": 500},
    ]
    out = _settled_counts({"iterations": it, "test_error": np.stack([stays, stays])}, runs)
    assert out["iters_to_err_0.001_seeds"] == "201.0:300.0;500.0:inf"  # a diverged seed never settles
    assert (out["iters_to_err_0.001_lo"], out["iters_to_err_0.001_hi"]) == (500.0, math.inf)


def test_divergence_supports_a_failure_claim() -> None:
    """Issue 34.7: GD diverging on one penalty at depth 1 is the clearest failure to generalise."""
    claim = BY_ID["T1-gd-d1-fails"]
    pens = [
        "ratio",
        "schatten_ratio:1/2:2/3",
        "schatten_ratio:1/3:2/3",
        "schatten_ratio:1/3:1/2",
        "nuclear",
        "none",
    ]
    rows = [_t1("gd", 1, [0.81, 0.82], [60.0, 62.0], penalty=p) for p in pens]
    rows[1].update(test_error_seeds=join_seeds([math.inf, math.inf]), effective_rank_seeds=join_seeds([math.inf] * 2),
                   n_diverged=2, test_error_mean=math.inf, stop_reasons="diverged")  # fmt: skip
    assert evaluate([claim], pd.DataFrame(rows), None).loc[0, "verdict"] == "held"


def test_invariance_named_for_two_optimizers_needs_both_to_succeed() -> None:
    """Issue 34.2: Adamax + ratio failing at both depths (0.8, 0.6) does not leave the claim to Adam."""
    claim = BY_ID["T1-ratio-depth-invariance"]
    rows = [_t1("adam", 1, [4e-7, 4e-7], [5, 5]), _t1("adam", 3, [4e-7, 5e-7], [5, 5]),
            _t1("adamax", 1, [0.8, 0.8], [40, 40]), _t1("adamax", 3, [0.6, 0.6], [30, 30])]  # fmt: skip
    res = evaluate([claim], pd.DataFrame(rows), None).iloc[0]
    assert res["verdict"] == "not held" and "the sentence says they succeed" in res["ours"], res["ours"]


def test_others_require_depth_is_not_met_by_untrained_networks() -> None:
    """Issue 34.1: untrained depth-1 vs depth-3 ranks (80 vs 57) meet 'Rk(1)/Rk(3) >= 1.2'."""
    claim = BY_ID["T1-others-require-depth"]
    df = cells_for(claim, holds=True)
    res = evaluate([claim], untrained_twin(df), _budget()).iloc[0]
    assert res["verdict"] in (UNINFORMATIVE, "not held", "inconclusive", NOT_REACHED), res["ours"]


# ---------------------------------------------------------------- properties over generated tables

SEEDED_CLAIMS = [c for c in CLAIMS if any(k["type"] in ("threshold", "compare") for k in c["checks"])
                 and _reads_training_cells(cells_for(c, holds=True))]  # fmt: skip


def _with_seeds(df: pd.DataFrame, draw_err: list[float], draw_rank: list[float], n: int) -> pd.DataFrame:
    """``df`` (one claim's cells) with ``n`` seeds per cell: each seed's error and rank the cell's value
    times a drawn factor (the same factors for every cell: a seed is a ground truth shared by all)."""
    df = df.copy()
    errs = df["test_error_mean"] if "test_error_mean" in df else pd.Series(0.5, index=df.index)
    ranks = df["effective_rank_mean"] if "effective_rank_mean" in df else pd.Series(5.0, index=df.index)
    df["test_error_seeds"] = [
        join_seeds([e * f for f in draw_err[:n]]) if pd.notna(e) else math.nan for e in errs
    ]
    df["effective_rank_seeds"] = [
        join_seeds([r * f for f in draw_rank[:n]]) if pd.notna(r) else math.nan for r in ranks
    ]
    df["seeds"] = ";".join(str(i) for i in range(n))
    return df


def _permuted(df: pd.DataFrame, order: list[int]) -> pd.DataFrame:
    df = df.copy()
    for col in ("test_error_seeds", "effective_rank_seeds", "seeds"):
        df[col] = [";".join(np.array(str(v).split(";"))[order]) if isinstance(v, str) else v for v in df[col]]
    return df


factors = st.lists(st.floats(0.2, 5.0), min_size=3, max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDED_CLAIMS), st.booleans(), factors, factors, st.permutations([0, 1, 2]))
def test_permuting_the_seeds_changes_no_verdict(claim, holds, ferr, frank, order) -> None:  # noqa: ANN001
    df = _with_seeds(cells_for(claim, holds), ferr, frank, 3)
    a = evaluate([claim], df, _budget()).loc[0, "verdict"]
    b = evaluate([claim], _permuted(df, list(order)), _budget()).loc[0, "verdict"]
    assert a == b


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDED_CLAIMS), st.booleans(), factors, factors)
def test_the_untrained_twin_holds_nothing(claim, holds, ferr, frank) -> None:  # noqa: ANN001
    df = _with_seeds(cells_for(claim, holds), ferr, frank, 3)
    assert evaluate([claim], untrained_twin(df), _budget()).loc[0, "verdict"] != "held"


RECOVERS = [c for c in CLAIMS if all(k["type"] == "threshold" for k in c["checks"])
            and any(k["op"] in ("<=", "<") and k["metric"].startswith("test_error") for k in c["checks"])
            and not any(k["op"] in (">=", ">") and k["metric"].startswith("test_error") for k in c["checks"])]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(RECOVERS), factors, st.floats(1.0, 1e4))
def test_worsening_every_cell_never_makes_a_recovery_claim_hold(claim, ferr, worse) -> None:  # noqa: ANN001
    df = _with_seeds(cells_for(claim, holds=False), ferr, [1.0, 1.0, 1.0], 3)
    before = evaluate([claim], df, _budget()).loc[0, "verdict"]
    worsened = df.assign(test_error_mean=df["test_error_mean"] * worse) if "test_error_mean" in df else df
    worsened = _with_seeds(worsened, ferr, [1.0, 1.0, 1.0], 3)
    after = evaluate([claim], worsened, _budget()).loc[0, "verdict"]
    assert not (before != "held" and after == "held"), (before, after)


FAILING_ALIKE_IS_THE_CLAIM = {
    # the sentence states a failure: cells that all trained and failed meet it
    "T1-gd-d1-fails", "T1-nuclear-no-generalisation", "T1-adam-none-d1", "T3-adadelta-ratio-d1",
    "T3-amsgrad-ratio-d1-fails", "T3-gd-momentum-d1-fails", "T4-quasi-norms-d1", "F1-gd-depth2-fails",
    "F2-gd-not-all-depths", "F3-gd-d1-fails", "F3-adam-none-d1",
    # the sentence states sameness whatever the outcome ("some depth invariance" of a penalty that does not
    # generalise, "ineffective", "similar performance as GD:3")
    "T1-nuclear-depth-invariance", "F3-penalty-ineffective-gd", "F4-gd-depths-alike", "F5-gd-depths-alike-r10",
}  # fmt: skip


@pytest.mark.parametrize("claim", CLAIMS, ids=[c["id"] for c in CLAIMS])
def test_no_claim_of_success_or_difference_is_held_when_every_cell_fails_alike(claim: dict) -> None:
    """Issue 34.1's second twin: every network trained and ended alike (Err 0.5, Rk 20). Only a claim whose
    sentence is a failure, or sameness whatever the outcome, may hold there (listed, each with why)."""
    df = cells_for(claim, holds=True)
    if not _reads_training_cells(df):
        pytest.skip("reads no training cell (baselines or Table 2 only)")
    res = evaluate([claim], alike_twin(df), _budget()).iloc[0]
    if claim["id"].split(" [")[0] in FAILING_ALIKE_IS_THE_CLAIM:
        return
    assert res["verdict"] != "held", f"{claim['id']}: {res['ours']}"
