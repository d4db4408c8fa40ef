"""The claims step: the typed tables in (:mod:`.cells`), the claims judged (:mod:`.claims`), and every
report written: ``claims.{md,csv}``, the readings report (:mod:`.sensitivity`), the paper's printed numbers
beside ours (:mod:`.paper`) and the one-page answer (:mod:`.summary`).  It sits above those modules, so
none of them imports another's writer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..store.io import write_with
from .cells import read_tables
from .claims import judge, load_claims, members_of, to_markdown, with_decisions
from .paper import write_paper_vs_ours
from .sensitivity import changed_verdicts, defaults_only, sensitivity, under_reading, write_sensitivity
from .summary import write_report


def check_claims(
    claims_file: str | Path, tables: Sequence[str | Path], md: str, csv: str, scale: str = "paper",
    budget: dict[str, Any] | None = None, paper_md: str | None = None, paper_csv: str | None = None,
    readings: dict[str, Any] | None = None, readings_md: str | None = None, readings_csv: str | None = None,
    report_md: str | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Evaluate ``claims_file`` on the default experiments' cells of ``tables``; ``budget``
    (:func:`matcomp.plan.budgets.claim_budgets`) as in :func:`.claims.evaluate`; with
    ``paper_md``/``paper_csv`` also the paper's printed numbers beside ours; with ``readings`` (the config's
    ``readings:``) and ``readings_md``/``readings_csv`` every claim under every reading too, and each claim
    whose verdict changes with a reading says so; with ``report_md`` the one-page answer."""
    raw = read_tables(tables)
    df = with_decisions(defaults_only(raw), budget)
    claims = load_claims(claims_file)
    members = members_of(df, (budget or {}).get("plan"))
    res = pd.DataFrame([judge(claim, df, members) for claim in claims])
    sens = pvo = None
    if readings_md and readings_csv:
        sens = sensitivity(claims, raw, budget, readings or {}, base=res)
        write_sensitivity(sens, readings or {}, scale, readings_md, readings_csv)
        changed = changed_verdicts(sens)
        res["other_readings"] = [changed.get(i, "") for i in res["id"]]
    if paper_md and paper_csv:
        frames = {
            "defaults": df,
            **{r: with_decisions(under_reading(raw, r), budget) for r in readings or {}},
        }
        pvo = write_paper_vs_ours(frames, paper_md, paper_csv)
    res.insert(0, "scale", scale)
    write_with(csv, lambda t: res.to_csv(t, index=False))
    write_with(md, lambda t: Path(t).write_text(to_markdown(res, scale)))
    if report_md:
        write_report(res, scale, report_md, pvo, sens)
    return res
