"""Reading bundles and per-optimizer settings (issue 36): ``code7`` changes several settings at once, and a
setting may be given per optimizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcomp.plan.config import ConfigError, load, read_config
from matcomp.plan.jobs import training_jobs

ROOT = Path(__file__).resolve().parents[1]


def _jobs(scale: str, **over: object) -> dict:
    raw = read_config(ROOT / "config.yaml", overrides={"scale": scale})
    raw.update(over)
    return training_jobs(load(raw))


@pytest.mark.parametrize("scale", ["smoke", "quick", "decide", "paper"])
def test_the_code7_bundle_sets_each_of_its_settings_in_every_job_it_reruns(scale: str) -> None:
    raw = read_config(ROOT / "config.yaml", overrides={"scale": scale})
    spec = load(raw)["readings"]["code7"]
    jobs = _jobs(scale)
    mine = [j for j in jobs.values() if any(e.endswith("@code7") for e in j.experiments)]
    assert mine, "code7 plans no job"
    for job in mine:
        train = dict(job.train)
        assert train["reduction"] == spec["train"]["reduction"] == "mean"
        want = spec["train"]["lr"].get(job.optimizer, spec["train"]["lr"]["default"])
        assert train["lr"] == want == (1e-2 if job.optimizer == "gd" else 1e-3), job.path
    # Adam's fig1 cells under code7 are the mean reading's (the same settings): one job, shared
    adam = [j for j in mine if j.optimizer == "adam" and "fig1@code7" in j.experiments]
    if "fig1@mean" in {e for j in jobs.values() for e in j.experiments}:
        assert adam and all("fig1@mean" in j.experiments for j in adam)


def test_a_per_optimizer_setting_needs_known_names_and_a_default() -> None:
    base = read_config(ROOT / "config.yaml", overrides={"scale": "smoke"})
    for lr, message in (({"gdd": 1e-2, "default": 1e-3}, "did you mean 'gd'"),
                        ({"gd": 1e-2}, "needs 'default'")):  # fmt: skip
        with pytest.raises(ConfigError, match=message):
            load({**base, "train": {**base["train"], "lr": lr}})


def test_a_per_optimizer_lr_reaches_each_cell_as_a_number() -> None:
    base = read_config(ROOT / "config.yaml", overrides={"scale": "smoke"})
    jobs = _jobs(
        "smoke", train={**base["train"], "lr": {"gd": "1e-2", "default": 1e-3}}
    )  # text as YAML 1.1 reads it
    plain = _jobs("smoke")
    for path, job in jobs.items():
        lr = dict(job.train)["lr"]
        assert isinstance(lr, float)
        if job.optimizer != "gd" and not any("robust_lr" in e for e in job.experiments):
            assert path in plain  # every other optimizer's cells unchanged: the same files
