"""The claims report: verdict counts, the legend and one table row per claim."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from ...store.paths import READINGS
from .outcomes import VERDICT_ORDER
from .verdicts import load_untested

# ---------------------------------------------------------------- the report


def verdict_counts(res: pd.DataFrame) -> str:
    """``held: 9, not held: 1, not reached at this budget: 17, ...``: every verdict that occurs, in a fixed
    order (held, not held and not reached always)."""
    counts = res["verdict"].value_counts().to_dict() if not res.empty else {}
    order = [*VERDICT_ORDER, *sorted(set(counts) - set(VERDICT_ORDER))]
    text = ", ".join(f"{v}: {counts.get(v, 0)}" for v in order if counts.get(v) or v in VERDICT_ORDER[:3])
    if "structural" in res and not res.empty:
        decided = res[res["verdict"].isin(["held", "not held"]) & (res["structural"].fillna("") != "")]
        text += (
            f" (of the held / not held, {len(decided)} structural: true by construction)"
            if len(decided)
            else ""
        )
    return text


def legend() -> list[str]:
    """What the verdicts mean, with the decision rule and the plateau rule's numbers."""
    from ...training.plateau import PLATEAU_FITTED, PLATEAU_LOG10_ERR, PLATEAU_RANK

    return [
        "**Decision rule.** A claim is **held** or **not held** only on *decided* cells: cells that ran the "
        "paper's budget (5·10⁵ iterations; Table 2: the configured budget at scale paper), stopped by the "
        "tolerance, diverged, or had plateaued (rule below). A threshold an untrained network already meets "
        "(W₀ ≈ 0 gives test error ≈ 1) is no evidence until the cell is decided. **not reached at this "
        "budget**: the cells a check needs are not decided yet; *leaning held / leaning not held* says "
        "what they show now. **inconclusive**: decided cells cannot measure it (or the bounds of a censored "
        "iteration count cannot settle a ratio). **not run**: its cells are not in this run. Baselines (CP, "
        "SI, OPT) run to their own solver's convergence and count as decided. A diverged seed's error counts "
        "as +∞ (a success claim cannot hold on the survivors); an iteration count that a seed never reached "
        "counts as more than the iterations it ran. **Seed by seed**: a cell meets a criterion only if every "
        "seed does, and cells are compared seed by seed; an error level counts once the error stays at or "
        "below it to the end of the run. **uninformative**: met only by cells whose networks did not train "
        "(data term above 1 % of its start, not diverged), or by the claim's untrained twin (the same cells "
        "at iteration 0).",
        "",
        f"Plateau rule (per seed; a cell has plateaued when all its seeds have): its data term is below "
        f"{PLATEAU_FITTED:.0%} of its value at iteration 0, and over the last decade of iterations (the "
        f"logged points in [T/10, T]) log10 of its test error varies by at most {PLATEAU_LOG10_ERR} and its "
        f"effective rank by at most {PLATEAU_RANK}. The data-term condition tells a saddle from a plateau: "
        "un-penalised GD at depth ≥ 3 sits at test error 1.0 with every logged quantity flat for thousands of "
        "iterations before it drops. A decision from a plateau below the paper's budget is a judgement (a "
        "run can leave a plateau later); `benchmarks/plateau_validation.md` measures how often it was wrong.",
        "",
        "Reading settings (each claim's cells' are in the `settings` column): the initialisation (`init`: end_to_end, the "
        "end product's scale as in [7]'s code, or layer, every layer's std, A.1 read literally), what the 1e-7 "
        "tolerance read (`tol_on`: the whole loss as A.1 words it, or the data term alone), the stop rule "
        "(`budget` or `plateau`), the spectral route "
        "(`svd`: the float32 SVD of the paper's code; `gesvda`: float64), and the momentum of GD (w. "
        "momentum) (A.1 says PyTorch defaults, whose momentum is 0; the project uses 0.9).",
    ]


def to_markdown(res: pd.DataFrame, scale: str, untested: list[dict[str, Any]] | None = None) -> str:
    lines = [
        "# Claims of Zhao (2022), checked",
        "",
        f"Scale: **{scale}**" + ("" if scale == "paper" else " (budgets and seeds below the paper's)"),
        "",
        "Verdicts: " + verdict_counts(res),
        "",
        *legend(),
        "",
    ]
    res = res.assign(_group=res["source"].map(claim_group), _order=res["verdict"].map(_verdict_rank))
    for group in sorted(res["_group"].unique(), key=_group_rank):
        lines += ["", f"## {group}", "", HEADER, "|---|---|---|---|---|---|---|---|---|"]
        for _, r in res[res["_group"] == group].sort_values("_order", kind="stable").iterrows():
            lines.append(_row(r))
    lines += [
        "",
        "## Statements not tested",
        "",
        "| source | statement (verbatim) | why not |",
        "|---|---|---|",
    ]
    lines += [
        f"| {u['source']} | {u['quote']} | {u['why']} |"
        for u in (load_untested() if untested is None else untested)
    ]
    return "\n".join(lines) + "\n"


HEADER = "| id | source | claim (verbatim) | paper | criterion | ours | verdict | decided by / still open | settings |"
FOLD = 400
"""Characters of a measurement or cell list shown before the rest is folded (``<details>``)."""


def claim_group(source: str) -> str:
    """The table or figure a claim is about (``Table 1 / §3.5`` -> ``Table 1``), else the robustness and
    general statements."""
    m = re.match(r"(Table \d|Figure \d)", str(source))
    return m.group(1) if m else "Robustness and general statements"


def _group_rank(group: str) -> tuple[int, str]:
    kind = 0 if group.startswith("Table") else 1 if group.startswith("Figure") else 2
    return kind, group


def _verdict_rank(verdict: str) -> int:
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else len(VERDICT_ORDER)


def _fold(text: str) -> str:
    """Long text as its first :data:`FOLD` characters with the rest folded away."""
    text = str(text).replace("|", "/").replace("\n", " ")
    if len(text) <= FOLD:
        return text
    cut = text.rfind("; ", 0, FOLD)
    cut = cut if cut > 0 else FOLD
    return f"{text[:cut]} <details><summary>more</summary>{text[cut:]}</details>"


def _row(r: pd.Series) -> str:
    """One claim's line of ``claims.md``: decided claims first in their group, long lists folded."""
    verdict = f"**{r['verdict']}**" + (f" ({r['leaning']})" if r.get("leaning") else "")
    if isinstance(r.get("structural"), str) and r["structural"]:
        verdict += f" — structural, not evidence: {r['structural']}"
    if isinstance(r.get("other_readings"), str) and r["other_readings"]:
        verdict += f"; changes with the reading: {r['other_readings']} ({READINGS.format(ext='md')})"
    cells = [r["id"], r["source"], r["quote"], r["paper"], r["criterion"], _fold(r["ours"]), verdict,
             _fold(r["cells"]), r["settings"]]  # fmt: skip
    return "| " + " | ".join(str(c).replace("|", "/").replace("\n", " ") for c in cells) + " |"
