"""Tables' formatting and the claims evaluator, on data made here."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from matcomp.plan.config import ConfigError, deep_merge, effective_config
from matcomp.report.claims import evaluate
from matcomp.report.tables import fmt_err, penalty_label


@pytest.mark.parametrize(
    ("x", "s"),
    [(4e-7, "4e-7"), (0.72, "0.72"), (7e5, "7e+5"), (1.6e3, "1.6e+3"), (1.0, "1.00"), (math.nan, "n/a")],
)
def test_error_format_as_in_the_paper(x: float, s: str) -> None:
    assert fmt_err(x) == s


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
