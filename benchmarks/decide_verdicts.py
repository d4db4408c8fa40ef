"""The verdicts a (partial) ``scale=decide`` run reached: claim, verdict, the cells that decided it.

Point it at a workflow folder that ran some targets at ``--config scale=decide`` (the whole scale is ≈ 224
CPU-hours on a 2-core machine, ``benchmarks/cost_decide.md``); it reads the tables there, judges every claim on them
with the decide scale's budgets against the paper's, and writes the claims that had cells (the others are
"not run"), each with how its cells were decided, then every cell with its iterations and stop reasons.

    python benchmarks/decide_verdicts.py /path/to/workdir --out benchmarks/decide_verdicts.md
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import pandas as pd

from matcomp.plan.budgets import claim_budgets
from matcomp.plan.config import effective_config, read_yaml
from matcomp.report import style
from matcomp.report.cells import read_tables, split_seeds
from matcomp.report.claims import evaluate, load_claims, with_decisions
from matcomp.report.claims.decided import seed_stops
from matcomp.report.paper import by_reading, tally
from matcomp.report.paper import to_markdown as paper_markdown
from matcomp.report.sensitivity import claim_experiments, defaults_only, sensitivity, under_reading
from matcomp.report.sensitivity import to_markdown as sensitivity_markdown


def judgeable(claims: list[dict], parts: dict[str, set[str]] | None) -> list[dict]:
    """``claims`` less those that read an experiment of which only a part ran (``parts``: the claims each
    such experiment's part decides, by experiment): a claim over every penalty is not judged on two."""
    parts = parts or {}
    return [c for c in claims if all(c["id"] in parts[e] for e in claim_experiments(c) if e in parts)]


def verdicts(
    workdir: Path, parts: dict[str, set[str]] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict, dict]:
    """(the claims the run's default tables reach, the tables' cells, every claim under each reading whose
    experiments ran (:mod:`matcomp.report.sensitivity`), those readings, the decide scale's budgets);
    ``parts``: :func:`judgeable`."""
    config_file = workdir / "config.yaml"
    config = effective_config({**read_yaml(config_file), "scale": "decide"})
    tables = sorted((workdir / "results/tables").glob("*.csv"))
    tables = [t for t in tables if t.stem != "robustness"]
    cells = read_tables(tables)
    budget = claim_budgets(config, config_file)
    claims = judgeable(load_claims(), parts)
    judged = evaluate(claims, defaults_only(cells), budget)
    ran = set(cells["experiment"].dropna())
    readings = {
        name: {**spec, "experiments": [e for e in spec["experiments"] if f"{e}@{name}" in ran]}
        for name, spec in config.get("readings", {}).items()
        if any(f"{e}@{name}" in ran for e in spec["experiments"])
    }
    sens = sensitivity(claims, cells, budget, readings)
    cols = [c for c in sens.columns if c == "defaults" or c in readings]
    ran = sens[cols].isin(["not run", "–"]).all(axis=1) if cols else pd.Series(True, index=sens.index)
    keep = set(judged.loc[judged["verdict"] != "not run", "id"]) | set(sens.loc[~ran, "id"])  # any reading
    return judged[judged["id"].isin(keep)], cells, sens[sens["id"].isin(keep)], readings, budget


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


SETTINGS = tuple(style.READING_SETTINGS)


def _settings(cell: pd.Series) -> str:
    """The settings the paper leaves open, as this cell ran them (the tables' columns)."""
    return ", ".join(f"{k} {cell[k]}" for k in SETTINGS if k in cell and pd.notna(cell[k]))


def _seeds_text(c: pd.Series) -> tuple[str, str]:
    """(``0: 3.8e-08 / 4.94; 1: 2.8e-08 / 4.94``, ``0: 175,602 plateau; 1: 500,000 max_iters``): a cell seed
    by seed, as its verdicts read it (a blown-up seed says so)."""
    errs, ranks = split_seeds(c.get("test_error_seeds")), split_seeds(c.get("effective_rank_seeds"))
    stops = seed_stops(c)
    if not (errs and ranks and stops and len(errs) == len(ranks) == len(stops)):
        return f"{c['test_error_mean']:.3g} / {c['effective_rank_mean']:.2f} (mean)", str(
            c.get("stop_reasons", "")
        )
    values = "; ".join(
        f"{s.seed}: {float(e):.2g} / {float(r):.2f}" for s, e, r in zip(stops, errs, ranks, strict=True)
    )
    ends = "; ".join(
        f"{s.seed}: {s.iterations:,} {s.reason}" + (" (blew up)" if s.blew_up else "") for s in stops
    )
    return values, ends


def _file(c: pd.Series) -> str:
    """The cell's result file as the evidence names it (``results/cells/…``)."""
    f = str(c.get("file", ""))
    return f[f.index("results/") :] if "results/" in f else f


def _cell_rows(cells: pd.DataFrame) -> list[str]:
    rows = []
    for _, c in cells[cells["optimizer"].notna()].iterrows():  # the training cells (not baselines)
        values, ends = _seeds_text(c)
        rows.append(f"| {c['experiment']} | {c['optimizer']} + {c['penalty']}, depth {c['depth']}, λ {c['lam']:g}, rank {c['rank']}, "
                    f"{c['n_obs']} entries | {values} | {ends} | {c['seconds']:.0f} | {_settings(c)} | `{_file(c)}` |")  # fmt: skip
    return rows


CELLS_HEAD = [
    "| experiment | cell | seed: Err / Rk | seed: iterations, stop reason | seconds | readings | file |",
    "|---|---|---|---|---:|---|---|",
]


def kept_rows(kept: pd.DataFrame) -> list[str]:
    """The section on the cells kept toward entries not yet done (``kept``: their rows, ``experiment`` the
    entry's name): numbers only, no verdict (an entry's claims are judged once all its jobs are in)."""
    if kept.empty:
        return []
    return ["", "## Kept toward entries not yet done (no verdict yet)", "",
            "The training cells the evidence holds for queue entries that still wait for other jobs (baselines "
            "are not listed), seed by seed; their claims are judged once the entry is done.", "",
            *CELLS_HEAD, *_cell_rows(kept)]  # fmt: skip


def _reading_rows(sens: pd.DataFrame, readings: dict) -> list[str]:
    """The readings report of these claims (:func:`matcomp.report.sensitivity.to_markdown`), one level down."""
    if not readings:
        return []
    text = sensitivity_markdown(sens, readings, "decide")
    return ["", *("#" + line if line.startswith("#") else line for line in text.splitlines())]


def _paper_rows(cells: pd.DataFrame, budget: dict, readings: dict) -> list[str]:
    """The paper's printed numbers of Tables 1, 3 and 4 beside ours (:mod:`matcomp.report.paper`), for the
    cells that ran, under the defaults and under each reading that reran a table (its ``X@reading`` cells
    read as X): agrees / differs only where our cell is decided (``budget``: :func:`verdicts`')."""
    frames = {"defaults": defaults_only(cells), **{r: under_reading(cells, r) for r in readings}}
    ran = by_reading({n: with_decisions(df, budget) for n, df in frames.items() if not df.empty})
    ran = ran[ran["mark"] != "not run"]
    if ran.empty:
        return []
    rows = [f"| {r} | {sum(c.values())} | " + " | ".join(str(c.get(k, 0)) for k in MARKS) + " |"
            for r, c in tally(ran).items()]  # fmt: skip
    return ["", "## The paper's printed numbers beside ours (Tables 1, 3, 4: the cells that ran)", "",
            "Agreement only where our cell is decided (Err within the factor and |ΔRk| of `paper_vs_ours.md`), "
            "under the defaults and under each reading that reran a table.", "",
            "| reading | printed cells that ran | " + " | ".join(MARKS) + " |", "|---|---:|" + "---:|" * len(MARKS),
            *rows, "", *paper_markdown(ran, pd.DataFrame()).splitlines()[4:]]  # fmt: skip


MARKS = ("agrees", "differs", "undecided")
"""The marks of :func:`matcomp.report.paper.synthetic` (a mark's first word)."""


def markdown(
    workdir: Path,
    sources: list[str] | None = None,
    parts: dict[str, set[str]] | None = None,
    kept: pd.DataFrame | None = None,
) -> str:
    """The verdicts report of ``workdir``'s tables; ``sources``: where each experiment's evidence was made
    (``benchmarks/decide_campaign.py rebuild`` names the committed evidence it rebuilt them from);
    ``parts``: the experiments of which only a part ran, with the claims that part decides; ``kept``: the
    cells kept toward entries not yet done (:func:`kept_rows`)."""
    judged, cells, sens, readings, budget = verdicts(workdir, parts)
    where = (
        ["Rebuilt by `python benchmarks/decide_campaign.py rebuild` from the committed evidence "
         "(`benchmarks/decide/results/`), with the report code of this commit:", "",
         *(f"- {s}" for s in sources), ""]
        if sources
        else []
    )  # fmt: skip
    lines = [
        "# Verdicts of a partial `scale=decide` run (`benchmarks/decide_verdicts.py`)",
        "",
        *where,
        f"Tables: {', '.join(sorted(cells['experiment'].dropna().unique()))}; machine: {_cpu()} "
        f"({platform.machine()}, CPU only). Paper settings with `train.stop: plateau` "
        "and 2 seeds. *Decided by*: how each of the claim's cells was decided (a cell counts only once it is).",
        "",
        "| claim | verdict | leaning | decided by |",
        "|---|---|---|---|",
    ]
    for _, j in judged.iterrows():
        lines.append(f"| {j['id']} | {j['verdict']} | {j['leaning'] or '–'} | {j['cells'] or '–'} |")
    lines += _reading_rows(sens, readings)
    lines += _paper_rows(cells, budget, readings)
    lines += ["", "## The cells", "", *CELLS_HEAD, *_cell_rows(cells)]
    lines += kept_rows(kept if kept is not None else pd.DataFrame())
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workdir", type=Path)
    p.add_argument("--out", type=Path, default=Path(__file__).with_name("decide_verdicts.md"))
    a = p.parse_args()
    a.out.write_text(markdown(a.workdir))
    print(a.out.read_text())


if __name__ == "__main__":
    main()
