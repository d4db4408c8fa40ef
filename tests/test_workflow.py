"""The Snakemake workflow: DAG at paper scale, a real smoke run, partial reruns, killed jobs, bad configs.

The smoke run happens once per session in a scratch working directory (``--directory``), so the checkout's
``results/`` is never touched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from matcomp.plan.config import load
from matcomp.plan.jobs import experiment_cells, training_jobs

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
pytestmark = pytest.mark.workflow


def _config(**overrides) -> dict:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    for dotted, value in overrides.items():
        node = cfg
        *parents, last = dotted.split(".")
        for p in parents:
            node = node[p]
        node[last] = value
    return cfg


def smk(workdir: Path, *args: str, config: dict | None = None, timeout: int = 1500, check: bool = True):
    """Run snakemake in ``workdir`` against this checkout's Snakefile (config from ``workdir/config.yaml``)."""
    cfgfile = workdir / "config.yaml"
    if config is not None or not cfgfile.exists():
        cfgfile.write_text(yaml.safe_dump(config if config is not None else _config()))
    proc = subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), "--configfile", str(cfgfile), *args],
        capture_output=True, text=True, timeout=timeout, cwd=workdir,
    )  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc


def dry_jobs(workdir: Path, *args: str, config: dict | None = None) -> dict[str, list[str]]:
    """rule -> outputs of the jobs a dry run would execute."""
    proc = smk(workdir, "-n", "--printshellcmds", *args, config=config)
    jobs: dict[str, list[str]] = {}
    rule = None
    for line in proc.stdout.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):", line.strip()):
            rule = m.group(1)
            jobs.setdefault(rule, [])
        elif rule and line.strip().startswith("output:"):
            jobs[rule].append(line.split("output:", 1)[1].strip())
    return jobs


# ---------------------------------------------------------------- the DAG at paper scale

EXPECTED_CELLS = {
    "table1": 60,
    "table3": 72,
    "table4": 66,
    "fig1": 8,
    "fig2": 8,
    "fig3": 4,
    "fig6": 16,  # the rank-10 figures at two sample sizes (3 000 and 3 500: the paper's text and caption)
    "fig7": 16,
    "fig8": 8,
}
ROBUSTNESS_CELLS = {  # the claims' robustness experiments (R-*): other λ, combinations, lr, n_obs
    "robust_lambda": 50,
    "robust_lambda_r10": 40,
    "robust_combinations": 250,
    "robust_lr5e4": 8,
    "robust_lr1e4": 8,
    "robust_n_obs": 16,
}


def test_paper_scale_cells_per_experiment() -> None:
    cfg = load(_config())
    for name, n in {**EXPECTED_CELLS, **ROBUSTNESS_CELLS}.items():
        cells = experiment_cells(cfg["experiments"][name], cfg)
        assert len(cells) == n, name
        assert len(set(cells)) == n, f"{name} has duplicate cells"
    assert len(cfg["seeds"]) == 5 and cfg["train"]["max_iters"] == 500_000 and cfg["train"]["tol"] == 1e-7


def _without_readings(cfg: dict) -> dict:
    """The config with no alternative readings planned (the defaults' experiments only)."""
    cfg = {**cfg, "readings": {}}
    cfg["scales"] = {
        k: {kk: vv for kk, vv in v.items() if kk != "readings"} for k, v in cfg["scales"].items()
    }
    return cfg


def test_paper_scale_readings_add_their_own_jobs_and_outputs(tmp_path) -> None:
    """Each reading plans its experiments' tables and figures; its cells that the reading cannot change are
    the defaults' jobs (no new job), the rest are new jobs used only by reading experiments."""
    cfg, base = load(_config()), training_jobs(load(_without_readings(_config())))
    planned = training_jobs(cfg)
    new = {p: j for p, j in planned.items() if p not in base}
    assert new and all(all("@" in e for e in j.experiments) for j in new.values())
    assert {j.optimizer for j in new.values() if "table3@gd_momentum0" in j.experiments} == {"gd_momentum"}
    jobs = dry_jobs(tmp_path, config=_config())
    for name, spec in cfg["readings"].items():
        for exp in spec["experiments"]:
            kind = cfg["experiments"][exp]["kind"]
            wanted = "dynamics_figure" if kind == "dynamics" else "table"
            assert any(f"results/tables/{exp}@{name}.csv" in o for o in jobs[wanted]), (exp, name)
    assert sorted(jobs["train"]) == sorted(f"{p}, {p[:-5]}.trajectory.npz" for p in planned)


def test_paper_scale_dry_run_dag(tmp_path) -> None:
    jobs = dry_jobs(tmp_path, config=_without_readings(_config()))
    cfg = load(_without_readings(_config()))
    planned = training_jobs(cfg)
    assert sorted(jobs["train"]) == sorted(f"{p}, {p[:-5]}.trajectory.npz" for p in planned)
    # Each cell is trained once: the jobs' depths add up to the distinct cells of all experiments.
    distinct = {c for name in EXPECTED_CELLS for c in experiment_cells(cfg["experiments"][name], cfg)}
    assert len(distinct) == 254  # 4 of Table 1's unpenalised cells are also Figures 1 and 3's
    for name, shared in (("fig4", 4), ("fig5", 8)):  # 7 n_obs × 4 networks; at the paper's n_obs shared
        cells = experiment_cells(cfg["experiments"][name], cfg)
        assert len(cells) == 28 and len(set(cells) & distinct) == shared
        distinct |= set(cells)
    robustness = {c for name in ROBUSTNESS_CELLS for c in experiment_cells(cfg["experiments"][name], cfg)}
    # the rest are the paper's cells (robust_lambda at λ = 1e-4 is Fig. 2's; robust_lambda_r10's λ = 1e-4 at
    # depths 2-5 and λ = 0.01 at depth 1 are Figs. 7 and 8's at 3 000 entries)
    assert len(robustness) == 356 and len(robustness - distinct) == 284
    assert sum(len(j.depths) for j in planned.values()) == len(distinct | robustness) == 298 + 284
    assert len(jobs["baseline"]) == 4 * 7 * 2  # {CP, SI, OPT, OPT (published)} × 7 n_obs × {fig4, fig5}
    assert len(jobs["comparison_figure"]) == 2
    # Shared cells: Table 1's unpenalised GD cells are also Figure 1's, Figure 3's (λ = 0) and Figure 4's.
    gd_none = [
        j
        for j in planned.values()
        if j.optimizer == "gd"
        and j.penalty == "none"
        and j.rank == 5
        and j.n_obs == 2000
        and dict(j.train)["lr"] == cfg["train"]["lr"]  # the lr robustness experiments train their own
    ]
    assert len(gd_none) == 1 and gd_none[0].depths == (1, 2, 3, 4, 5)
    assert set(gd_none[0].experiments) == {"table1", "fig1", "fig3", "fig4"}  # GD:3-5 at n_obs 2000 too
    assert len(jobs["ground_truth"]) == 2 * 7 * 5  # (rank 5 and rank 10) × 7 n_obs × 5 seeds
    assert sorted(jobs["table"]) == sorted(
        f"results/tables/{t}.csv, results/tables/{t}.md, results/tables/{t}.tex"
        for t in ("table1", "table3", "table4", *ROBUSTNESS_CELLS)
    )
    assert jobs["robustness"] == [
        "results/tables/robustness.md, results/tables/robustness.csv, figures/robustness.pdf, figures/robustness.png"
    ]
    assert len(jobs["dynamics_figure"]) == 6


# ---------------------------------------------------------------- a real smoke run


@pytest.fixture(scope="session")
def smoke(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("smoke")
    proc = smk(work, "--cores", "2", "--config", "scale=smoke", config=_config())
    (work / "console.txt").write_text(proc.stdout + proc.stderr)
    return work


def test_smoke_run_builds_every_synthetic_target(smoke: Path) -> None:
    cfg = load(_config(scale="smoke"))
    for name in ("table1", "table3", "table4"):
        exp = cfg["experiments"][name]
        df = pd.read_csv(smoke / f"results/tables/{name}.csv")
        assert len(df) == len(exp["optimizers"]) * len(exp["depths"]) * len(exp["penalties"])
        assert df[["test_error_mean", "effective_rank_mean"]].notna().all().all()
        assert all((smoke / f).exists() for f in df["file"])  # every number names its cached file
        md = (smoke / f"results/tables/{name}.md").read_text().splitlines()
        rows = [line for line in md if line.startswith("| ") and not line.startswith("| Optimizer")]
        assert len(rows) == len(exp["optimizers"]) * len(exp["depths"])
        assert len(rows[0].split("|")) - 2 == 2 + 2 * len(exp["penalties"])  # Err and Rk per penalty
        assert "\\begin{tabular}" in (smoke / f"results/tables/{name}.tex").read_text()
    from PIL import Image

    for n in range(1, 9):
        for ext in ("pdf", "png"):
            assert (smoke / f"figures/fig{n}.{ext}").stat().st_size > 10_000
        said = Image.open(smoke / f"figures/fig{n}.png").info.get("Description", "")
        for words in ("scale smoke", "budget 20 iterations", "seeds 1", "init end_to_end", "stop rule"):
            assert words in said, (n, words, said)  # every figure says what it shows
    assert (smoke / "figures/robustness.png").stat().st_size > 10_000
    said = Image.open(smoke / "figures/robustness.png").info.get("Description", "")
    assert "scale smoke" in said and "budget 20 iterations" in said, said
    for name in ("fig4", "fig5"):
        long = pd.read_csv(smoke / f"results/tables/{name}.csv")
        methods = {"Adam:1+R", "GD:3", "GD:4", "GD:5", "CP", "OPT", "OPT (published)", "SI"}
        assert set(long["method"]) == methods
        assert long["implementation"].notna().all()
        opt_impl = long.groupby("method")["implementation"].agg(set)
        assert opt_impl["OPT"] == {"builtin-cran"}  # no CRAN here: auto falls back to ROptSpace's twin
        assert opt_impl["OPT (published)"] == {"builtin-published"}
    console = (smoke / "console.txt").read_text()  # the run says what it will cost, then what it found
    assert re.search(
        r"planned: \d+ training jobs to run for these targets \(\d+ in the config\), \d+ networks; at their full budgets",
        console,
    )
    assert "Verdicts:" in console and "results/REPORT.md" in console
    # after Snakemake's "N of M steps done": first no pace, then a time left at the pace of the run
    assert "time left: estimated once a training job has finished" in console
    assert re.search(r"time left ≈ (under a minute|\d+ min)", console)
    summary = (smoke / "results/REPORT.md").read_text()
    assert len(summary.encode()) < 15_000 and summary.startswith("# Does Zhao (2022) reproduce?")
    readings = pd.read_csv(smoke / "results/readings.csv")
    for cid in readings["id"]:  # every claim, once
        assert len(re.findall(rf"(?<![\w-]){re.escape(cid)}(?![\w-]| \[)", summary)) == 1, cid
    assert {"init_layer", "tol_data", "mean", "gd_momentum0"} <= set(readings.columns)
    assert (smoke / "figures/fig1@init_layer.png").stat().st_size > 10_000
    claims = pd.read_csv(smoke / "results/claims.csv")
    known = {"held", "not held", "not reached at this budget", "not run", "inconclusive"}
    assert set(claims["verdict"]) <= known
    assert len(claims) >= 20 and (claims["scale"] == "smoke").all()
    eff = yaml.safe_load((smoke / "results/config.effective.yaml").read_text())
    assert eff["scale"] == "smoke" and eff["train"]["max_iters"] == 20
    job = json.loads(next((smoke / "results/cells").rglob("*.json")).read_text())
    assert {"versions", "device", "seconds"} <= set(job["provenance"]) and job["cells"][0]["runs"][0][
        "iterations"
    ] == 20


def test_report_builds(smoke: Path) -> None:
    smk(smoke, "--config", "scale=smoke", "--report", "report.html")
    html = (smoke / "report.html").read_text(errors="replace")
    assert "fig3" in html and "table1" in html


def test_nothing_to_do_after_smoke_run(smoke: Path) -> None:
    assert dry_jobs(smoke, "--config", "scale=smoke") == {}
    assert dry_jobs(smoke, "figures/fig3.pdf", "--config", "scale=smoke") == {}


def test_changing_table1_lambda_reruns_exactly_its_jobs(smoke: Path) -> None:
    cfg = _config(**{"experiments.table1.lam": 0.1})
    jobs = dry_jobs(smoke, "--config", "scale=smoke", config=cfg)
    (smoke / "config.yaml").write_text(yaml.safe_dump(_config()))  # restore for other tests
    new = training_jobs(load({**cfg, "scale": "smoke"}))
    table1_penalised = {p for p, j in new.items() if "table1" in j.experiments and j.penalty != "none"}
    assert len(table1_penalised) == 5 * 5
    # A job trains every depth its experiments ask for, and its name says which: the robustness jobs that
    # shared Table 1's λ = 0.05 jobs (and depths) lose them, those at λ = 0.1 gain them; both are new jobs.
    moved = {p for p, j in new.items() if not (smoke / p).exists()} - table1_penalised
    assert len(moved) == 3 and all(
        "table1" not in new[p].experiments and new[p].lam == 0.05 and new[p].penalty != "none" for p in moved
    )
    assert {o.split(",")[0] for o in jobs.pop("train")} == table1_penalised | moved
    assert sorted(jobs.pop("table")) == [
        f"results/tables/{t}.csv, results/tables/{t}.md, results/tables/{t}.tex"
        for t in ("robust_combinations", "robust_lambda", "table1")
    ]
    assert set(jobs) <= {"robustness", "claims", "effective_config", "all"}  # the aggregates, nothing else


def test_one_figure_builds_only_its_inputs(tmp_path) -> None:
    jobs = dry_jobs(tmp_path, "figures/fig3.pdf", "--config", "scale=smoke", config=_config())
    assert set(jobs) == {"ground_truth", "train", "dynamics_figure"}
    assert len(jobs["ground_truth"]) == 1  # smoke: one seed, rank 5, 2000 entries
    assert len(jobs["train"]) == 4  # {GD, Adam} × {λ = 0 (the shared unpenalised job), λ = 1e-2}
    assert jobs["dynamics_figure"][0].startswith("figures/fig3.pdf")


def test_killed_run_leaves_nothing_that_looks_finished(tmp_path) -> None:
    cfg = _config(scale="smoke")
    cfg["scales"]["smoke"]["train"]["max_iters"] = 4000  # long enough to be killed mid-job
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [
        *SNAKEMAKE,
        "--directory",
        str(tmp_path),
        "--configfile",
        str(tmp_path / "config.yaml"),
        "--cores",
        "1",
        "figures/fig3.pdf",
    ]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    cells = tmp_path / "results/cells"
    deadline = time.time() + 600
    while time.time() < deadline and len(list(cells.rglob("*.json"))) < 1:
        time.sleep(0.5)
    time.sleep(2.0)  # now inside the next training job
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p: p.stat().st_mtime_ns for p in cells.rglob("*.json")}
    assert 1 <= len(finished) < 4
    for p in finished:  # whatever exists is complete: valid JSON with its trajectory beside it
        json.loads(p.read_text())
        assert p.with_name(p.stem + ".trajectory.npz").exists()
    assert not list(tmp_path.glob("figures/*"))
    smk(tmp_path, "--unlock")  # a SIGKILLed Snakemake leaves its lock, as after a power loss
    smk(tmp_path, "--cores", "2", "--rerun-incomplete", "figures/fig3.pdf", timeout=1200)
    assert (tmp_path / "figures/fig3.pdf").exists()
    for p, mtime in finished.items():
        assert p.stat().st_mtime_ns == mtime, f"{p} was recomputed"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"experiments.table1.optimizers": ["adam", "lbfgs"]}, "experiments.table1.optimizers[1]"),
        ({"experiments.fig3.lams": [0.0, -0.01]}, "lams"),
        ({"scale": "huge"}, "config key 'scale': unknown scale 'huge'"),
        ({"experiments.table4.penalties": ["schatten:1/2", "hoyer"]}, "experiments.table4.penalties[1]"),
    ],
)
def test_malformed_config_fails_at_parse_time(tmp_path, override: dict, message: str) -> None:
    proc = smk(tmp_path, "-n", config=_config(**override), check=False)
    assert proc.returncode != 0
    assert message in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()


def test_lint_and_snakefmt_clean() -> None:
    lint = subprocess.run(
        [*SNAKEMAKE, "--lint", "--directory", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = subprocess.run(
        [shutil.which("snakefmt") or "snakefmt", "--check", "Snakefile", "workflow/rules"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_table2_from_a_local_movielens_folder(tmp_path) -> None:
    """`movielens_dir` pointing at an ml-100k-format folder (synthetic here: no network in tests)."""
    from matcomp.movielens.data import make_synthetic_ml100k

    make_synthetic_ml100k(tmp_path / "ml-100k", n_users=40, n_items=60, seed=0)
    smk(tmp_path, "--cores", "2", "results/tables/table2.md", "--config", "scale=smoke",
        f"movielens_dir={tmp_path / 'ml-100k'}", "movielens_verify=False", config=_config())  # fmt: skip
    df = pd.read_csv(tmp_path / "results/tables/table2.csv")
    ours = df[df["source"] == "run"]
    assert (
        len(ours) == 8 and ours["rmse_mean"].notna().all()
    )  # 2 models × 4 rows, the smoke scale's 90% split
    assert (df["source"] == "quoted").sum() > 0 and df["paper_rmse"].notna().all()
    assert "Depth 1 LNN w. Adam+penalty" in (tmp_path / "results/tables/table2.md").read_text()
    assert not (tmp_path / "results/movielens/ml-100k").exists()  # nothing downloaded
    grid = pd.read_csv(tmp_path / "results/tables/table2_sweep.csv")
    assert len(grid) == 8 and grid["selected"].all()  # no sweep: one point per row, the paper's best
    before = sorted((tmp_path / "results/movielens").rglob("*.json"))

    # The A.1 sweep, trimmed: LNN λ ∈ {1e-3, 1.5} for the penalised rows, selected on validation RMSE.
    sweep = {"enabled": True, "val_frac": 0.2, "lnn": {"lam": [1e-3, 1.5]}, "embedding": {"dim": [4]}}
    smk(tmp_path, "--cores", "2", "results/tables/table2.md", "--config", "scale=smoke",
        f"movielens_dir={tmp_path / 'ml-100k'}", "movielens_verify=False",
        config=_config(**{"experiments.table2.sweep": sweep}))  # fmt: skip
    grid = pd.read_csv(tmp_path / "results/tables/table2_sweep.csv")
    lnn_pen = grid[(grid["model"] == "lnn") & grid["row"].str.endswith("penalty")]
    assert len(grid) == 10 and len(lnn_pen) == 4 and lnn_pen["val_rmse_mean"].notna().all()
    for _, rows in lnn_pen.groupby("row"):
        assert rows.loc[rows["val_rmse_mean"].idxmin(), "selected"] and rows["selected"].sum() == 1
    assert all(p.exists() for p in before)  # the earlier (non-sweep) results are kept


def test_the_rules_make_every_product_the_registry_names(smoke: Path) -> None:
    """`matcomp.plan.products.PRODUCTS` (the targets of a full run, what planning checks) is what the rules
    make: every enabled experiment's tables and figures exist after the smoke run, and no table or figure
    of an experiment is made that the registry does not name; every synthetic kind has its entry."""
    from matcomp.plan.config import SYNTHETIC_KINDS, enabled_experiments
    from matcomp.plan.products import PRODUCTS, products

    assert set(PRODUCTS) == set(SYNTHETIC_KINDS)

    cfg = load(_config(scale="smoke"))
    names = enabled_experiments(cfg, SYNTHETIC_KINDS)
    named = {p for n in names for p in products(n, cfg["experiments"][n]["kind"])}
    assert all((smoke / p).is_file() for p in named), sorted(p for p in named if not (smoke / p).is_file())
    made = {
        str(p.relative_to(smoke))
        for folder in ("figures", "results/tables")
        for p in (smoke / folder).iterdir()
    }
    ours = {p for p in made if any(p.startswith((f"figures/{n}.", f"results/tables/{n}.", f"results/tables/{n}_"))
                                   for n in names)}  # fmt: skip
    assert ours <= named, sorted(ours - named)
