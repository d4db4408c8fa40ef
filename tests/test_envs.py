"""Every rule names a conda env, and every env lists what its rule's script imports."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
# import name -> conda-forge (or pip) package name
PACKAGES = {
    "torch": "pytorch", "numpy": "numpy", "scipy": "scipy", "pandas": "pandas", "matplotlib": "matplotlib-base",
    "seaborn": "seaborn-base", "yaml": "pyyaml", "tqdm": "tqdm", "cvxpy": "cvxpy", "scs": "scs",
    "fancyimpute": "fancyimpute", "sklearn": "scikit-learn", "rpy2": "rpy2",
}  # fmt: skip
# what a rule's script imports lazily (inside functions), per env it may run in
LAZY = {
    ("baseline", "baselines.yaml"): {"cvxpy", "fancyimpute", "sklearn"},
    ("baseline", "r.yaml"): {"rpy2"},
    ("comparison_figure", "plots.yaml"): {"matplotlib", "seaborn"},
}


def _rules() -> list[tuple[str, str]]:
    out = []
    for smk in sorted((ROOT / "workflow/rules").glob("*.smk")):
        text = smk.read_text()
        for m in re.finditer(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", text, flags=re.S | re.M):
            out.append((m.group(1), m.group(2)))
    return out


def _env_packages(env: Path) -> set[str]:
    deps = yaml.safe_load(env.read_text())["dependencies"]
    names = set()
    for d in deps:
        for item in d["pip"] if isinstance(d, dict) else [d]:
            names.add(re.split(r"[=<>! ]", item.strip(), maxsplit=1)[0].lower())
    return names


def _third_party_imports(script: Path) -> set[str]:
    mods = [
        m
        for m in re.findall(r"^(?:from|import) ([\w.]+)", script.read_text(), flags=re.M)
        if m not in ("sys", "pathlib")
    ]
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'src')!r})" + "".join(f"; import {m}" for m in mods)
    code += "; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    return {m for m in loaded if m in PACKAGES}


RULES = _rules()


def test_every_rule_but_all_has_conda_log_and_benchmark() -> None:
    names = [name for name, _ in RULES]
    assert {
        "ground_truth",
        "train",
        "table",
        "dynamics_figure",
        "baseline",
        "comparison_figure",
        "claims",
        "table2",
    } <= set(names)
    for name, body in RULES:
        for directive in ("conda:", "log:", "benchmark:", "script:"):
            assert directive in body, f"rule {name} lacks {directive}"


@pytest.mark.parametrize(("name", "body"), RULES, ids=[n for n, _ in RULES])
def test_env_lists_what_the_script_imports(name: str, body: str) -> None:
    script = ROOT / "workflow/rules" / re.search(r'script:\s*\n\s*"([^"]+)"', body).group(1)
    envs = re.findall(r'"\.\./\.\./envs/([\w.]+\.yaml)"', body)
    if "envs/{BASELINES[w.method].env}" in body:  # each method's env, from the registry
        from matcomp.baselines import BASELINES

        envs = sorted({m.env for m in BASELINES.values()})
    assert envs, f"rule {name}: no env file"
    needed = _third_party_imports(script)
    for env in envs:
        pkgs = _env_packages(ROOT / "envs" / env)
        want = needed | LAZY.get((name, env), set())
        missing = {PACKAGES[m] for m in want} - pkgs
        assert not missing, f"rule {name}: envs/{env} lacks {sorted(missing)}"
        text = (ROOT / "envs" / env).read_text()
        assert "conda-forge" in text and "python=3.11" in text


CONDA_TO_PIP = {"pytorch": "torch", "matplotlib-base": "matplotlib", "seaborn-base": "seaborn"}


def _pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += [r for r in extra if not r.startswith("matcomp")]
    return {Requirement(r).name.lower(): Requirement(r) for r in lines}


def _env_pins(env: Path) -> dict[str, str]:
    """package (pip's name) -> the version the env pins (conda `name=1.2` or pip `name==1.2`)."""
    out = {}
    for d in yaml.safe_load(env.read_text())["dependencies"]:
        for item in d["pip"] if isinstance(d, dict) else [d]:
            m = re.fullmatch(r"([\w.-]+)\s*==?\s*([\w.*]+)", item.split("#")[0].strip())
            if m:
                out[CONDA_TO_PIP.get(m.group(1).lower(), m.group(1).lower())] = m.group(2)
    return out


@pytest.mark.parametrize("env", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_env_pin_agrees_with_pyproject(env: Path) -> None:
    """`snakemake --use-conda` runs the library versions the tests ran with (issue 38): where pyproject pins
    a version (==), the env pins the same; where it gives a range, the env's version lies in it."""
    reqs = _pyproject_requirements()
    checked = 0
    for name, version in _env_pins(env).items():
        req = reqs.get(name)
        if req is None:
            continue
        exact = [s.version for s in req.specifier if s.operator == "=="]
        if exact:
            assert version == exact[0], f"envs/{env.name}: {name}={version}, pyproject pins {req}"
        else:
            assert req.specifier.contains(version + ".0" * (2 - version.count("."))), (
                f"envs/{env.name}: {name}={version} is outside pyproject's {req}"
            )
        checked += 1
    assert checked >= 3, f"envs/{env.name}: no pin compared (names not mapped?)"


def test_env_pin_check_catches_a_drift(tmp_path: Path) -> None:
    drifted = tmp_path / "torch.yaml"
    drifted.write_text((ROOT / "envs/torch.yaml").read_text().replace("pytorch=2.13.0", "pytorch=2.7"))
    with pytest.raises(AssertionError, match="torch=2.7, pyproject pins torch==2.13.0"):
        test_every_env_pin_agrees_with_pyproject(drifted)
