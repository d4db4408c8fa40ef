"""Training several jobs as one pack (one batch per depth, mixed penalties) writes what each job gets alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcomp.data import make_problem
from matcomp.jobs.train import train_job, train_jobs
from matcomp.store.results import load_trajectory, read

TRAIN = {"lr": 1e-3, "init_std": 1e-3, "max_iters": 100, "tol": 1e-7, "reduction": "sum", "log": "every:25",
         "dtype": "float64", "width": None, "spectral": "auto"}  # fmt: skip


def _job(penalty: str, lam: float, rank: int, n_obs: int, depths: list[int], seeds: list[int]) -> dict:
    return {"optimizer": "adam", "penalty": penalty, "lam": lam, "rank": rank, "n_obs": n_obs, "seeds": seeds,
            "depths": depths, "train": dict(TRAIN), "data": {"m": 24, "n": 20, "normalize": True}}  # fmt: skip


def _data(tmp: Path, job: dict) -> list[str]:
    files = []
    for seed in job["seeds"]:
        path = tmp / f"r{job['rank']}_o{job['n_obs']}_s{seed}.npz"
        make_problem(24, 20, job["rank"], job["n_obs"], seed).save(path)
        files.append(str(path))
    return files


def test_pack_equals_each_job_alone(tmp_path: Path) -> None:
    """Mixed penalties and optimizers (interleaved, so the trainer regroups and restores the order)."""
    jobs = [
        _job("ratio", 0.05, 2, 200, [1, 2], [0, 1]),
        {**_job("nuclear", 0.1, 3, 300, [2], [2, 3]), "optimizer": "gd"},
        _job("none", 0.0, 2, 250, [1, 2], [4]),
        {**_job("schatten:1/2", 0.05, 2, 200, [1], [0]), "optimizer": "rmsprop"},
        {**_job("ratio", 0.1, 2, 200, [1], [5]), "optimizer": "gd"},
    ]
    files = [_data(tmp_path, job) for job in jobs]
    packed = [str(tmp_path / f"pack{j}.json") for j in range(len(jobs))]
    train_jobs(jobs, files, packed, device="cpu")
    for j, job in enumerate(jobs):
        alone = str(tmp_path / f"alone{j}.json")
        train_job(job, files[j], alone, device="cpu")
        a, b = read(packed[j]), read(alone)
        assert [c["depth"] for c in a["cells"]] == job["depths"] == [c["depth"] for c in b["cells"]]
        for ca, cb in zip(a["cells"], b["cells"], strict=True):
            assert ca["settings"]["penalty"] == job["penalty"] and ca["settings"]["batch_size"] == len(
                job["seeds"]
            )
            assert ca["settings"]["optimizer"] == job["optimizer"]
            for key in ("optimizer_kernel", "spectral_route"):
                assert ca["provenance"][key] == cb["provenance"][key], key
            pack = ca["provenance"]["pack"]
            assert (
                pack is not None
                and pack["batch_size"] > len(job["seeds"])
                and cb["provenance"]["pack"] is None
            )
            for ra, rb in zip(ca["runs"], cb["runs"], strict=True):
                assert (ra["seed"], ra["iterations"], ra["penalty"]) == (
                    rb["seed"],
                    rb["iterations"],
                    rb["penalty"],
                )
                for key in ("test_error", "effective_rank", "penalty_value"):
                    np.testing.assert_allclose(ra[key], rb[key], rtol=1e-10, atol=1e-300, err_msg=key)
            ta, tb = load_trajectory(packed[j], ca["depth"]), load_trajectory(alone, ca["depth"])
            assert ta.keys() == tb.keys()
            np.testing.assert_allclose(ta["test_error"], tb["test_error"], rtol=1e-10)


def test_pack_refuses_jobs_with_different_training_settings(tmp_path: Path) -> None:
    a = _job("ratio", 0.05, 2, 200, [1], [0])
    b = {**a, "train": {**a["train"], "lr": 1e-2}}
    files = [_data(tmp_path, a)] * 2
    with pytest.raises(ValueError, match="share their training settings"):
        train_jobs([a, b], files, [str(tmp_path / "a.json"), str(tmp_path / "b.json")], device="cpu")
    assert not list(tmp_path.glob("*.json"))


def _results_by_settings(work: Path) -> dict[tuple, Path]:
    """A workflow's training results by what they train (optimizer, penalty, λ, rank, n_obs, depths)."""
    found = {}
    for path in (work / "results/cells").rglob("*.json"):
        job = read(path)["job"]
        found[
            (job["optimizer"], job["penalty"], job["lam"], job["rank"], job["n_obs"], tuple(job["depths"]))
        ] = path
    return found


@pytest.mark.workflow
def test_workflow_trains_packs_and_matches_unpacked_jobs(tmp_path: Path) -> None:
    """``pack_training: true`` at smoke scale, Figure 3, with ``gpus: true`` (packs hold the jobs placed on a
    GPU; here they run on the CPU and say so): one ``train_pack`` job (holding every job of Figure 3's
    optimizers, and of the other experiments, that runs faster on a GPU), its members' ``train`` jobs only
    copy, ask for no GPU, and the cells equal those of the unpacked workflow (``gpus: true`` too), matched by
    their settings: a packed job is placed on the GPU where an unpacked one may not be, and its name says so."""
    from test_workflow import _config, dry_jobs, smk

    cfg = {**_config(), "scale": "smoke", "gpus": True}
    packed, plain = tmp_path / "packed", tmp_path / "plain"
    for folder, pack in ((packed, True), (plain, False)):
        folder.mkdir()
        plan = dry_jobs(folder, "--cores", "2", "figures/fig3.pdf", config={**cfg, "pack_training": pack})
        assert ("train_pack" in plan) == pack
        smk(folder, "--cores", "2", "figures/fig3.pdf")
    packs = sorted(p.name.rsplit("_", 1)[0] for p in (packed / "results/packs").iterdir())
    assert packs == ["pack"]  # every optimizer's jobs in one pack
    ours, theirs = _results_by_settings(packed), _results_by_settings(plain)
    assert theirs and sorted(ours) == sorted(theirs)
    for key, path in theirs.items():
        a, b = read(ours[key]), read(path)
        assert a["job"]["placement"] == "gpu"
        for ca, cb in zip(a["cells"], b["cells"], strict=True):
            assert ca["provenance"]["pack"]["batch_size"] > len(a["job"]["seeds"])
            assert ca["provenance"]["device"] == "cpu"  # placed on a GPU, there is none here
            for ra, rb in zip(ca["runs"], cb["runs"], strict=True):
                assert (ra["iterations"], ra["stop_reason"]) == (rb["iterations"], rb["stop_reason"])
                np.testing.assert_allclose(ra["test_error"], rb["test_error"], rtol=1e-5)
