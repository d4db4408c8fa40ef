"""Tables' formatting and the claims evaluator, on data made here."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from matcomp.plan.config import ConfigError, deep_merge, effective_config
from matcomp.report.claims import evaluate
from matcomp.report.tables import fmt_err, paper_layout, penalty_label


@pytest.mark.parametrize(
    ("x", "s"),
    [(4e-7, "4e-7"), (0.72, "0.72"), (7e5, "7e+5"), (1.6e3, "1.6e+3"), (1.0, "1.00"), (math.nan, "n/a")],
)
def test_error_format_as_in_the_paper(x: float, s: str) -> None:
    assert fmt_err(x) == s


def test_a_table_entry_says_when_its_mean_holds_a_diverged_or_blown_up_seed() -> None:
    """Adam + ratio at depth 4, averaged data term: one seed's product ran away (Err 8.9e4, finite), so the
    mean 4.5e+4 is one seed's number; a diverged seed replaces the mean altogether."""
    cell = {"optimizer": "adam", "penalty": "ratio", "penalty_label": "Adam+R", "lam": 0.05, "n_obs": 2000,
            "effective_rank_mean": 3.0, "n_seeds": 2}  # fmt: skip
    rows = [
        {**cell, "depth": 3, "test_error_mean": 2e-6, "n_diverged": 0, "n_blown_up": 0},
        {**cell, "depth": 4, "test_error_mean": 4.46e4, "n_diverged": 0, "n_blown_up": 1},
        {**cell, "depth": 5, "test_error_mean": math.inf, "n_diverged": 1, "n_blown_up": 0},
    ]
    err = paper_layout(pd.DataFrame(rows))[("Adam+R", "Err")]
    assert err.tolist() == ["2e-6", "4.5e+4 (1/2 blew up)", "div. 1/2"]


def test_blown_up_is_a_finite_error_past_the_zero_matrix_s_by_its_margin() -> None:
    from matcomp.report.cells import BLOWN_UP, blown_up

    assert blown_up(8.9e4) and blown_up(BLOWN_UP) and blown_up("12.5")
    assert not any(
        blown_up(x) for x in (1.0000001, 0.89, math.inf, math.nan, None, "")
    )  # untrained, collapsed


def test_penalty_labels() -> None:
    assert [penalty_label(p) for p in ("ratio", "schatten_ratio:1/2:2/3", "schatten:1/3", "nuclear", "none")] == [
        "Ratio", "Sch 1/2:2/3", "Sch 1/3", "Nuc", "None"
    ]  # fmt: skip


DF = pd.DataFrame(
    [
        {"experiment": "t", "optimizer": "adam", "penalty": "ratio", "depth": 1, "test_error_mean": 4e-7, "effective_rank_mean": 5.2, "iters_to_err_0.001": 1e3, "max_iters": 1e5},
        {"experiment": "t", "optimizer": "adam", "penalty": "ratio", "depth": 3, "test_error_mean": 9e-7, "effective_rank_mean": 4.9, "iters_to_err_0.001": 2e3, "max_iters": 1e5},
        {"experiment": "t", "optimizer": "gd", "penalty": "ratio", "depth": 1, "test_error_mean": 0.8, "effective_rank_mean": 60.0, "iters_to_err_0.001": math.nan, "max_iters": 1e5},
        {"experiment": "t", "optimizer": "gd", "penalty": "ratio", "depth": 3, "test_error_mean": 1e-5, "effective_rank_mean": 5.0, "iters_to_err_0.001": 5e4, "max_iters": 1e5},
    ]
)  # fmt: skip


def _claim(check: dict) -> dict:
    return {"id": "c", "source": "s", "quote": "q", "paper": "p", "criterion": "c", "check": check}


@pytest.mark.parametrize(
    ("check", "verdict"),
    [
        ({"type": "threshold", "where": {"experiment": "t", "optimizer": "adam"}, "metric": "test_error_mean", "op": "<=", "value": 1e-5}, "held"),
        ({"type": "threshold", "where": {"experiment": "t", "depth": 1}, "metric": "test_error_mean", "op": "<=", "value": 1e-5}, "not held"),
        ({"type": "threshold", "where": {"experiment": "t", "optimizer": "adam"}, "metric": "effective_rank_mean", "op": "==round", "value": 5}, "held"),
        ({"type": "threshold", "where": {"experiment": "other"}, "metric": "test_error_mean", "op": "<=", "value": 1}, "not run"),
        ({"type": "compare", "a": {"experiment": "t", "optimizer": "adam", "depth": 1}, "b": {"experiment": "t", "optimizer": "adam", "depth": 3}, "metric": "test_error_mean", "relation": "log10_within", "value": 1}, "held"),
        # GD never reached 1e-3 at depth 1: censored at its budget (1e5), still >= 10x Adam's 1e3
        ({"type": "compare", "a": {"experiment": "t", "optimizer": "gd"}, "b": {"experiment": "t", "optimizer": "adam"}, "match": ["depth"], "metric": "iters_to_err_0.001", "relation": "ratio_at_least", "value": 10}, "held"),
        ({"type": "compare", "a": {"experiment": "t", "optimizer": "gd"}, "b": {"experiment": "t", "optimizer": "adam"}, "match": ["depth"], "metric": "iters_to_err_0.001", "relation": "ratio_at_least", "value": 30}, "not held"),
    ],
)  # fmt: skip
def test_claim_verdicts(check: dict, verdict: str) -> None:
    res = evaluate([_claim(check)], DF)
    assert res.loc[0, "verdict"] == verdict, res.loc[0, "ours"]


def test_claims_file_parses_and_covers_every_experiment() -> None:
    import yaml

    from matcomp.report.claims import DEFAULT_CLAIMS

    claims = yaml.safe_load(DEFAULT_CLAIMS.read_text())["claims"]
    ids = [c["id"] for c in claims]
    assert len(ids) == len(set(ids))
    sources = " ".join(c["source"] for c in claims)
    for name in ("Table 1", "Table 2", "Table 3", "Table 4", *(f"Figure {i}" for i in range(1, 9))):
        assert name in sources, name
    res = evaluate(claims, pd.DataFrame())
    assert set(res["verdict"]) == {"not run"}


def test_scales_merge_and_unknown_scale() -> None:
    base = {
        "scale": "quick",
        "train": {"max_iters": 10, "lr": 1},
        "scales": {"quick": {"train": {"max_iters": 3}}},
    }
    eff = effective_config(base)
    assert eff["train"] == {"max_iters": 3, "lr": 1} and "scales" not in eff
    assert deep_merge({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2]}}) == {"a": {"b": 1, "c": [2]}}
    with pytest.raises(ConfigError, match="config key 'scale'"):
        effective_config({**base, "scale": "huge"})
