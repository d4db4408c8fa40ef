"""Every claim under every reading: the sensitivity report (``results/readings.{md,csv}``).

A reading R (``readings:`` in ``config.yaml``) reran some experiments X as ``X@R``
(:func:`matcomp.plan.config.with_readings`).  Under R the claims see, for each experiment R reran, its
``X@R`` cells in place of X's, and nothing of the experiments R did not rerun: a claim that reads any of
those is *not planned* under R (shown as "–"), never judged on the defaults' cells under R's name.  Each
claim is judged by the same rule as ``claims.md`` (:func:`matcomp.report.claims.evaluate`: decided cells
only), so an undecided reading says "not reached" with its leaning.  A claim *changes* with the readings
when a planned reading gives it another verdict than the defaults do ("not run" under a reading, its cells
absent from this run, is no change).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..labels import split_reading
from ..store.io import write_with
from .claims import SELECTIONS, evaluate, prepare

NOT_PLANNED = "–"
DECIDED = ("held", "not held")


def _experiments(df: pd.DataFrame) -> pd.Series:
    return df["experiment"].fillna("").astype(str) if "experiment" in df else pd.Series("", index=df.index)


def defaults_only(df: pd.DataFrame) -> pd.DataFrame:
    """The cells of the default experiments (no ``@reading`` in their name)."""
    if df.empty:
        return df
    return df[[split_reading(e)[1] is None for e in _experiments(df)]]


def under_reading(df: pd.DataFrame, reading: str) -> pd.DataFrame:
    """The cells the claims read under ``reading``: each ``X@reading`` row renamed X, nothing else."""
    if df.empty:
        return df
    split = [split_reading(e) for e in _experiments(df)]
    keep = [r == reading for _, r in split]
    out = df[keep].copy()
    out["experiment"] = [b for (b, _), k in zip(split, keep) if k]
    return out


def claim_experiments(claim: dict[str, Any]) -> set[str]:
    """The experiments a (prepared) claim's checks select."""
    out: set[str] = set()
    for chk in claim["checks"]:
        for key in SELECTIONS:
            exp = (chk.get(key) or {}).get("experiment")
            out |= set(exp) if isinstance(exp, list) else {exp} if exp else set()
    return out


def _verdict(row: pd.Series) -> str:
    return row["verdict"] + (f" ({row['leaning']})" if row.get("leaning") else "")


def sensitivity(
    claims: list[dict[str, Any]], df: pd.DataFrame, budget: dict[str, Any] | None, readings: dict[str, Any],
    base: pd.DataFrame | None = None,
) -> pd.DataFrame:  # fmt: skip
    """One row per claim: its verdict under the defaults and under each reading (``readings``: the
    config's ``readings:`` table), ``changes`` (the readings that give another verdict) and, per reading,
    what we measured under it (``ours_<reading>``).  ``base``: the claims already judged on the defaults'
    cells, in the order of ``claims`` (judged here when not given)."""
    prepared = prepare(claims)
    base = evaluate(prepared, defaults_only(df), budget) if base is None else base.reset_index(drop=True)
    out = pd.DataFrame(
        {"id": base["id"], "defaults": base.apply(_verdict, axis=1), "ours_defaults": base["ours"]}
    )
    changes: list[list[str]] = [[] for _ in prepared]
    for reading, spec in readings.items():
        planned = set(spec.get("experiments", []))
        res = evaluate(prepared, under_reading(df, reading), budget)
        column, ours = [], []
        for i, claim in enumerate(prepared):
            if not claim_experiments(claim) <= planned:
                column.append(NOT_PLANNED)
                ours.append("")
                continue
            column.append(_verdict(res.iloc[i]))
            ours.append(res.iloc[i]["ours"])
            if res.iloc[i]["verdict"] not in (base.iloc[i]["verdict"], "not run"):
                changes[i].append(reading)
        out[reading], out[f"ours_{reading}"] = column, ours
    out["changes"] = ["; ".join(c) for c in changes]
    return out


def changed_verdicts(sens: pd.DataFrame) -> dict[str, str]:
    """``{claim id: "held under defaults, not held under init_layer"}`` for the claims whose verdict differs
    between readings (the words ``claims.md`` adds to those claims)."""
    out = {}
    for _, row in sens.iterrows():
        if row["changes"]:
            parts = [f"{row['defaults']} under the defaults"]
            parts += [f"{row[r]} under {r}" for r in row["changes"].split("; ")]
            out[row["id"]] = ", ".join(parts)
    return out


def _bare(verdict: str) -> str:
    return str(verdict).split(" (")[0]


def reading_names(sens: pd.DataFrame) -> list[str]:
    """The readings a sensitivity table judged (its ``ours_<reading>`` columns)."""
    return [c.removeprefix("ours_") for c in sens if c.startswith("ours_") and c != "ours_defaults"]


def scoreboard(sens: pd.DataFrame, readings: dict[str, Any], heading: str = "##") -> list[str]:
    """Is there one reading under which the paper reproduces?  Per reading (the defaults and each of
    ``readings``), its decided verdicts over the claims it planned; then, per reading, the claims it does
    not hold that another reading holds (the conflicting pairs), and the claims no reading holds."""
    names = ["defaults", *readings]
    rows, held, failed = [], {}, {}
    for n in names:
        col = sens[n].map(_bare)
        held[n] = set(sens.loc[col == "held", "id"])
        failed[n] = set(sens.loc[col == "not held", "id"])
        planned = int((col != NOT_PLANNED).sum())
        rows.append(f"| {n} | {len(held[n])} | {len(failed[n])} | {planned - len(held[n]) - len(failed[n])} | "
                    f"{len(sens) - planned} |")  # fmt: skip
    conflicts = {n: sorted((i, [m for m in names if i in held[m]]) for i in failed[n]
                           if any(i in held[m] for m in names)) for n in names}  # fmt: skip
    ever_held = set().union(*held.values())
    nowhere = sorted(set().union(*failed.values()) - ever_held)
    clean = [n for n in names if not conflicts[n]]
    lines = [
        f"{heading} Scoreboard: is there one reading under which the paper reproduces?",
        "",
        "Decided verdicts per reading, over the claims that reading planned (a reading reruns only the "
        "experiments it lists; *undecided*: not reached, inconclusive, uninformative or not run).",
        "",
        "| reading | held | not held | undecided | not planned |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
    ]
    if not ever_held:
        return [*lines, "No claim is held under any reading at this scale: nothing to reconcile yet.", ""]
    if clean:
        lines.append(f"Readings that fail no claim another reading holds: **{', '.join(clean)}** (each may "
                     "still leave claims undecided or unplanned).")  # fmt: skip
    else:
        lines.append(
            "**No single reading holds together what the readings hold:** each fails a claim another holds."
        )
    for n in names:
        if conflicts[n]:
            pairs = "; ".join(f"{i} (held under {', '.join(m)})" for i, m in conflicts[n])
            lines.append(f"- under **{n}**, not held: {pairs}")
    lines += ["", *_apart(held, failed, names)]
    lines += [f"Claims not held under any reading that decides them: {', '.join(nowhere) or 'none'}.", ""]
    return lines


def _apart(held: dict[str, set[str]], failed: dict[str, set[str]], names: list[str]) -> list[str]:
    """The claims that no reading holds together: claims grouped by the readings that hold them; two groups
    whose readings do not meet are held apart (each claim of the one with each of the other).  *Settled*
    where every reading fails the whole of one group or of the other (so fails one claim of each pair);
    else the readings that do neither may still hold a claim of each (they left one undecided): open."""
    where: dict[str, frozenset[str]] = {}
    for n in names:
        for claim in held[n]:
            where[claim] = where.get(claim, frozenset()) | {n}
    groups: dict[frozenset[str], list[str]] = {}
    for claim, readings in sorted(where.items()):
        groups.setdefault(readings, []).append(claim)
    keys = sorted(groups, key=lambda k: [names.index(n) for n in names if n in k])
    settled, open_ = [], []
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if a & b:
                continue
            still = [n for n in names if not (failed[n] >= set(groups[a]) or failed[n] >= set(groups[b]))]
            pair = (f"- {', '.join(groups[a])} (held under {_in_order(a, names)}) · {', '.join(groups[b])} "
                    f"(held under {_in_order(b, names)})")  # fmt: skip
            (open_ if still else settled).append(f"{pair}: open under {', '.join(still)}" if still else pair)
    if not settled and not open_:
        return ["Every two claims held somewhere are held together by some reading.", ""]
    out = ["**Held apart** (every reading fails a claim of each pair):", *settled, ""] if settled else [
        "No two claims are held apart by every reading yet.", ""]  # fmt: skip
    if open_:
        out += ["Not yet held together (no reading holds one of each so far; the readings named left one "
                "side undecided and may still):", *open_, ""]  # fmt: skip
    return out


def _in_order(readings: frozenset[str], names: list[str]) -> str:
    return ", ".join(n for n in names if n in readings)


def to_markdown(sens: pd.DataFrame, readings: dict[str, Any], scale: str) -> str:
    names = list(readings)
    changed = sens[sens["changes"] != ""]
    decided_flips = [
        r["id"] for _, r in changed.iterrows()
        if any(r[x].split(" (")[0] in DECIDED for x in ["defaults", *r["changes"].split("; ")])
    ]  # fmt: skip
    lines = [
        "# Every claim under every reading",
        "",
        f"Scale: **{scale}**. Each reading reruns the experiments it lists with its settings changed (one, or "
        "several together: a bundle); a claim is "
        f"judged under it by the same rule as `claims.md` (decided cells only). {NOT_PLANNED}: the reading did "
        "not rerun this claim's experiments at this scale. *not reached* means undecided at this budget.",
        "",
        *scoreboard(sens, readings),
        "| reading | what it changes | experiments rerun |",
        "|---|---|---|",
        *[
            f"| {n} | {readings[n].get('description', '')} | {', '.join(readings[n].get('experiments', []))} |"
            for n in names
        ],  # fmt: skip
        "",
        f"Claims whose verdict changes with a reading: **{len(changed)}** of {len(sens)}"
        + (
            f"; between decided verdicts (held / not held): {', '.join(decided_flips)}"
            if decided_flips
            else ""
        )
        + ".",
        "",
        "| claim | defaults | " + " | ".join(names) + " | changes with |",
        "|---|---|" + "---|" * len(names) + "---|",
    ]
    for _, r in sens.iterrows():
        cells = [r["id"], r["defaults"], *[r[n] for n in names], r["changes"] or ""]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    if not changed.empty:
        lines += ["", "## What we measured where a verdict changes", ""]
        for _, r in changed.iterrows():
            lines.append(f"- **{r['id']}**: defaults ({r['defaults']}): {r['ours_defaults']}")
            lines += [f"  - {n} ({r[n]}): {r[f'ours_{n}']}" for n in r["changes"].split("; ")]
    return "\n".join(lines) + "\n"


def write_sensitivity(sens: pd.DataFrame, readings: dict[str, Any], scale: str, md: str, csv: str) -> None:
    write_with(csv, lambda t: sens.assign(scale=scale).to_csv(t, index=False))
    write_with(md, lambda t: Path(t).write_text(to_markdown(sens, readings, scale)))
