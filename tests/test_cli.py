"""The `matcomp` command line: a tiny run and the one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from matcomp.cli import main
from matcomp.store.results import load_trajectory


def test_train_writes_run_json_and_trajectory(tmp_path, capsys) -> None:
    out = tmp_path / "run.json"
    rc = main(["train", "--optimizer", "adam", "--penalty", "schatten_ratio:1/2:2/3", "--lam", "0.05", "--m", "20",
               "--n", "20", "--rank", "2", "--n-obs", "150", "--seeds", "0", "1", "--max-iters", "50",
               "--log-every", "10", "--device", "cpu", "--out", str(out), "--quiet"])  # fmt: skip
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["settings"]["penalty"] == "schatten_ratio:1/2:2/3" and doc["settings"]["max_iters"] == 50
    assert [r["seed"] for r in doc["runs"]] == [0, 1]
    for key in ("test_error", "test_error_unobserved", "effective_rank", "iterations", "stop_reason"):
        assert key in doc["runs"][0]
    assert {"versions", "device", "seconds", "dtype"} <= set(doc["provenance"])
    assert doc["trajectory"]["file"] == "run.trajectory.npz" and len(doc["trajectory"]["sha256"]) == 64
    traj = load_trajectory(out)  # checked against the recorded checksum
    assert list(traj["iterations"]) == [0, 10, 20, 30, 40, 50]
    assert traj["spectrum"].shape == (2, 6, 20)
    assert "seed 1: test_error=" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.trajectory.npz"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--optimizer", "lbfgs"], "unknown optimizer 'lbfgs'; valid optimizers: adadelta, adagrad, adam"),
        (["--penalty", "hoyer"], "unknown penalty 'hoyer'; valid penalties:"),
        (["--n-obs", "20000"], "n_obs must be in 1..m*n = 10000"),
        (["--rank", "200"], "rank must be in 1..min(m, n) = 100"),
        (["--lam", "-1"], "--lam must be a finite number >= 0"),
        (["--data", "/nonexistent/p.npz"], "data file not found: /nonexistent/p.npz"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, args: list[str], message: str) -> None:
    out = tmp_path / "run.json"
    proc = subprocess.run(
        [sys.executable, "-m", "matcomp.cli", "train", "--max-iters", "5", "--out", str(out), *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_data_command(tmp_path) -> None:
    assert (
        main(
            [
                "data",
                "--m",
                "10",
                "--n",
                "12",
                "--rank",
                "2",
                "--n-obs",
                "30",
                "--out",
                str(tmp_path / "p.npz"),
            ]
        )
        == 0
    )
    from matcomp.data import load_problem

    assert load_problem(tmp_path / "p.npz").mask.sum() == 30
