"""Issue 19, replayed: what a careful but hostile user tries, each case the right result or one clear message.

1. Another copy of ``matcomp`` on the path: every job runs the checkout's own code.
2. Config typos and bad values: each refused before any job, naming the key (and the nearest valid one).
3. Damaged, truncated or swapped cached results: named, with the command that removes them, before any
   output is deleted; never drawn.
4. Overwrites and other surprises: a device change that moves no job reruns nothing, files honour the
   umask, packs are scanned by ``matcomp clean``, MovieLens data checks, an unwritable output folder.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from matcomp.plan.config import ConfigError, load, read_config, read_yaml
from matcomp.store import results

ROOT = Path(__file__).resolve().parents[1]
CHECKOUT = ("src", "workflow", "Snakefile", "config.yaml", "envs", "profiles")


def _raw(**over) -> dict:
    return {**yaml.safe_load((ROOT / "config.yaml").read_text()), **over}


def _copy_checkout(dest: Path) -> Path:
    for name in CHECKOUT:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def _smk(work: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=work, capture_output=True, text=True, timeout=900,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


# ---------------------------------------------------------------- 2. config typos and values (no Snakemake)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"scal": "smoke"}, "config key 'scal' is not a setting; did you mean 'scale'?"),
        ({"seed": [0]}, "config key 'seed' is not a setting; did you mean 'seeds'?"),
        (
            {"movielens-dir": "/x"},
            "config key 'movielens-dir' is not a setting; did you mean 'movielens_dir'?",
        ),
        ({"train": {"lrr": 1e-3}}, "config key 'train.lrr' is not a setting of 'train'; did you mean 'lr'?"),
        ({"train": {"lr": float("nan")}}, "config key 'train.lr': must be a finite number, got nan"),
        ({"device": "gpu"}, "config key 'device'"),
        ({"gpus": "maybe"}, "config key 'gpus'"),
    ],
)
def test_top_level_and_train_typos_name_the_key(override: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(_raw(**override))


def test_experiment_typos_missing_keys_and_bad_values() -> None:
    raw = _raw()
    exp = raw["experiments"]["table1"]
    cases = [
        ({"optimisers": ["adam"]}, "'experiments.table1.optimisers' is not a setting of 'experiments.table1'; did you mean 'optimizers'"),
        ({"depth": [1]}, "'experiments.table1.depth' is not a setting .*did you mean 'depths'"),
        ({"penalties": ["schatten:1/0"]}, r"'experiments.table1.penalties\[0\]': bad penalty argument '1/0'"),
        ({"optimizers": ["adamm"]}, r"'experiments.table1.optimizers\[0\]': unknown optimizer 'adamm'"),
        ({"n_obs": 20000}, "n_obs 20000 impossible for a 100x100 matrix"),
        ({"lams": [0.05]}, r"both lam \(0.05\) and lams \(\[0.05\]\) are set"),  # issue 27.2: one was ignored
        ({"seeds": [0, 0]}, r"'experiments.table1.seeds': \[0, 0\] has non-unique elements"),
    ]  # fmt: skip
    for change, message in cases:
        bad = {**raw, "experiments": {**raw["experiments"], "table1": {**exp, **change}}}
        with pytest.raises(ConfigError, match=message):
            load(bad)
    no_depths = {k: v for k, v in exp.items() if k != "depths"}
    with pytest.raises(ConfigError, match="'experiments.table1.depths' is missing: a table experiment needs"):
        load({**raw, "experiments": {**raw["experiments"], "table1": no_depths}})


def test_a_typo_in_a_scale_that_is_not_run_is_still_found() -> None:
    raw = _raw()
    raw["scales"]["quick"]["train"]["max_itres"] = 5
    with pytest.raises(
        ConfigError, match=r"'train.max_itres' .*did you mean 'max_iters'.* \(in scale 'quick'\)"
    ):
        load(raw)


def test_config_booleans_given_as_strings_and_yaml_errors(tmp_path: Path) -> None:
    for text in ("false", "False", "FALSE"):
        assert load(_raw(movielens_verify=text))["movielens_verify"] is False
    assert load(_raw(pack_training="true"))["pack_training"] is True
    bad = tmp_path / "overlay.yaml"
    bad.write_text("train:\n  lr: 1e-3\n   tol: [1\n")
    with pytest.raises(ConfigError, match=rf"config file {bad}, line 3, column 7: not valid YAML"):
        read_yaml(bad)


def test_packs_without_a_gpu_are_refused_not_ignored() -> None:
    """``pack_training: true`` packs the GPU-placed jobs; where none is planned it would do nothing."""
    from matcomp.plan.jobs import packing

    cfg = load(_raw(pack_training=True, device="cpu", gpus=True))
    with pytest.raises(ConfigError, match=r"pack_training: true .* device: cpu .* set gpus: true"):
        packing(cfg)
    assert packing(load(_raw(pack_training=True, gpus=True))) is True  # a login node without a GPU
    assert packing(load(_raw(pack_training="auto", device="cpu"))) is False


def test_clean_and_config_merge_configfiles_like_snakemake(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("seeds: [0, 1]\ntrain: {max_iters: 7}\n")
    cfg = read_config(ROOT / "config.yaml", [overlay], {"scale": "smoke"})
    eff = load(cfg)
    assert eff["seeds"] == [0] and eff["experiments"]["table1"]["kind"] == "table"  # smoke's seeds win
    assert load({**cfg, "scale": "paper"})["train"]["max_iters"] == 7  # merged, not replaced
    proc = subprocess.run([sys.executable, "-m", "matcomp.cli", "config", "--directory", str(ROOT),
                           "--configfile", str(overlay), "--config", "scal=smoke"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and "config key 'scal' is not a setting; did you mean 'scale'?" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "inf"], "lr must be a finite number, got inf"),
        (["--lr", "nan"], "lr must be a finite number, got nan"),
        (["--lam", "nan"], "--lam must be a finite number >= 0"),
        (["--penalty", "schatten:1/0"], "bad penalty argument '1/0' in 'schatten:1/0': an exponent is a positive number"),
    ],
)  # fmt: skip
def test_cli_refuses_non_finite_numbers(tmp_path: Path, args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "matcomp.cli", "train", "--max-iters", "3", "--out", str(tmp_path / "r.json"), *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- 1. another copy of the package


def test_a_job_refuses_a_package_from_elsewhere(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from matcomp.store.checkout import start_job

    scripts = tmp_path / "checkout" / "workflow" / "rules" / ".." / "scripts"
    with pytest.raises(RuntimeError, match=r"this job imported matcomp from .* not from the checkout"):
        start_job(SimpleNamespace(scriptdir=str(scripts), log=[]))  # matcomp here is ROOT/src's
    start_job(
        SimpleNamespace(scriptdir=str(ROOT / "workflow" / "rules" / ".." / "scripts"), log=[])
    )  # with ".."


def test_clean_reruns_itself_with_the_checkouts_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matcomp.cli as cli

    other = _copy_checkout(tmp_path / "other")
    calls = []
    monkeypatch.setattr("subprocess.call", lambda cmd, env: calls.append((cmd, env)) or 0)
    monkeypatch.setattr(sys, "argv", ["matcomp", "clean", "--stale", "--directory", str(other)])
    assert cli.main(sys.argv[1:]) == 0
    ((cmd, env),) = calls
    assert cmd[1:3] == ["-m", "matcomp.cli"] and env["PYTHONPATH"].split(os.pathsep)[0] == str(other / "src")


@pytest.fixture(scope="module")
def fig3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout copy with Figure 3 built at the smoke scale, run with ANOTHER copy of the package first on
    PYTHONPATH whose figures raise: the build must use the checkout's (edited: penalties, a new function)."""
    tmp = tmp_path_factory.mktemp("hostile")
    work = _copy_checkout(tmp / "work")
    other = tmp / "other"
    shutil.copytree(ROOT / "src", other / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    fig = other / "src/matcomp/report/figures.py"
    fig.write_text(
        fig.read_text().replace("    set_theme()\n", "    raise RuntimeError('the other copy ran')\n", 1)
    )
    pen = work / "src/matcomp/training/penalties.py"
    pen.write_text(pen.read_text() + "\n\ndef _a_semantic_edit() -> int:\n    return 1\n")
    proc = _smk(
        work,
        "--cores",
        "2",
        "figures/fig3.pdf",
        "--config",
        "scale=smoke",
        env={"PYTHONPATH": str(other / "src")},
    )
    assert "the other copy ran" not in proc.stdout + proc.stderr
    return work


@pytest.mark.workflow
def test_jobs_run_the_checkouts_code_whatever_else_is_on_the_path(fig3: Path) -> None:
    assert (
        fig3 / "figures/fig3.pdf"
    ).stat().st_size > 0  # trained with the edited penalties: no code-hash loop
    fig = fig3 / "src/matcomp/report/figures.py"
    saved = fig.read_text()
    fig.write_text(saved.replace("    set_theme()\n", "    raise RuntimeError('the checkout ran')\n", 1))
    try:
        proc = _smk(fig3, "--cores", "1", "figures/fig3.pdf", "--config", "scale=smoke", check=False)
    finally:
        fig.write_text(saved)
    assert proc.returncode != 0
    assert "the checkout ran" in (fig3 / "logs/figures/fig3.log").read_text()
    _smk(fig3, "--cores", "1", "figures/fig3.pdf", "--config", "scale=smoke")  # restored: builds again


# ---------------------------------------------------------------- 3. damaged cached results


def _fig3_results(work: Path) -> dict[str, Path]:
    cells = {
        p.relative_to(work / "results/cells").as_posix(): p for p in (work / "results/cells").rglob("*.json")
    }
    return {k: v for k, v in cells.items() if "/ratio/" in k and "r5_o2000" in k}


@pytest.mark.workflow
@pytest.mark.parametrize("damage", ["truncated json", "garbage npz", "swapped npz"])
def test_damaged_results_are_named_before_anything_is_deleted(fig3: Path, damage: str) -> None:
    ratio = _fig3_results(fig3)
    gd = next(p for k, p in ratio.items() if k.startswith("r5_o2000/gd/"))
    adam = next(p for k, p in ratio.items() if k.startswith("r5_o2000/adam/"))
    gd_npz = gd.with_name(gd.stem + ".trajectory.npz")
    saved = {p: p.read_bytes() for p in (gd, gd_npz)}
    pdf_before = (fig3 / "figures/fig3.pdf").read_bytes()
    if damage == "truncated json":
        os.truncate(gd, 2000)
        named, why = gd, "damaged JSON"
    elif damage == "garbage npz":
        gd_npz.write_bytes(os.urandom(len(saved[gd_npz])))
        named, why = gd_npz, "damaged trajectory file"
    else:
        shutil.copyfile(adam.with_name(adam.stem + ".trajectory.npz"), gd_npz)
        named, why = gd_npz, ""  # its size, or (of equal size) its owner: see the next test
    try:  # the damaged file is newer than the figure, so Snakemake would delete and rebuild the figure
        proc = _smk(fig3, "--cores", "1", "figures/fig3.pdf", "--config", "scale=smoke", check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0 and str(named.relative_to(fig3)) in out and why in out, out[-2000:]
        assert f"rm {gd.relative_to(fig3)} {gd_npz.relative_to(fig3)}" in out
        assert "Error in rule" not in out  # refused while planning, before any job
        assert (fig3 / "figures/fig3.pdf").read_bytes() == pdf_before  # the old figure is still there
    finally:
        for p, data in saved.items():
            p.write_bytes(data)


@pytest.mark.workflow
def test_a_truncated_ground_truth_file_is_named_while_planning(fig3: Path) -> None:
    """Issue 27.10: a truncated results/data/*.npz killed the training job with BadZipFile and no file name."""
    data = sorted((fig3 / "results/data").glob("*.npz"))[0]
    saved = data.read_bytes()
    try:
        data.write_bytes(saved[:500])
        proc = _smk(fig3, "-n", "figures/fig3.pdf", "--config", "scale=smoke", check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0 and "damaged ground-truth file" in out and "BadZipFile" in out, out[
            -2000:
        ]
        assert f"rm {data.relative_to(fig3)}" in out
    finally:
        data.write_bytes(saved)


@pytest.mark.workflow
def test_a_damage_only_a_job_can_see_is_named_on_the_console(fig3: Path) -> None:
    """A byte flip inside a trajectory (same size: planning's cheap check passes) stops the figure job on the
    checksum; its message reaches the console, not only logs/figures/fig3.log (issue 27.10)."""
    gd = next(p for k, p in _fig3_results(fig3).items() if k.startswith("r5_o2000/gd/"))
    npz = gd.with_name(gd.stem + ".trajectory.npz")
    saved = npz.read_bytes()
    try:
        flipped = bytearray(saved)
        flipped[-40] ^= 0xFF
        npz.write_bytes(bytes(flipped))
        proc = _smk(fig3, "--cores", "1", "figures/fig3.pdf", "--config", "scale=smoke", check=False)
        console = [line for line in (proc.stdout + proc.stderr).splitlines() if "checksum differs" in line]
        assert proc.returncode != 0 and console, proc.stderr[-2000:]
        assert "(traceback: logs/figures/fig3.log)" in console[0]
    finally:
        npz.write_bytes(saved)
        _smk(fig3, "--cores", "1", "figures/fig3.pdf", "--config", "scale=smoke")  # the figure again


def test_a_swapped_trajectory_of_equal_size_names_its_owner(tmp_path: Path) -> None:
    """Two optimizers' results share a file name (the optimizer is a folder): the npz names the job's path."""
    from matcomp.store import results

    arrays = {"d1/test_error": np.ones((2, 3))}
    planned = {
        opt: f"results/cells/r5_o2000/{opt}/ratio/lam0.01_0123456789.json" for opt in ("adamw", "nadam")
    }
    paths = {opt: tmp_path / path for opt, path in planned.items()}
    for opt, path in paths.items():
        results.write(path, {"job": {"path": planned[opt]}}, arrays)
    npz = results.trajectory_path(paths["nadam"])
    shutil.copyfile(results.trajectory_path(paths["adamw"]), npz)
    assert npz.stat().st_size == results.read(paths["adamw"])["trajectory"]["bytes"]  # the same size
    with pytest.raises(
        results.ResultFileError, match=r"belongs to results/cells/r5_o2000/adamw/.* not to .*/nadam/"
    ):
        results.check(paths["nadam"])


@pytest.mark.workflow
def test_the_figure_job_itself_refuses_a_swapped_trajectory(fig3: Path, tmp_path: Path) -> None:
    """Readers check the checksum too (a file damaged after planning): the error names the file."""
    from matcomp.store import results

    ratio = _fig3_results(fig3)
    gd = next(p for k, p in ratio.items() if k.startswith("r5_o2000/gd/"))
    doc = results.read(gd)  # fine as built
    copy = tmp_path / gd.relative_to(fig3)
    results.copy(gd, copy)
    npz = results.trajectory_path(copy)
    data = bytearray(npz.read_bytes())
    data[-40] ^= 0xFF  # same size, same zip directory: only the checksum can tell
    npz.write_bytes(bytes(data))
    with pytest.raises(results.ResultFileError, match="checksum differs"):
        results.load_trajectory(copy, doc["cells"][0]["depth"])


@pytest.mark.workflow
def test_a_number_edited_in_a_result_is_refused(fig3: Path, tmp_path: Path) -> None:
    """Issue 27.3: a hand-edited final test error (the JSON's numbers are not under the npz's checksum)
    disagrees with the trajectory's last point, and every reader refuses the file, naming seed and value."""
    import json

    from matcomp.store import results

    adam = next(p for k, p in _fig3_results(fig3).items() if k.startswith("r5_o2000/adam/"))
    copy = tmp_path / adam.relative_to(fig3)
    results.copy(adam, copy)
    results.read(copy)  # a faithful copy reads
    doc = json.loads(copy.read_text())
    doc["cells"][0]["runs"][0]["test_error"] = 1e-8
    copy.write_text(json.dumps(doc))
    with pytest.raises(
        results.ResultFileError, match=r"records test_error 1e-08, but its trajectory ends at"
    ):
        results.read(copy)


# ---------------------------------------------------------------- 4. overwrites and other surprises


@pytest.mark.workflow
def test_a_device_change_that_moves_no_job_reruns_nothing(fig3: Path) -> None:
    proc = _smk(fig3, "-n", "figures/fig3.pdf", "--config", "scale=smoke", "device=cpu")
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.workflow
def test_results_honour_the_umask(fig3: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    data = sorted((fig3 / "results/data").glob("*.npz"))  # issue 27.12: ground truth was always 0600
    assert data
    for path in [*_fig3_results(fig3).values(), fig3 / "figures/fig3.pdf", *data]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path  # not mkstemp's 0600


def test_atomic_writes_honour_another_umask(tmp_path: Path) -> None:
    from matcomp.store.io import write_json

    old = os.umask(0o077)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o600
    write_json(tmp_path / "b.json", {"x": 1})
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o666 & ~old


def test_clean_scans_packs(tmp_path: Path) -> None:
    from matcomp.plan.stale import stale_files

    old = tmp_path / "results/packs/pack_0123456789/results/cells/x.json"
    old.parent.mkdir(parents=True)
    old.write_text('{"job": {"path": "results/cells/x.json"}}')  # a result's copy: it names its job
    assert stale_files(tmp_path, _raw(), ["smoke"]) == [old.relative_to(tmp_path).as_posix()]


def test_clean_keeps_either_placement_and_any_movielens_folder(tmp_path: Path) -> None:
    """Issue 27.4: after `--config gpus=true` a plain `clean --stale --delete` deleted every GPU-placed cell
    and the pack, and listed the MovieLens results of a movielens_dir run; only other code's are stale."""
    import json

    from matcomp.plan.config import load
    from matcomp.plan.jobs import training_jobs
    from matcomp.plan.stale import stale_with_reasons
    from matcomp.store.codehash import code_info

    gpu = [p for p, j in training_jobs(load({**_raw(), "scale": "smoke", "gpus": True})).items()
           if j.placement == "gpu"]  # fmt: skip
    assert gpu
    ours = "results/movielens/lnn/adam/split90_s0_aaaaaaaaaa.json"
    other = "results/movielens/lnn/adam/split90_s0_bbbbbbbbbb.json"
    for rel, code in ((gpu[0], None), (ours, code_info("movielens")), (other, {"hash": "0123456789"})):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(json.dumps({"code": code}))
    found = dict(stale_with_reasons(tmp_path, _raw(), ["smoke"]))
    assert found == {other: "a MovieLens result of other MovieLens code (or unreadable)"}


def test_movielens_data_checks(tmp_path: Path) -> None:
    from matcomp.movielens.data import MovieLensDataError, load_ratings, make_synthetic_ml100k, verify_ml100k

    ml = make_synthetic_ml100k(tmp_path / "ml-100k", 20, 30, seed=0)
    with pytest.raises(MovieLensDataError, match="movielens_verify: false"):
        verify_ml100k(ml)  # not the official file: the message names both fixes
    lines = (ml / "u.data").read_text().splitlines()
    lines[3] = "\t".join([*lines[3].split("\t")[:2], "7", "0"])
    (ml / "u.data").write_text("\n".join(lines) + "\n")
    with pytest.raises(MovieLensDataError, match=r"line 4: rating 7 outside MovieLens' 1\.\.5"):
        load_ratings(ml)


@pytest.mark.parametrize(
    ("extra", "info", "message"),
    [(["{u}\t{i}\t1\t0"] * 3, "", r"3 repeated \(user, item\) pairs \(first at line 301"),
     (["50000000\t3\t4\t0"], "", r"line 301: user id 50000000 exceeds the 301 ratings"),
     (["25\t3\t4\t0"], "20 users\n30 items\n", r"line 301: user id 25 exceeds u.info's 20 users")],
)  # fmt: skip
def test_movielens_ids_and_repeated_pairs(tmp_path: Path, extra: list[str], info: str, message: str) -> None:
    """Issue 27.15: 300 conflicting repeats of rated pairs built Table 2 without a word; a user id of 5·10⁷
    asked for a ~32 GB dense matrix."""
    from matcomp.movielens.data import MovieLensDataError, load_ratings, make_synthetic_ml100k

    ml = make_synthetic_ml100k(tmp_path / "ml-100k", 20, 30, seed=0)
    lines = (ml / "u.data").read_text().splitlines()
    u, i = lines[0].split("\t")[:2]
    (ml / "u.data").write_text("\n".join([*lines, *(e.format(u=u, i=i) for e in extra)]) + "\n")
    if info:
        (ml / "u.info").write_text(info)
    with pytest.raises(MovieLensDataError, match=message):
        load_ratings(ml)


def test_an_unwritable_output_folder_is_one_clear_message(tmp_path: Path) -> None:
    from matcomp.store.io import OutputFolderError, write_json

    folder = tmp_path / "tables"
    folder.mkdir()
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        with pytest.raises(
            OutputFolderError, match=rf"cannot write {folder}/t.json: the folder {folder} is not writable"
        ):
            write_json(folder / "t.json", {})
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.workflow
@pytest.mark.parametrize("folder", ["results/tables", "logs/figures"])
def test_an_unwritable_output_folder_stops_snakemake_before_any_job(fig3: Path, folder: str) -> None:
    """At any depth (issue 27.11: an immutable logs/tables crashed Snakemake after it deleted table1.*)."""
    tables = fig3 / folder
    tables.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["chattr", "+i", str(tables)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        proc = _smk(fig3, "-n", "figures/fig3.pdf", "--config", "scale=smoke", check=False)
    finally:
        subprocess.run(["chattr", "-i", str(tables)], check=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and f"the output folder {folder} is not writable" in out
    assert f"chattr -i {folder}" in out and "Traceback" not in out


def test_the_workflow_refuses_a_typo_before_any_job(tmp_path: Path) -> None:
    work = _copy_checkout(tmp_path / "w")
    proc = _smk(work, "-n", "--config", "scal=smoke", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "config key 'scal' is not a setting; did you mean 'scale'?" in out
    assert not (work / "results").exists()


def test_repeated_seeds_and_an_overlay_lam_over_lams_are_refused(capsys) -> None:
    """Issue 27.1-2: seeds [0, 0] gave n_seeds 2 and sd 0; an overlay's lam over a base's lams was ignored."""
    from matcomp.cli import main

    raw = _raw()
    with pytest.raises(ConfigError, match=r"config key 'seeds': \[0, 0\] has non-unique elements"):
        load({**raw, "seeds": [0, 0]})
    overlay = {
        **raw,
        "experiments": {**raw["experiments"], "fig3": {**raw["experiments"]["fig3"], "lam": 0.05}},
    }
    with pytest.raises(ConfigError, match="'experiments.fig3': both lam .* e.g. lams: \\[0.05\\]"):
        load(overlay)
    assert main(["train", "--seeds", "0", "0", "--max-iters", "1", "--out", "x.json", "--quiet"]) == 2
    assert "--seeds must be distinct, got [0, 0]" in capsys.readouterr().err


def test_the_cli_names_an_inexact_exponent(tmp_path: Path) -> None:
    """`matcomp train --penalty schatten:0.0001` raised ZeroDivisionError (issue 27.8): now one line."""
    proc = subprocess.run(
        [sys.executable, "-m", "matcomp.cli", "train", "--penalty", "schatten:0.0001", "--out", str(tmp_path / "c.json")],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "1/10000 exactly" in proc.stderr and not (tmp_path / "c.json").exists()


@pytest.mark.parametrize("schedule", ["log:0", "log:1", "every:0"])
def test_a_log_schedule_that_cannot_run_is_refused_when_planning(schedule: str) -> None:
    """`log: "log:0"` passed `matcomp config` and failed inside the training job (issue 27.7)."""
    from matcomp.plan.config import ConfigError, load, read_yaml

    raw = read_yaml(ROOT / "config.yaml")
    with pytest.raises(ConfigError, match=f"'{schedule}' is not a log schedule: 'every:K'"):
        load({**raw, "scale": "smoke", "train": {**raw["train"], "log": schedule}})


@pytest.mark.parametrize(
    ("overlay", "message"),
    [({"scales": {"smok": {"seeds": [0, 1]}}}, r"'scales.smok': a scale nothing selects .* did you mean scales.smoke\?"),
     ({"experiments": {"fig33": {"lam": 0.05}}}, r"'experiments.fig33': not an experiment .* did you mean 'fig3'\?"),
     ({"scales": {"quick": {"experiments": {"fig33": {"lam": 0.05}}}}},
      r"'scales.quick.experiments.fig33': not an experiment .* did you mean 'fig3'\?")],
)  # fmt: skip
def test_a_misspelt_scale_or_experiment_in_an_overlay_is_named(overlay: dict, message: str) -> None:
    """Issue 27.9: `scales: {smok: …}` was a new scale nothing selects (the override never applied) and
    `fig33` got "'kind' is a required property"; a scale of one's own with a distinct name still works."""
    from matcomp.plan.config import ConfigError, deep_merge, load, read_yaml

    raw = read_yaml(ROOT / "config.yaml")
    with pytest.raises(ConfigError, match=message):
        load({**deep_merge(raw, overlay), "scale": "smoke"})
    mine = deep_merge(raw, {"scales": {"tiny": {"seeds": [0], "train": {"max_iters": 5}}}})
    assert load({**mine, "scale": "smoke"})["scale"] == "smoke"
    assert load({**mine, "scale": "tiny"})["train"]["max_iters"] == 5


def test_a_result_named_other_than_json_is_refused_before_training(tmp_path: Path) -> None:
    """Issue 27.6: `--out c.txt` beside c.json overwrote c.trajectory.npz, and c.json failed its checksum."""
    from matcomp.cli import main
    from matcomp.store import results

    assert main(["train", "--max-iters", "5", "--quiet", "--out", str(tmp_path / "c.json")]) == 0
    before = results.trajectory_path(tmp_path / "c.json").read_bytes()
    assert main(["train", "--max-iters", "5", "--quiet", "--out", str(tmp_path / "c.txt")]) == 2
    assert results.trajectory_path(tmp_path / "c.json").read_bytes() == before
    results.read(tmp_path / "c.json")
    with pytest.raises(ValueError, match="overwrite the trajectories of c.json"):
        results.write(tmp_path / "c.txt", {}, {"x": np.zeros(1)})


def test_a_number_yaml_reads_as_text_is_the_number(tmp_path: Path) -> None:
    """Issue 27.13: `lr: 1e-3` (a string to YAML 1.1, as is `--config lr=1e-3`) got "'1e-3' is not of type
    'number'"; it is the number it spells, in lists too; text that is no number still names the key."""
    from matcomp.plan.config import ConfigError, deep_merge, load, read_yaml

    raw = read_yaml(ROOT / "config.yaml")
    overlay = {"train": {"lr": "1e-3"}, "experiments": {"fig3": {"lams": ["0", "1e-2"]}}}
    eff = load({**deep_merge(raw, overlay), "scale": "smoke"})
    assert eff["train"]["lr"] == 1e-3 and eff["experiments"]["fig3"]["lams"] == [0.0, 0.01]
    with pytest.raises(ConfigError, match="'train.lr': 'abc' is not of type 'number'"):
        load({**deep_merge(raw, {"train": {"lr": "abc"}}), "scale": "smoke"})


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--seeds", "-1"], r"--seeds must be integers >= 0, got \[-1\]"), (["--lr", "-1"], "lr must be > 0, got -1.0"),
     (["--init-std", "0", "--tol", "-1"], "init_std must be > 0, got 0.0; tol must be >= 0, got -1.0"),
     (["--width", "0"], "width must be >= 1")],
)  # fmt: skip
def test_each_bad_training_number_is_named(tmp_path: Path, capsys, args: list[str], message: str) -> None:
    """Issue 27.14: `--seeds -1` gave numpy's "expected non-negative integer"; --lr/--init-std/--tol shared one
    message; --width 0 was accepted."""
    from matcomp.cli import main

    assert main(["train", *args, "--quiet", "--max-iters", "3", "--out", str(tmp_path / "c.json")]) == 2
    assert re.search(message, capsys.readouterr().err) and not (tmp_path / "c.json").exists()


def test_a_job_refuses_to_make_an_output_another_process_is_making(tmp_path: Path) -> None:
    """Issue 27.16: after a SIGKILL to Snakemake its orphaned training job runs on, and the rerun trained the
    same job beside it; now the second one stops at once, naming the holder (the lock dies with it)."""
    from matcomp.jobs.train import train_job
    from matcomp.store.io import sole_maker

    out = tmp_path / "c.json"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom matcomp.store.io import sole_maker\n"
         f"with sole_maker([{str(out)!r}]):\n    print('held', flush=True)\n    time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RuntimeError, match=rf"another process \(pid {holder.pid}\) is already making"):
            train_job({}, [], str(out))
    finally:
        holder.kill()
        holder.wait()
    with sole_maker([out]):  # released with its holder's death
        pass


def test_an_edited_cli_result_is_refused_and_a_diverged_one_is_not(tmp_path: Path) -> None:
    """The final-row check on `matcomp train` results too; a diverged seed (NaN recorded, the zero matrix it
    stands in for logged) is no edit."""
    import json

    from matcomp.cli import main
    from matcomp.store import results

    assert main(["train", "--max-iters", "20", "--quiet", "--out", str(tmp_path / "ok.json")]) == 0
    assert main(["train", "--optimizer", "gd", "--lr", "50", "--depth", "3", "--max-iters", "300", "--quiet",
                 "--out", str(tmp_path / "dv.json")]) == 0  # fmt: skip
    assert {r["stop_reason"] for r in results.read(tmp_path / "dv.json")["runs"]} == {"diverged"}
    doc = json.loads((tmp_path / "ok.json").read_text())
    doc["runs"][0]["effective_rank"] = 5.0
    (tmp_path / "ok.json").write_text(json.dumps(doc))
    with pytest.raises(results.ResultFileError, match="records effective_rank 5.0, but its trajectory ends"):
        results.read(tmp_path / "ok.json")


def test_the_cli_sets_gd_momentum_and_refuses_one(tmp_path: Path, capsys) -> None:
    """`--gd-momentum` (issue 28: the CLI lacked the setting) is recorded; momentum 1 never decays and is refused."""
    from matcomp.cli import main
    from matcomp.store import results

    out = tmp_path / "m.json"
    assert main(["train", "--optimizer", "gd_momentum", "--gd-momentum", "0", "--max-iters", "5", "--quiet",
                 "--out", str(out)]) == 0  # fmt: skip
    assert results.read(out)["settings"]["gd_momentum"] == 0.0
    assert main(["train", "--gd-momentum", "1", "--max-iters", "5", "--quiet", "--out", str(out)]) == 2
    assert "gd_momentum must be in [0, 1), got 1.0" in capsys.readouterr().err


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    """config.yaml's quick overlay had `fig8:` twice, and YAML kept the second: Figure 8's 20 000-iteration
    budget silently became 1 500. A repeated key is now an error naming its line, in Snakemake too."""
    from matcomp.plan.config import ConfigError, load, read_yaml

    assert load({**read_yaml(ROOT / "config.yaml"), "scale": "quick"})["experiments"]["fig8"]["train"] == {
        "max_iters": 20000
    }
    dup = tmp_path / "dup.yaml"
    dup.write_text(
        "scales:\n  quick:\n    experiments:\n      fig8: {lam: 0.01}\n      fig8: {n_obs_grid: [3000]}\n"
    )
    with pytest.raises(ConfigError, match=r"line 5, column 7: .*key 'fig8' is given twice"):
        read_yaml(dup)
    work = _copy_checkout(tmp_path / "w")
    proc = _smk(work, "-n", "--configfile", str(dup), "--config", "scale=smoke", check=False)
    assert proc.returncode != 0 and "key 'fig8' is given twice" in proc.stdout + proc.stderr


def test_clean_lists_only_what_the_pipeline_made_and_never_the_named_data(tmp_path: Path) -> None:
    """Issue 35.5-7: a user's README, notes and own matrix beside the results, a hand-made JSON with a
    hash-like name, and the MovieLens data a config names are not ours; --delete refuses while a run goes."""
    from matcomp.cli import main
    from matcomp.plan.stale import NOT_OURS, stale_with_reasons

    ours = tmp_path / "results/cells/r5_o2000/gd/none/lam0_0123456789.json"
    ours.parent.mkdir(parents=True)
    ours.write_text('{"job": {"path": "results/cells/r5_o2000/gd/none/lam0_0123456789.json"}, "cells": []}')
    user = {"results/cells/README.md": "my notes", "results/data/my_own_matrix.npz": "x",
            "results/cells/r5_o2000/gd/none/lam0_abcdef0123.json": '{"mine": true}',
            "results/data/ml-100k/u.data": "1\t1\t5\t0", "results/data/ml-100k/u.item": "1|x"}  # fmt: skip
    for rel, text in user.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = dict(stale_with_reasons(tmp_path, _raw(movielens_dir="results/data/ml-100k"), ["smoke"]))
    assert found[ours.relative_to(tmp_path).as_posix()] != NOT_OURS
    assert all(found.get(rel) == NOT_OURS for rel in list(user)[:3])
    assert not any("ml-100k" in rel for rel in found)  # the data the config names is never listed
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    (tmp_path / ".snakemake/locks").mkdir(parents=True)
    (tmp_path / ".snakemake/locks/0.input.lock").write_text("")
    args = ["clean", "--stale", "--delete", "--directory", str(tmp_path), "--scale", "smoke"]
    assert main(args) == 2 and ours.exists()  # a run is going: nothing removed
    (tmp_path / ".snakemake/locks/0.input.lock").unlink()
    assert main(args) == 0 and not ours.exists()
    assert all((tmp_path / rel).exists() for rel in user)


def test_train_never_overwrites_what_is_not_its_result(tmp_path: Path) -> None:
    """Issue 35.8: --out notes.json over the user's notes, --out t2.json beside an unrelated t2.trajectory.npz."""
    from matcomp.cli import main

    notes, traj = tmp_path / "notes.json", tmp_path / "t2.trajectory.npz"
    notes.write_text("my notes")
    traj.write_bytes(b"unrelated")
    base = ["train", "--optimizer", "gd", "--max-iters", "3", "--quiet", "--out"]
    assert main([*base, str(notes)]) == 2 and notes.read_text() == "my notes"
    assert main([*base, str(tmp_path / "t2.json")]) == 2 and traj.read_bytes() == b"unrelated"
    run = tmp_path / "run.json"
    assert (
        main([*base, str(run)]) == 0 and main([*base, str(run)]) == 0
    )  # its own result: a rerun replaces it
    assert main([*base, str(notes), "--force"]) == 0 and "settings" in notes.read_text()


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "my fig", "../claims", ""])
def test_an_experiment_name_is_a_plain_identifier(name: str) -> None:
    """Issue 35.2: a name is part of file names; '../../escaped' once wrote figures outside the checkout."""
    raw = _raw(scale="smoke")
    raw["experiments"] = {**raw["experiments"], name: raw["experiments"]["fig1"]}
    with pytest.raises(ConfigError, match="letters, digits and underscores"):
        load(raw)
    raw = _raw(scale="smoke")
    raw["readings"] = {**raw["readings"], name: {"train": {"init": "layer"}, "experiments": ["fig1"]}}
    with pytest.raises(ConfigError, match="letters, digits and underscores"):
        load(raw)


def test_what_the_user_sets_wins_over_the_scale(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Issue 35.1: `--config scale=smoke 'seeds=[1,2]'` once printed seeds [0], and an overlay's seeds and
    max_iters lost to the scale's: config.yaml < the scale's overlay < what the user set."""
    from matcomp.cli import main

    base = _raw()
    typed = {**base, "scale": "smoke", "seeds": [1, 2], "train": {**base["train"], "max_iters": 50}}
    eff = load(typed, base=base)
    assert eff["seeds"] == [1, 2] and eff["train"]["max_iters"] == 50 and eff["train"]["log"] == "every:10"
    assert load({**base, "scale": "smoke"}, base=base)["seeds"] == [0]  # nothing typed: the scale's
    overlay = tmp_path / "over.yaml"
    overlay.write_text("seeds: [1, 2]\ntrain:\n  max_iters: 50\n")
    assert (
        main(["config", "--directory", str(ROOT), "--configfile", str(overlay), "--config", "scale=smoke"])
        == 0
    )
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["seeds"] == [1, 2] and printed["train"]["max_iters"] == 50


# ---------------------------------------------------------------- issue 35, third pass: 3-4 and 9-18


@pytest.fixture(scope="module")
def fresh_fig3(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """A checkout copy (with the step table) where Figure 3 alone was built at scale smoke: (it, the run)."""
    work = _copy_checkout(tmp_path_factory.mktemp("fresh") / "work")
    (work / "benchmarks").mkdir()
    shutil.copy2(ROOT / "benchmarks/cost_scale_cpu.json", work / "benchmarks")
    return work, _smk(work, "--cores", "2", "figures/fig3.pdf", "--config", "scale=smoke")


@pytest.mark.workflow
def test_the_start_up_plan_counts_the_jobs_this_run_runs(fresh_fig3) -> None:
    """Item 4: a one-target run announces its own 4 training jobs, not the config's 130-odd."""
    work, proc = fresh_fig3
    out = proc.stdout + proc.stderr
    planned = re.search(r"planned: (\d+) training jobs to run for these targets \((\d+) in the config\)", out)
    assert planned, out[-3000:]
    assert int(planned.group(1)) == 4 < int(planned.group(2))
    lefts = [int(n) for n in re.findall(r"\((\d+) (?:to run|training jobs and)", out)]
    assert lefts and max(lefts) <= 4, lefts


def _rm_advice(text: str) -> list[str]:
    advice = re.search(r"rm ([^\n]+)", text)
    assert advice, text[-3000:]
    return advice.group(1).split()


@pytest.mark.workflow
@pytest.mark.parametrize("how", ["trajectory removed", "result and trajectory removed by hand"])
def test_a_removed_result_is_made_again_and_its_products_rebuilt(
    fresh_fig3, tmp_path: Path, how: str
) -> None:
    """Item 3: following the advice (or deleting a result by hand) leads to the cell being trained again and
    the table rebuilt, never to "Nothing to be done" over a table that names a missing file."""
    work = shutil.copytree(fresh_fig3[0], tmp_path / "work", symlinks=True)
    cell = sorted(p.relative_to(work) for p in (work / "results/cells").rglob("*.json"))[0]
    traj = work / results.trajectory_path(str(cell))
    traj.unlink()
    if how != "trajectory removed":
        (work / cell).unlink()
    refused = _smk(work, "--cores", "2", "figures/fig3.pdf", "--config", "scale=smoke", check=False)
    assert refused.returncode != 0
    advice = _rm_advice(refused.stdout + refused.stderr)
    assert {"results/tables/fig3.csv", "figures/fig3.pdf"} <= set(advice)
    assert all(a.startswith(("results/", "figures/")) for a in advice)  # only what the pipeline made
    for name in advice:
        (work / name).unlink(missing_ok=True)
    rerun = _smk(work, "--cores", "2", "figures/fig3.pdf", "--config", "scale=smoke")
    assert "Nothing to be done" not in rerun.stdout + rerun.stderr
    assert (work / cell).is_file() and traj.is_file()
    table = work / "results/tables/fig3.csv"
    assert str(cell) in table.read_text() and table.stat().st_mtime >= (work / cell).stat().st_mtime


def _unwritable(folder: Path) -> None:
    """``folder`` made unwritable for this user: read-only, or immutable for root (whom modes do not stop)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return
    proc = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"root cannot make {folder} unwritable here: {proc.stderr.strip()}")


def _writable(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    folder.chmod(0o755)


@pytest.mark.workflow
def test_a_read_only_checkout_is_named_with_the_command_that_runs_elsewhere(tmp_path: Path) -> None:
    """Item 9: a read-only checkout is one message (not Snakemake's traceback on .snakemake) that says how
    to run in another folder, and that command works."""
    work = _copy_checkout(tmp_path / "ro")
    _unwritable(work)
    try:
        proc = _smk(work, "-n", "--config", "scale=smoke", check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0 and "is not writable" in out and "Traceback" not in out, out[-2000:]
        advice = re.search(r"snakemake (--directory \S+ --snakefile \S+ --configfile \S+)", out)
        assert advice, out[-2000:]
        args = advice.group(1).replace("/some/writable/folder", str(tmp_path / "elsewhere")).split()
        (tmp_path / "elsewhere").mkdir()
        _smk(
            tmp_path, "--cores", "1", *args, "--config", "scale=smoke", "--", "results/config.effective.yaml"
        )
        assert (tmp_path / "elsewhere/results/config.effective.yaml").is_file()
        assert not (work / ".snakemake").exists()
    finally:
        _writable(work)


@pytest.mark.parametrize(("content", "named"), [(b"", "is empty"), (b"# only a comment\n", "is empty"),
                                                (b"\x7fELF\x02\x01\x01\xd0\xff", "not UTF-8 text")])  # fmt: skip
def test_an_empty_or_binary_config_file_is_named(tmp_path: Path, content: bytes, named: str) -> None:
    """Item 10: `matcomp config` names the file and what is wrong (Snakemake reads --configfile before the
    workflow runs, so its own message cannot be changed: README says to check an overlay this way)."""
    bad = tmp_path / "overlay.yaml"
    bad.write_bytes(content)
    with pytest.raises(ConfigError, match=rf"{re.escape(str(bad))}.*{named}"):
        read_config(ROOT / "config.yaml", [bad])
    proc = subprocess.run([sys.executable, "-m", "matcomp.cli", "config", "--configfile", str(bad)], cwd=ROOT,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode != 0 and str(bad) in proc.stderr and named in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.workflow
def test_a_file_in_place_of_a_result_folder_is_named_before_any_job(tmp_path: Path) -> None:
    """Item 11: not Snakemake's NotADirectoryError traceback; the message names the path and moves nothing."""
    work = _copy_checkout(tmp_path / "work")
    blocker = work / "results/cells/r5_o2000/adam"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("the user's notes")
    proc = _smk(work, "-n", "figures/fig3.pdf", "--config", "scale=smoke", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "NotADirectoryError" not in out
    assert "results/cells/r5_o2000/adam is a file where the workflow keeps a folder" in out, out[-2000:]
    assert "mv results/cells/r5_o2000/adam results/cells/r5_o2000/adam.moved" in out
    assert blocker.read_text() == "the user's notes"


@pytest.mark.workflow
def test_a_ground_truth_file_dated_next_year_is_named_with_a_touch_that_reruns_nothing(fresh_fig3, tmp_path):
    """Item 12: not "Nothing to be done" then a clock-skew error deleting a new result: refused while
    planning, and the advised touch leaves every result up to date."""
    work = shutil.copytree(fresh_fig3[0], tmp_path / "work", symlinks=True)
    data = sorted((work / "results/data").glob("*.npz"))[0]
    os.utime(data, (time.time() + 365 * 86400,) * 2)
    proc = _smk(work, "-n", "figures/fig3.pdf", "--config", "scale=smoke", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "dated in the future" in out and data.name in out, out[-2000:]
    touch = re.search(r"(touch -d @\d+ [^\n;]+)", out)
    assert touch, out[-2000:]
    subprocess.run(touch.group(1), shell=True, cwd=work, check=True)  # noqa: S602 - the advice, verbatim
    assert "Nothing to be done" in _smk(work, "-n", "figures/fig3.pdf", "--config", "scale=smoke").stdout


@pytest.mark.workflow
def test_a_comment_or_a_date_on_a_workflow_script_reruns_nothing_an_edit_does(fresh_fig3, tmp_path) -> None:
    """Item 13: the code hash (comments and docstrings left out) decides reruns, not the script's file time."""
    work = shutil.copytree(fresh_fig3[0], tmp_path / "work", symlinks=True)
    script = work / "workflow/scripts/train.py"
    script.write_text(script.read_text() + "\n# a comment\n")
    os.utime(script, (time.time() + 365 * 86400,) * 2)  # and dated next year (a clock ahead)
    dry = _smk(work, "-n", "figures/fig3.pdf", "--config", "scale=smoke")
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-2000:]
    script.write_text(script.read_text() + "\n_EDITED = True\n")  # a statement: what runs has changed
    dry = _smk(work, "-n", "figures/fig3.pdf", "--config", "scale=smoke")
    assert re.search(r"train\s+4\b", dry.stdout), dry.stdout[-2000:]


@pytest.mark.workflow
def test_the_slurm_profile_without_slurm_says_what_is_missing_before_any_job(tmp_path: Path) -> None:
    """Item 14: not "No such file or directory: 'sacct'" a minute in: named at the start, no job submitted."""
    work = _copy_checkout(tmp_path / "work")
    bin_dir = tmp_path / "bin"  # this PATH's commands, less SLURM's
    bin_dir.mkdir()
    for folder in [Path(sys.executable).parent, *map(Path, os.environ["PATH"].split(os.pathsep))]:
        for tool in folder.glob("*") if folder.is_dir() else ():
            if tool.name not in ("sbatch", "sacct", "squeue", "sinfo") and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    start = time.monotonic()
    proc = _smk(work, "--workflow-profile", "profiles/slurm", "--config", "scale=smoke", "--",
                "results/config.effective.yaml", env={"PATH": str(bin_dir)}, check=False)  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "cannot submit to SLURM" in out and "sbatch" in out, out[-2000:]
    assert time.monotonic() - start < 45 and not (work / "results/config.effective.yaml").exists()


def test_a_slurm_controller_that_does_not_answer_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from matcomp.plan import cluster

    for tool in cluster.SLURM_TOOLS:  # every command there, sinfo failing as without slurmctld
        (tmp_path / tool).write_text(
            "#!/bin/sh\necho 'sinfo: error: Unable to contact slurm controller' >&2\nexit 1\n"
        )
        (tmp_path / tool).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "Unable to contact slurm controller" in cluster.slurm_problem()
    (tmp_path / "sbatch").unlink()
    assert "sbatch are not on PATH" in cluster.slurm_problem()


@pytest.mark.workflow
def test_a_lock_folder_another_user_made_is_named_before_any_job(tmp_path: Path) -> None:
    """Item 15: a $TMPDIR/matcomp-locks this user cannot write is one message naming it, not a raw OSError
    in every job; one the workflow makes is shared (1777, as /tmp)."""
    work = _copy_checkout(tmp_path / "work")
    ours = tmp_path / "ours"
    ours.mkdir()
    _smk(work, "-n", "figures/fig3.pdf", "--config", "scale=smoke", env={"TMPDIR": str(ours)})
    assert stat.S_IMODE((ours / "matcomp-locks").stat().st_mode) == 0o1777
    theirs = tmp_path / "theirs"
    (theirs / "matcomp-locks").mkdir(parents=True)
    (theirs / "matcomp-locks").chmod(0o755)
    _unwritable(theirs / "matcomp-locks")  # as another user's 755 folder is to us
    try:
        proc = _smk(work, "-n", "figures/fig3.pdf", "--config", "scale=smoke", env={"TMPDIR": str(theirs)},
                    check=False)  # fmt: skip
    finally:
        _writable(theirs / "matcomp-locks")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and f"{theirs}/matcomp-locks cannot be written" in out, out[-2000:]
    assert "export TMPDIR" in out


@pytest.mark.workflow
@pytest.mark.parametrize(
    ("target", "scale", "said"),
    [("results/tables/table1_gesvda.csv", "smoke", "experiment table1_gesvda is disabled (enabled: false"),
     ("figures/fig3@mean.pdf", "quick", "reading mean does not rerun fig3 at scale quick: add fig3 to")],
)  # fmt: skip
def test_a_target_this_config_does_not_plan_says_how_to_plan_it(tmp_path: Path, target, scale, said) -> None:
    """Item 16: not "No rule to produce figures/fig3.pdf"."""
    work = _copy_checkout(tmp_path / "work")
    proc = _smk(work, "-n", target, "--config", f"scale={scale}", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "No rule to produce" not in out and said in out, out[-2000:]


def test_train_gives_rm_advice_only_for_a_file_named_as_the_workflow_names_its_data(tmp_path: Path) -> None:
    """Item 17: `matcomp train --data /etc/passwd` is refused without "rm /etc/passwd"."""
    notes = tmp_path / "notes.txt"
    notes.write_text("the user's own file\n")
    ours = tmp_path / "results/data/m100_n100_r5_o2000_s0_3bc9e93ee5.npz"
    ours.parent.mkdir(parents=True)
    ours.write_text("truncated")
    for data, advised in ((notes, False), (ours, True)):
        proc = subprocess.run([sys.executable, "-m", "matcomp.cli", "train", "--data", str(data), "--max-iters", "2",
                               "--out", str(tmp_path / "r.json")], capture_output=True, text=True)  # fmt: skip
        assert proc.returncode != 0 and "not a matcomp problem file" in proc.stderr
        assert (f"rm {data}" in proc.stderr) is advised, proc.stderr
    assert notes.read_text() == "the user's own file\n"


def test_a_depth_far_beyond_the_papers_and_a_width_below_the_rank_each_get_a_note(tmp_path: Path) -> None:
    """Item 18: a one-line note each (from `matcomp config` and the workflow's planning); none for the
    shipped scales."""
    from matcomp.plan.config import notes

    for scale in ("paper", "decide", "quick", "smoke"):
        assert notes(load(read_config(ROOT / "config.yaml", overrides={"scale": scale}))) == []
    overlay = tmp_path / "deep.yaml"
    overlay.write_text("experiments:\n  fig3: {depths: [1, 1000]}\n  fig6: {train: {width: 4}}\n")
    said = notes(
        load(
            read_config(ROOT / "config.yaml", [overlay], {"scale": "smoke"}), read_yaml(ROOT / "config.yaml")
        )
    )
    assert any(s.startswith("experiments.fig3: depth 1000 is far beyond") for s in said), said
    assert any(s.startswith("experiments.fig6: width 4 is below the rank 10") for s in said), said
    proc = subprocess.run([sys.executable, "-m", "matcomp.cli", "config", "--directory", str(ROOT), "--configfile",
                           str(overlay), "--config", "scale=smoke"], capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0 and "note: experiments.fig3: depth 1000" in proc.stderr, proc.stderr


def test_a_result_the_plan_no_longer_reads_is_not_an_orphan(tmp_path: Path) -> None:
    """Item 3's check flags only a result the plan still reads: one of older code, removed by `matcomp clean`,
    changes the table's inputs, and Snakemake remakes the table by itself."""
    from matcomp.plan import orphans

    table = tmp_path / "results/tables/fig3.csv"
    table.parent.mkdir(parents=True)
    table.write_text("experiment,file\nfig3,results/cells/old.json\nfig3,results/cells/now.json\n")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures/fig3.pdf").write_text("pdf")
    found = orphans.orphaned(tmp_path, {"fig3": ["results/cells/now.json"]})
    assert found == {"fig3": (["results/cells/now.json"], ["results/tables/fig3.csv", "figures/fig3.pdf"])}
    (tmp_path / "results/cells").mkdir()
    (tmp_path / "results/cells/now.json").write_text("{}")
    assert orphans.orphaned(tmp_path, {"fig3": ["results/cells/now.json"]}) == {}  # old.json: not planned
