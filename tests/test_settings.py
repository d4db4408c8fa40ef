"""The training settings have one owner (matcomp.training.settings.TrainConfig): the command line, the config schema's
``train:`` block, the checks and the planner derive from its fields, so a new setting is one field plus one
line of config.yaml (shown end to end on a copy of the package with a dummy setting added)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from matcomp.cli import build_parser
from matcomp.plan.config import schema
from matcomp.training.settings import TRAIN_DEFAULTS, TRAIN_KEYS, TrainConfig, effective_train, train_schema

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_an_option_and_every_config_setting_is_in_the_schema() -> None:
    train = next(
        a for a in build_parser()._subparsers._group_actions[0].choices["train"]._actions if a.dest == "lr"
    )
    assert train.default == TrainConfig.lr
    actions = build_parser()._subparsers._group_actions[0].choices["train"]._actions
    dests = {a.dest for a in actions}
    assert {f.name for f in dataclasses.fields(TrainConfig)} <= dests
    assert (
        set(schema()["$defs"]["train"]["properties"]) == set(TRAIN_KEYS) == set(train_schema()["properties"])
    )
    assert {"optimizer", "penalty", "depth", "device"}.isdisjoint(TRAIN_KEYS)  # set per job, not in train:


def test_the_schemas_names_are_their_owners() -> None:
    """The schema's lists of names come from the modules that own them (or, for the per-method option blocks,
    agree with them): a model, row, checkpoint or baseline added to its owner is valid config at once."""
    from matcomp.baselines import BASELINES
    from matcomp.labels import METHOD_LABELS, MODEL_NAMES
    from matcomp.movielens.terms import CHECKPOINTS, MODELS, ROWS

    exp = schema()["$defs"]["experiment"]["properties"]
    assert exp["models"]["items"]["enum"] == list(MODELS) == list(MODEL_NAMES)
    assert exp["rows"]["items"]["enum"] == list(ROWS) and exp["checkpoint"]["enum"] == list(CHECKPOINTS)
    assert set(exp["methods"]["properties"]) == set(BASELINES) == set(METHOD_LABELS)


def test_effective_train_takes_the_experiment_then_the_config_then_the_default() -> None:
    config = {"train": {"lr": 0.5, "tol": 1e-3}}
    got = effective_train(config, {"train": {"lr": 0.25}})
    assert got["lr"] == 0.25 and got["tol"] == 1e-3 and got["init"] == TRAIN_DEFAULTS["init"]
    assert set(got) == set(TRAIN_KEYS)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"dtype": "float16"}, "dtype must be one of float32, float64, got 'float16'"),
     ({"depth": 0}, "depth must be >= 1, got 0"), ({"gd_momentum": 1.0}, "gd_momentum must be in [0, 1), got 1.0"),
     ({"lr": float("nan")}, "lr must be a finite number, got nan")],
)  # fmt: skip
def test_the_checks_come_from_the_fields(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(**change).validate()


DUMMY = """    dummy_rate: float = setting(0.5, "a dummy setting of this test", minimum=0, below=1)
"""

PROBE = """
import sys
sys.path.insert(0, {src!r})
from matcomp.cli import build_parser
from matcomp.plan.config import ConfigError, load, read_yaml
from matcomp.plan.jobs import training_jobs
from matcomp.training.settings import TrainConfig

raw = read_yaml({config!r})
help_text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
print("option", "--dummy-rate" in help_text)
jobs = training_jobs(load({{**raw, "scale": "smoke"}}))
print("planned", {{dict(j.train)["dummy_rate"] for j in jobs.values()}})
try:
    load({{**raw, "scale": "smoke", "train": {{**raw["train"], "dummy_rate": 2}}}})
except ConfigError as err:
    print("refused", err)
try:
    TrainConfig(dummy_rate=-1.0).validate()
except ValueError as err:
    print("checked", err)
"""


def test_a_new_setting_is_one_field_and_one_config_line(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "matcomp", src / "matcomp", ignore=shutil.ignore_patterns("__pycache__"))
    settings = src / "matcomp" / "training" / "settings.py"
    text = settings.read_text()
    anchor = "\n    def validate(self) -> None:"
    assert anchor in text
    settings.write_text(text.replace(anchor, "\n" + DUMMY + anchor, 1))  # one field ...
    config = tmp_path / "config.yaml"
    cfg_text = (ROOT / "config.yaml").read_text()
    assert "\ntrain:\n" in cfg_text
    config.write_text(
        cfg_text.replace("\ntrain:\n", "\ntrain:\n  dummy_rate: 0.25\n", 1)
    )  # ... one config line
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(src=str(src), config=str(config))],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout  # fmt: skip
    assert "option True" in out  # the command line has it
    assert "planned {0.25}" in out  # every planned job carries the config's value (and hashes it)
    assert "refused config key 'train.dummy_rate'" in out  # the schema bounds it
    assert "checked dummy_rate must be in [0, 1), got -1.0" in out  # and so does validate()
    # ... and removing it again leaves the package as it is: the checkout's settings.py has no dummy
    assert "dummy_rate" not in (ROOT / "src" / "matcomp" / "training" / "settings.py").read_text()


def test_the_tables_read_the_trainers_convergence_levels() -> None:
    from matcomp.report.tables import ERR_LEVELS
    from matcomp.training.settings import CONVERGENCE_THRESHOLDS

    assert ERR_LEVELS == tuple(f"{t:g}" for t in CONVERGENCE_THRESHOLDS)  # as train.py keys its results


def test_every_kind_of_bound_names_itself() -> None:
    from matcomp.training.settings import _out_of_range, setting

    cls = dataclasses.make_dataclass(
        "Bounds", [("a", float, setting(0.5, "open interval", above=0, below=1)),
                   ("b", float, setting(0.5, "upper bound only", below=1)),
                   ("c", "int | None", setting(None, "optional", minimum=1))],
    )  # fmt: skip
    a, b, c = dataclasses.fields(cls)
    assert _out_of_range(a, 1.0) == "a must be in (0, 1), got 1.0" and _out_of_range(a, 0.5) is None
    assert _out_of_range(b, 2.0) == "b must be < 1, got 2.0" and _out_of_range(b, 0.0) is None
    assert _out_of_range(c, 0) == "c must be >= 1 (or unset), got 0" and _out_of_range(c, None) is None
