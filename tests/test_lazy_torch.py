"""Planning (the DAG, matcomp.plan, the modules the workflow's .smk files import) runs without importing torch;
torch is imported the first time the trainer uses it, and then it is the real, working module."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import torch

from matcomp.training.lazy import lazy_import, loaded
from matcomp.training.placement import _driver_devices, _torch_has_cuda, cuda_available

ROOT = Path(__file__).resolve().parents[1]
SMK_IMPORTS = sorted(
    {
        m
        for f in (ROOT / "workflow/rules").glob("*.smk")
        for m in re.findall(r"^\s*from (matcomp[\w.]*) import", f.read_text(), re.M)
    }
)

PLAN = f"""
import sys
sys.path.insert(0, {str(ROOT / "src")!r})
{"".join(f"import {m}{chr(10)}" for m in SMK_IMPORTS)}
from matcomp.training.lazy import loaded
from matcomp.plan.config import load, read_yaml
from matcomp.plan.jobs import baseline_jobs, packing, training_jobs
from matcomp.plan.movielens import movielens_jobs
from matcomp.plan.packs import make_packs
from matcomp.plan.cost import budget_hours
for scale in ("quick", "paper"):
    cfg = load({{**read_yaml({str(ROOT / "config.yaml")!r}), "scale": scale}})
    packing(cfg)
    jobs = training_jobs(cfg)
    baseline_jobs(cfg), movielens_jobs(cfg), make_packs(jobs), budget_hours(jobs.values())
print("torch executed:", loaded("torch"), "torch._C" in sys.modules)
"""


def test_planning_every_scale_imports_no_torch() -> None:
    assert {"matcomp.plan.config", "matcomp.plan.jobs", "matcomp.plan.cost"} <= set(SMK_IMPORTS)
    out = subprocess.run([sys.executable, "-c", PLAN], capture_output=True, text=True, check=True).stdout
    assert "torch executed: False False" in out, out


def test_the_trainers_modules_still_get_the_real_torch() -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'src')!r})\n"
        "from matcomp.training.penalties import get_penalty\n"
        "from matcomp.training.lazy import loaded\n"
        "assert not loaded('torch')\n"
        "import matcomp.training.penalties as p, torch\n"
        "w = torch.eye(3, dtype=torch.float64)\n"
        "print(loaded('torch'), p.torch is torch, float(get_penalty('nuclear')(torch.linalg.svdvals(w))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "True", "3.0"], out


def test_lazy_import_returns_a_module_already_imported() -> None:
    assert lazy_import("torch") is sys.modules["torch"] and loaded("torch")


def test_the_cuda_probe_without_torch_agrees_with_torch() -> None:
    # here a CPU build (no libtorch_cuda) and no driver: both say no; tests/test_cuda.py checks a GPU machine
    assert (_torch_has_cuda() and _driver_devices() > 0) == torch.cuda.is_available() == cuda_available()
