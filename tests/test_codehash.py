"""Code hashes (issue 11, part 2): what each kind of job runs, which edits rerun which jobs, stale results.

The workflow tests work on a copy of the checkout (src, workflow, Snakefile, config, envs, profiles,
README) at the smoke scale: one ground-truth and one training job run for real, every other job is marked
done with ``--touch`` (so Snakemake records its params), and each edit is then judged by a dry run.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from matcomp.store.codehash import NOT_CODE, STEPS, code_info, module_file, normalized_source

ROOT = Path(__file__).resolve().parents[1]
CHECKOUT = ("src", "workflow", "Snakefile", "config.yaml", "envs", "profiles", "README.md")
PROBE_FUNCTION = "\n\ndef _codehash_probe() -> int:\n    return 1\n"


# ---------------------------------------------------------------- normalisation and kinds (no Snakemake)


def _package_copy(dest: Path) -> tuple[Path, Path]:
    """src/matcomp and workflow/scripts copied under ``dest``: (package dir, scripts dir)."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "src/matcomp", dest / "src/matcomp", ignore=ignore)
    shutil.copytree(ROOT / "workflow/scripts", dest / "workflow/scripts", ignore=ignore)
    return dest / "src/matcomp", dest / "workflow/scripts"


def _hashes(pkg: Path, scripts: Path) -> dict[str, str]:
    return {step: code_info(step, pkg, scripts)["hash"] for step in STEPS}


def _comment_and_docstring_edit(text: str) -> str:
    assert ast.get_docstring(ast.parse(text)), "the edit needs a module docstring"
    text = text.replace('"""', '"""An edited docstring.\n\n', 1)
    return f"# a new comment\n{text}\n# another comment\n"


def test_comments_docstrings_and_layout_do_not_count(tmp_path: Path) -> None:
    pkg, scripts = _package_copy(tmp_path)
    before = _hashes(pkg, scripts)
    for name in (
        "training/penalties.py",
        "training/train.py",
        "report/figures.py",
        "report/claims/verdicts.py",
    ):
        path = pkg / name
        path.write_text(_comment_and_docstring_edit(path.read_text()))
    claims = pkg / "report/claims.yaml"
    claims.write_text("# a comment\n" + claims.read_text())
    assert _hashes(pkg, scripts) == before


def test_normalised_source_drops_docstrings_but_keeps_code(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(
        '"""Doc."""\n# c\ndef f(x):\n    """Doc."""\n    return  x + 1  # c\n\nclass A:\n    "Doc."\n'
    )
    assert normalized_source(path) == "def f(x):\n    return x + 1\n\nclass A:\n    pass"


REPORT_ONLY = {"data", "train", "baseline", "movielens"}
"""The steps whose results are cached (and expensive): a report-only edit must leave their code alone."""


@pytest.mark.parametrize(
    ("edited", "changed", "unchanged"),
    [  # an aggregate downstream of a changed step may change too (its inputs' new paths rebuild it anyway)
        (
            "training/penalties.py",
            {"train", "movielens", "table", "figure", "comparison"},
            {"data", "baseline"},
        ),
        (
            "training/train.py",
            {"train"},
            {"data", "baseline", "movielens", "table", "figure", "comparison", "table2"},
        ),
        (
            "training/plateau.py",
            {"train", "table", "figure", "comparison", "claims"},
            {"data", "baseline", "movielens"},
        ),
        ("training/spectral.py", {"train", "movielens"}, {"data", "baseline", "table2", "claims"}),
        (
            "store/results.py",
            {"train", "baseline", "movielens", "table", "figure", "comparison", "table2"},
            {"data"},
        ),
        ("movielens/train.py", {"movielens"}, {"data", "train", "baseline", "table", "figure", "comparison"}),
        ("jobs/movielens.py", {"movielens"}, {"data", "train", "baseline", "table", "figure", "table2"}),
        (
            "baselines/_common.py",
            {"baseline"},
            {"data", "train", "movielens", "table", "figure", "comparison"},
        ),
        ("data.py", {"data", "train", "baseline"}, set()),
        # the report: every module of report/ reruns only reports, never a cached job
        ("report/figures.py", {"figure"}, REPORT_ONLY | {"table", "comparison", "claims", "table2"}),
        ("report/tables.py", {"table", "figure", "comparison"}, REPORT_ONLY),
        ("report/claims/verdicts.py", {"claims"}, REPORT_ONLY | {"table", "figure", "comparison", "table2"}),
        ("report/comparison.py", {"comparison"}, REPORT_ONLY | {"table", "figure"}),
        ("report/style.py", {"figure", "comparison", "robustness"}, REPORT_ONLY | {"table"}),
        # the claims step reads Table 2's model names only through the budgets planning hands it (params)
        ("report/table2.py", {"table2"}, REPORT_ONLY | {"table", "figure", "comparison", "claims"}),
        ("report/robustness.py", {"robustness"}, REPORT_ONLY | {"table", "figure", "comparison", "claims"}),
        ("report/paper_tables.yaml", {"claims", "table2"}, REPORT_ONLY | {"table", "figure", "robustness"}),
        (
            "report/__init__.py",
            {"table", "figure", "comparison", "claims", "table2", "robustness"},
            REPORT_ONLY,
        ),
        ("report/claims.yaml", {"claims"}, REPORT_ONLY | {"table", "figure", "comparison", "table2"}),
        # the planner is no job's code
        ("plan/jobs.py", set(), set(STEPS)),
        ("plan/config.py", set(), set(STEPS)),
    ],
)
def test_a_code_edit_changes_the_steps_that_run_it(
    tmp_path: Path, edited: str, changed: set[str], unchanged: set[str]
) -> None:
    pkg, scripts = _package_copy(tmp_path)
    before = _hashes(pkg, scripts)
    with open(pkg / edited, "a") as fh:
        fh.write("\nprobe: 1\n" if edited.endswith(".yaml") else PROBE_FUNCTION)
    after = _hashes(pkg, scripts)
    assert {k for k in STEPS if after[k] != before[k]} >= changed
    assert {k for k in unchanged if after[k] != before[k]} == set()


def test_every_step_is_covered_both_ways() -> None:
    """Every step has an edit above that must change its hash, and one that must not."""
    cases = test_a_code_edit_changes_the_steps_that_run_it.pytestmark[0].args[1]
    assert {s for _, changed, _ in cases for s in changed} == set(STEPS)
    assert {s for _, _, unchanged in cases for s in unchanged} == set(STEPS)


def test_upstream_code_is_part_of_the_hash() -> None:
    """A training or baseline job's code covers the data generation it reads (its script included)."""
    for step in ("train", "baseline"):
        assert set(code_info("data")["files"]) <= set(code_info(step)["files"])


def _script_entries(script: Path) -> set[str]:
    """The matcomp modules a workflow script imports."""
    found = set()
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("matcomp"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("matcomp")}
    return {m for m in found if not any(m == n or m.startswith(f"{n}.") for n in NOT_CODE)}


@pytest.mark.parametrize("step", list(STEPS))
def test_step_entries_are_what_its_scripts_import(step: str) -> None:
    for script in STEPS[step].scripts:
        assert _script_entries(ROOT / "workflow/scripts" / script) == set(STEPS[step].entries), script


def test_no_script_imports_the_planner() -> None:
    for script in (ROOT / "workflow/scripts").glob("*.py"):
        assert not any(m.startswith("matcomp.plan") for m in _script_entries(script) | {""}), script


# What a job of each kind runs, in a fresh interpreter; the probe prints the package files it loaded or
# opened.  Aggregates need real inputs and load nothing dynamically, so the jobs with cached results are run.
_PROBE_HEAD = """
import json, sys
from pathlib import Path
opened = set()
sys.addaudithook(lambda event, args: opened.add(str(args[0])) if event == "open" and isinstance(args[0], str) else None)
tmp = Path(sys.argv[1])
from matcomp.store.checkout import redirect_log
"""
_PROBE_TAIL = """
loaded = {getattr(m, "__file__", None) for name, m in list(sys.modules.items()) if name.startswith("matcomp")}
print(json.dumps(sorted(f for f in loaded | opened if f)))
"""
_PROBES = {
    "data": """
from matcomp.store.codehash import code_info
from matcomp.jobs.data import make_data
make_data({"m": 10, "n": 10, "rank": 2, "n_obs": 40, "seed": 0, "normalize": True, "code": code_info("data")},
          str(tmp / "p.npz"))
""",
    "train": """
import yaml
from matcomp.data import make_problem
from matcomp.jobs.train import train_job
make_problem(10, 10, 2, 40, 0, True).save(tmp / "p.npz")
train = {**yaml.safe_load(Path(sys.argv[2]).read_text())["train"], "max_iters": 3}
job = {"optimizer": "adam", "penalty": "ratio", "depths": [1, 2], "lam": 0.01, "rank": 2, "n_obs": 40,
       "seeds": [0], "train": train, "data": {"m": 10, "n": 10, "normalize": True}}
train_job(job, [str(tmp / "p.npz")], str(tmp / "out.json"), device="cpu", threads=1)
""",
    "baseline": """
from matcomp.jobs.baseline import run_baseline_job
from matcomp.data import make_problem
make_problem(10, 10, 2, 60, 0, True).save(tmp / "p.npz")
job = {"method": "cp", "rank": 2, "n_obs": 60, "options": {}, "data": {}, "seeds": [0]}
run_baseline_job(job, [str(tmp / "p.npz")], str(tmp / "out.json"))
""",
    "movielens": """
from matcomp.jobs.movielens import run_movielens_job
from matcomp.movielens.data import make_synthetic_ml100k
ml = make_synthetic_ml100k(tmp / "ml-100k", 30, 40, seed=0)
run = {"model": "embedding", "row": "Adam+penalty", "train_frac": 0.9, "seed": 0, "n_epochs": 1, "dim": 4,
       "check_sha": False, "experiment": "table2", "code": None}
run_movielens_job(run, str(ml / "u.data"), str(tmp / "out.json"), device="cpu")
""",
}


@pytest.mark.parametrize("kind", list(_PROBES))
def test_step_covers_what_its_job_loads(tmp_path: Path, kind: str) -> None:
    script = _PROBE_HEAD + textwrap.dedent(_PROBES[kind]) + _PROBE_TAIL
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), str(ROOT / "config.yaml")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    pkg = (ROOT / "src/matcomp").resolve()
    used = {Path(f).resolve() for f in json.loads(proc.stdout.splitlines()[-1])}
    used = {p for p in used if p.is_relative_to(pkg) and "__pycache__" not in p.parts}
    assert {module_file(m).resolve() for m in STEPS[kind].entries} <= used  # the probe saw the job run
    covered = set(code_info(kind)["files"])
    exempt = {
        p
        for p in used
        if p.relative_to(pkg).as_posix() == "store/codehash.py" or p.relative_to(pkg).parts[0] == "plan"
    }
    missing = {p for p in used - exempt if f"matcomp/{p.relative_to(pkg).as_posix()}" not in covered}
    assert not missing, (
        f"{kind} jobs run package files their code hash leaves out: {sorted(map(str, missing))}"
    )


# ---------------------------------------------------------------- the workflow on a copy of the checkout


def _smk(work: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *args, "--config", "scale=smoke"],
        cwd=work, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert proc.returncode == 0, (
        f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


def _planned(work: Path, *targets: str) -> dict[str, list[list[str]]]:
    """rule -> the outputs of each job a dry run would execute."""
    jobs: dict[str, list[list[str]]] = {}
    rule = None
    for line in _smk(work, "-n", *targets).stdout.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):", line.strip()):
            rule = m.group(1)
            jobs.setdefault(rule, [])
        elif rule and line.strip().startswith("output:"):
            jobs[rule].append([out.strip() for out in line.split("output:", 1)[1].split(",")])
    return jobs


def _dry_run(work: Path) -> dict[str, list[str]]:
    """rule -> the first output of each job a dry run would execute."""
    return {rule: [outs[0] for outs in jobs] for rule, jobs in _planned(work).items()}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout copy whose smoke-scale workflow is complete: one data and one training job really run,
    every other job marked done with ``--touch`` (Snakemake then records every job's params)."""
    work = tmp_path_factory.mktemp("codehash")
    for name in CHECKOUT:
        src, dest = ROOT / name, work / name
        if src.is_dir():
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest)
    one_train = next(p for p in _dry_run(work)["train"] if "/adam/ratio/" in p)
    _smk(work, "--cores", "1", one_train)
    for jobs in _planned(work).values():
        for outputs in jobs:
            for out in outputs:
                (work / out).parent.mkdir(parents=True, exist_ok=True)
                (work / out).touch()
    _smk(work, "--touch", "--forceall", "--cores", "1")
    assert _dry_run(work) == {}
    return work


@pytest.fixture
def edit(built: Path) -> Iterator:
    """edit(relative path, new text): the file is restored after the test."""
    saved: dict[Path, str] = {}

    def _edit(rel: str, change) -> None:
        path = built / rel
        saved.setdefault(path, path.read_text())
        path.write_text(change(path.read_text()))

    yield _edit
    for path, text in saved.items():
        path.write_text(text)


def _add_function(text: str) -> str:
    return text + PROBE_FUNCTION


AFTER_TRAINING = {"train", "table", "robustness", "dynamics_figure", "comparison_figure", "claims", "all"}
EDITS = {  # id: (file, edit, the rules a dry run then executes)
    "penalties": ("src/matcomp/training/penalties.py", _add_function, AFTER_TRAINING),
    "train": ("src/matcomp/training/train.py", _add_function, AFTER_TRAINING),
    "baselines": ("src/matcomp/baselines/_common.py", _add_function, {"baseline", "comparison_figure", "claims", "all"}),
    "figures": ("src/matcomp/report/figures.py", _add_function, {"dynamics_figure", "claims", "all"}),
    "tables": ("src/matcomp/report/tables.py", _add_function, {"table", "robustness", "dynamics_figure", "comparison_figure", "claims", "all"}),
    "style": ("src/matcomp/report/style.py", _add_function, {"dynamics_figure", "comparison_figure", "robustness", "claims", "all"}),
    "claims": ("src/matcomp/report/claims/verdicts.py", _add_function, {"claims", "all"}),
    "table2": ("src/matcomp/report/table2.py", _add_function, set()),  # no Table 2 at smoke; claims: params
    "planner": ("src/matcomp/plan/jobs.py", _add_function, set()),
    "data": ("src/matcomp/data.py", _add_function, AFTER_TRAINING | {"ground_truth", "baseline"}),
    "penalties-comment": ("src/matcomp/training/penalties.py", _comment_and_docstring_edit, set()),
    "train-docstring": ("src/matcomp/training/train.py", _comment_and_docstring_edit, set()),
    "readme": ("README.md", lambda t: t + "\nA new paragraph.\n", set()),
}  # fmt: skip


@pytest.mark.workflow
@pytest.mark.parametrize("case", list(EDITS))
def test_edit_reruns_exactly_the_jobs_that_run_the_code(built: Path, edit, case: str) -> None:
    rel, change, rules = EDITS[case]
    edit(rel, change)
    jobs = _dry_run(built)
    assert set(jobs) == rules
    for rule in ("ground_truth", "train", "baseline"):
        for path in jobs.get(rule, []):  # a new path: the old result stays as it is
            assert not (built / path).exists(), f"{path} would be overwritten"
    if "train" in rules:  # every training job reruns
        assert len(jobs["train"]) == len(list((built / "results/cells").rglob("*.json")))


@pytest.mark.workflow
def test_result_files_name_their_code(built: Path) -> None:
    pkg, scripts = built / "src/matcomp", built / "workflow/scripts"
    train, data = code_info("train", pkg, scripts), code_info("data", pkg, scripts)
    real = [p for p in (built / "results/cells").rglob("*.json") if p.stat().st_size]
    assert len(real) == 1
    doc = json.loads(real[0].read_text())
    assert doc["job"]["code"] == train and doc["job"]["data"]["code"] == data["hash"]
    (npz,) = [p for p in (built / "results/data").glob("*.npz") if p.stat().st_size]
    assert npz.name.endswith(f"_{data['hash']}.npz")
    from matcomp.data import load_problem

    settings = load_problem(npz).settings
    assert settings["code"] == data["hash"] and settings["code_files"] == data["files"]


def _clean(work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(work / "src")}
    cmd = [sys.executable, "-m", "matcomp.cli", "clean", "--stale", *args]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.workflow
def test_clean_stale_lists_results_of_old_code_and_deletes_only_when_asked(built: Path, edit) -> None:
    assert _clean(built).stdout == ""
    cells = {
        p.relative_to(built).as_posix()
        for top in ("results", "logs", "benchmarks/logs")
        for p in (built / top / "cells").rglob("*")
        if p.is_file()
    }
    edit("src/matcomp/training/penalties.py", lambda t: t + PROBE_FUNCTION)
    for args in ((), ("--config", "scale=smoke")):
        assert set(_clean(built, *args).stdout.split()) == cells  # every training file, nothing else
    assert all((built / p).exists() for p in cells)  # listing removes nothing
    old = built / "results/baselines/cp/r5_o2000_0123456789.json"
    old_log = built / "logs/baselines/cp/r5_o2000_0123456789.log"
    for p in (old, old_log):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text('{"job": {"method": "cp"}}')  # a result names its job: only then is it the pipeline's
    edit("src/matcomp/training/penalties.py", lambda t: t.replace(PROBE_FUNCTION, ""))
    proc = _clean(built, "--delete")
    assert set(proc.stdout.split()) == {"results/baselines/cp/r5_o2000_0123456789.json",
                                        "logs/baselines/cp/r5_o2000_0123456789.log"}  # fmt: skip
    assert not old.exists() and not old_log.exists() and all((built / p).exists() for p in cells)
