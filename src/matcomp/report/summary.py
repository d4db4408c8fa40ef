"""``results/REPORT.md``: does the paper reproduce?  One short page from the same tables as the claims.

Counts by verdict; the decided claims first, one line each; the undecided ones by leaning, with what would
decide them; the paper's printed numbers beside ours, per table, with the largest disagreements; and the
claims whose verdict changes with a reading.  ``claims.md``, ``readings.md`` and ``paper_vs_ours.md`` keep
the detail.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..store.io import write_with
from ..store.paths import CLAIMS, READINGS
from .claims import verdict_counts
from .paper import mark_kind

DECIDED = ("held", "not held")
WIDTH = 160


def _short(text: object, width: int = WIDTH) -> str:
    s = " ".join(str(text or "").split()).replace("|", "/")
    return s if len(s) <= width else s[: width - 1] + "…"


def _decided_lines(res: pd.DataFrame) -> list[str]:
    decided = res[res["verdict"].isin(DECIDED)]
    if decided.empty:
        return ["No claim is decided at this scale: every verdict below waits for decided cells.", ""]
    lines = ["| claim | the paper | ours | verdict |", "|---|---|---|---|"]
    for _, r in decided.sort_values("verdict").iterrows():
        verdict = f"**{r['verdict']}**"
        if isinstance(r.get("structural"), str) and r["structural"]:
            verdict += " (structural: true by construction, not evidence)"
        if isinstance(r.get("other_readings"), str) and r["other_readings"]:
            verdict += f"; changes with the reading ({_short(r['other_readings'], 80)})"
        lines.append(f"| {r['id']} | {_short(r['paper'], 60)} | {_short(r['ours'], 110)} | {verdict} |")
    return [*lines, ""]


def _open_lines(res: pd.DataFrame) -> list[str]:
    lines = []
    groups = [
        ("not reached at this budget, leaning held", (res["verdict"] == "not reached at this budget") & (res["leaning"] == "leaning held")),
        ("not reached at this budget, leaning not held", (res["verdict"] == "not reached at this budget") & (res["leaning"] == "leaning not held")),
        ("uninformative (met only by cells of networks that did not train, or by the untrained twin)", res["verdict"] == "uninformative"),
        ("inconclusive (decided cells cannot measure it)", res["verdict"] == "inconclusive"),
        ("not run (some of the cells it names are not in this run)", res["verdict"] == "not run"),
    ]  # fmt: skip
    for words, mask in groups:
        ids = list(res.loc[mask, "id"])
        if ids:
            lines.append(f"- **{words}** ({len(ids)}): {', '.join(ids)}")
    return [*lines, ""]


def _paper_lines(pvo: pd.DataFrame | None) -> list[str]:
    if pvo is None or pvo.empty or "mark" not in pvo:
        return ["No printed number of the paper is in this run.", ""]
    kinds = pvo["mark"].map(mark_kind)
    lines = ["| reading | table | agrees | differs | undecided | not run |", "|---|---|---:|---:|---:|---:|"]
    for (reading, table), group in pvo.assign(kind=kinds).groupby(["reading", "table"], sort=False):
        c = group["kind"].value_counts().to_dict()
        lines.append(f"| {reading} | {table} | {c.get('agrees', 0)} | {c.get('differs', 0)} | "
                     f"{c.get('undecided', 0)} | {c.get('not run', 0)} |")  # fmt: skip
    differs = pvo[kinds == "differs"]
    if "test_error_mean" in differs and "paper_err" in differs and not differs.empty:
        gap = [
            abs(math.log10(max(o, 1e-30) / max(p, 1e-30))) if pd.notna(o) and pd.notna(p) else 0.0
            for o, p in zip(differs["test_error_mean"], differs["paper_err"])
        ]
        worst = differs.assign(_gap=gap).sort_values("_gap", ascending=False).head(5)
        lines += ["", "Largest decided disagreements (test error, decades apart):", ""]
        for _, r in worst.iterrows():
            if "optimizer" in r and pd.notna(r.get("optimizer")):
                lines.append(f"- {r['table']}{_under(r['reading'])} {r['optimizer']}, depth {r['depth']}, "
                             f"{r['penalty']}: paper Err "
                             f"{r['paper_err']:.2g}, ours {r['test_error_mean']:.2g} ({r['_gap']:.1f} decades)")  # fmt: skip
    return [*lines, ""]


def _under(reading: str) -> str:
    return "" if reading == "defaults" else f" (under {reading})"


def _reading_lines(sens: pd.DataFrame | None) -> list[str]:
    if sens is None or sens.empty:
        return ["No alternative reading ran at this scale.", ""]
    from .sensitivity import reading_names, scoreboard

    board = scoreboard(sens, dict.fromkeys(reading_names(sens)), heading="###")
    changed = sens[sens["changes"] != ""]
    if changed.empty:
        return [
            *board,
            f"No claim's verdict changes with the readings that ran (`{READINGS.format(ext='md')}`).",
            "",
        ]
    lines = [*board, "### The claims whose verdict changes", ""]
    for _, r in changed.iterrows():
        others = "; ".join(f"{n}: {r[n]}" for n in r["changes"].split("; "))
        lines.append(f"- **{r['id']}**: defaults {r['defaults']}; {others}")
    return [*lines, ""]


def report_markdown(
    res: pd.DataFrame, scale: str, pvo: pd.DataFrame | None = None, sens: pd.DataFrame | None = None
) -> str:
    at_paper = scale == "paper"
    return "\n".join([
        f"# Does Zhao (2022) reproduce? Scale `{scale}`",
        "",
        f"{len(res)} claims (every statement of the paper; where the paper leaves a setting open, one claim per "
        f"reading). Verdicts: {verdict_counts(res)}.",
        "",
        "A claim is held or not held only on decided cells (the paper's budget, the tolerance, divergence, or a "
        "plateau), never on a threshold an untrained network meets."
        + ("" if at_paper else " At this scale the budgets and seeds are below the paper's: `scale=decide` "
           "(paper budgets, plateau stop, 2 seeds) decides the rest; its cost is in `benchmarks/cost_decide.md`, "
           "what partial decide runs found in `benchmarks/decide_verdicts.md`."),
        "",
        "## Decided claims",
        "",
        *_decided_lines(res),
        "## Not decided here",
        "",
        *_open_lines(res),
        "## The paper's printed numbers beside ours (`paper_vs_ours.md`)",
        "",
        *_paper_lines(pvo),
        "## Readings that change verdicts (`readings.md`)",
        "",
        *_reading_lines(sens),
        f"Detail: `{CLAIMS.format(ext='md')}` (every claim with its quote, criterion, cells and their reading settings).",
        "",
    ])  # fmt: skip


def write_report(
    res: pd.DataFrame,
    scale: str,
    md: str | Path,
    pvo: pd.DataFrame | None = None,
    sens: pd.DataFrame | None = None,
) -> None:
    write_with(str(md), lambda t: Path(t).write_text(report_markdown(res, scale, pvo, sens)))
