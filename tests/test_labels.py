"""Every label table is checked against its registry: a new optimizer, penalty or baseline without a printed
label fails here, and is refused while planning (issue 38)."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcomp.baselines import BASELINES
from matcomp.labels import METHOD_LABELS, OPTIMIZER_LABELS, PENALTY_LABELS
from matcomp.plan.config import ConfigError, load, read_config
from matcomp.report.tables import penalty_label
from matcomp.training.optimizers import OPTIMIZERS
from matcomp.training.penalties import PENALTIES

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("registry", "labels"), [(OPTIMIZERS, OPTIMIZER_LABELS), (PENALTIES, PENALTY_LABELS),
                                                  (BASELINES, METHOD_LABELS)], ids=["optimizers", "penalties", "methods"])  # fmt: skip
def test_every_registered_name_has_a_label_and_no_label_is_left_over(registry: dict, labels: dict) -> None:
    assert set(registry) == set(labels)
    assert len(set(labels.values())) == len(labels) or labels is PENALTY_LABELS  # Sch: the family's prefix


def test_penalty_labels_are_the_papers() -> None:
    assert [penalty_label(s) for s in ("ratio", "nuclear", "none", "schatten:1/2", "schatten_ratio:1/3:2/3")] == [
        "Ratio", "Nuc", "None", "Sch 1/2", "Sch 1/3:2/3"]  # fmt: skip


def test_a_registered_optimizer_without_a_label_is_refused_while_planning(monkeypatch) -> None:
    monkeypatch.setitem(OPTIMIZERS, "lion", ("Adam", {}))  # a new registry entry, its label forgotten
    overlay = {"experiments": {"table1": {"optimizers": ["adam", "lion"]}}}
    raw = read_config(ROOT / "config.yaml", overrides={"scale": "smoke"})
    with pytest.raises(
        ConfigError, match=r"optimizer 'lion' has no printed label; add it to matcomp.labels.OPTIMIZER_LABELS"
    ):
        load(
            {
                **raw,
                "experiments": {
                    **raw["experiments"],
                    "table1": {**raw["experiments"]["table1"], **overlay["experiments"]["table1"]},
                },
            }
        )


def test_all_other_methods_means_every_paper_baseline_of_the_registry(monkeypatch) -> None:
    from matcomp.baselines import Method
    from matcomp.labels import PAPER_METHODS
    from matcomp.report.claims import load_claims, with_paper_methods

    claims = {c["id"]: c for c in load_claims()}
    beats_all = claims["F4-adam1r-beats-all"]["checks"][0]["a"]["method"]
    assert beats_all == ["CP", "SI", "OPT", "GD:3", "GD:4", "GD:5"]  # not OPT (published): not the paper's
    monkeypatch.setitem(BASELINES, "svt", Method("svt", "SVT", "singular value thresholding"))
    assert with_paper_methods({"method": [PAPER_METHODS, "GD:3"]}) == {
        "method": ["CP", "SI", "OPT", "SVT", "GD:3"]
    }


def test_every_method_has_an_env_file_and_a_colour_or_a_shade() -> None:
    from matcomp.report.style import method_color

    for name, method in BASELINES.items():
        assert (ROOT / "envs" / method.env).is_file(), name
        assert method_color(method.label).startswith("#")
    assert method_color("OPT (published)") != method_color("OPT")  # a darker shade of OPT's orange


def test_every_setting_a_reading_changes_is_a_column_the_report_prints() -> None:
    """A reading (config.yaml's `readings:`, at every scale) that changes a training setting the tables do not
    record as a column, or whose column the footers and claims do not print, would run unseen: every such
    setting is a column of `_reading_settings` and a key of `style.READING_SETTINGS`, and the two agree."""
    from matcomp.report.style import READING_SETTINGS
    from matcomp.report.tables import SETTING_COLUMNS, _reading_settings

    raw = read_config(ROOT / "config.yaml")
    readings = dict(raw.get("readings") or {})
    for scale in (raw.get("scales") or {}).values():
        readings.update((scale or {}).get("readings") or {})
    changed = {key for spec in readings.values() for key in (spec.get("train") or {})}
    columns = {SETTING_COLUMNS.get(key, key) for key in changed}
    job = {"train": {}, "optimizer": "gd"}
    made = set(_reading_settings(job, {"provenance": {}}))
    assert columns <= made, f"readings change {sorted(columns - made)}, which the tables do not record"
    assert made == set(READING_SETTINGS), "the tables' setting columns and the printed ones differ"
