"""The decide campaign (benchmarks/decide_campaign.py): its queue, what fits, and the evidence moved both ways."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import decide_campaign as dc
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st


def job(name: str, hours: float, exp: str = "fig3") -> dc.Job:
    return dc.Job(f"results/baselines/cp/{name}.json", (f"results/data/{name}.npz",), hours, (exp,))


def test_fitting_keeps_the_queue_order_starts_nothing_too_long_and_backfills():
    jobs = [job("a", 1.0), job("b", 0.5), job("c", 3.0), job("d", 0.1), job("e", 0.5)]
    a, b, c, d, e = jobs
    # one core, 2 h: a and b (1.5 h); c (3 h) is too long; d fits after them, e (0.5 h more) does not
    assert dc.fitting(jobs, 2.0, 1) == [a, b, d]
    # two cores, 2 h (4 core-hours): c is still too long for either core; everything else goes
    assert dc.fitting(jobs, 2.0, 2) == [a, b, d, e]
    assert dc.fitting(jobs, 0.4, 2) == [d]  # only d fits in 0.4 h
    assert dc.fitting(jobs, 0.05, 2) == []
    assert dc.fitting(jobs, 10.0, 1) == jobs
    # three 1.46 h jobs on two cores end at 2.92 h whatever the order: only two start in 2.3 h, and a short
    # job after them still goes (2.2 h worst case)
    f, g, h, i = job("f", 1.46), job("g", 1.46), job("h", 1.46), job("i", 0.1)
    assert dc.fitting([f, g, h, i], 2.3, 2) == [f, g, i]


def list_schedule(hours: list[float], cores: int) -> float:
    """When the last job ends if each starts, in the given order, on the first free core (Snakemake's way)."""
    free = [0.0] * cores
    for h in hours:
        free[free.index(min(free))] += h
    return max(free, default=0.0)


@given(
    st.lists(st.floats(0.01, 3.0), max_size=12),
    st.floats(0.1, 4.0),
    st.integers(1, 4),
    st.randoms(use_true_random=False),
)
def test_a_fitting_batch_ends_in_time_in_any_order(lengths, hours, cores, rnd):
    batch = [h.hours for h in dc.fitting([job(str(k), x) for k, x in enumerate(lengths)], hours, cores)]
    rnd.shuffle(batch)
    assert list_schedule(batch, cores) <= hours + 1e-9


def test_estimates_are_scaled_by_the_slowdown_the_evidences_full_budget_jobs_measured(tmp_path, monkeypatch):
    """The step table's estimate is an idle machine's; the median full-budget job here took longer."""
    docs = {}

    def cell_job(name: str, hours: float, ran_h: float, iters: list[int]) -> dc.Job:
        j = dc.Job(f"results/cells/{name}.json", (), hours, ("fig3",))
        (tmp_path / j.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / j.path).write_text("{}")
        docs[str(tmp_path / j.path)] = {
            "job": {"train": {"max_iters": 500}},
            "cells": [{"provenance": {"seconds": ran_h * 1800}, "runs": [{"iterations": i} for i in iters]}]
            * 2,
        }
        return j

    monkeypatch.setattr(dc.results, "read", lambda p: docs[str(p)])
    full = [
        cell_job("a", 1.0, 2.0, [500, 500]),
        cell_job("b", 2.0, 3.0, [500]),
        cell_job("c", 1.0, 3.0, [500]),
    ]
    early = cell_job("d", 1.0, 0.1, [500, 120])  # a plateau stop: says nothing of the step's speed
    missing = dc.Job("results/cells/e.json", (), 1.0, ("fig3",))
    jobs = {j.path: j for j in [*full, early, missing, job("cp", 0.05)]}
    assert dc.slowdown(jobs, tmp_path) == (2.0, 3)  # median of 2.0, 1.5, 3.0
    assert dc.calibrated(jobs, 2.0)["results/cells/e.json"].hours == 2.0
    assert dc.slowdown({early.path: early}, tmp_path) == (1.0, 0)  # nothing measured: the estimate
    assert dc.slowdown({full[0].path: dc.Job(full[0].path, (), 5.0, ("fig3",))}, tmp_path) == (
        1.0,
        1,
    )  # floor


def write_result(root: Path, j: dc.Job, mtime: float) -> None:
    for rel in j.data:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"data")
        os.utime(root / rel, (mtime - 100, mtime - 100))
    (root / j.path).parent.mkdir(parents=True, exist_ok=True)
    (root / j.path).write_text(json.dumps({"job": {"path": j.path}, "runs": []}))
    os.utime(root / j.path, (mtime, mtime))


def test_harvest_then_restore_round_trip_keeps_results_newer_than_their_inputs(tmp_path):
    work, evidence, fresh = tmp_path / "work", tmp_path / "evidence", tmp_path / "fresh"
    good, broken, unfinished = job("good", 0.1), job("broken", 0.1), job("unfinished", 0.1)
    write_result(work, good, 1_000_000.0)
    write_result(work, broken, 1_000_000.0)
    (work / broken.path).write_text("{not json")
    kept = dc.harvest(work, [good, broken, unfinished], evidence)
    assert kept == [good]
    assert (evidence / good.path).is_file() and not (evidence / broken.path).exists()
    assert dc.pending([good, broken, unfinished], evidence) == [broken, unfinished]

    (fresh / good.data[0]).parent.mkdir(parents=True)
    before = time.time()
    assert dc.restore(fresh, evidence) == 2
    assert (fresh / good.path).stat().st_mtime > (fresh / good.data[0]).stat().st_mtime
    # newer than a fresh clone's scripts: an output older than its rule's script would be made again
    assert (fresh / good.data[0]).stat().st_mtime >= before - 1
    mine = fresh / "results" / "mine.txt"
    mine.write_text("the user's")
    assert dc.restore(fresh, evidence) == 0  # nothing already there is copied over
    assert mine.read_text() == "the user's"


def test_the_committed_queue_names_only_experiments_of_the_decide_scale():
    config, doc = dc.decide_config(), dc.read_queue()
    entries = dc.check_queue(doc, config)
    assert entries[0].name == "fig3"
    assert set(doc["done"]) <= {e.name for e in entries}
    jobs = dc.plan(config)
    for entry in entries:
        assert dc.entry_jobs(entry, jobs), f"{entry.name} plans no job at scale decide"
        assert dc.target_of(config, entry.experiment).startswith(("figures/", "results/tables/"))


def test_an_unknown_experiment_in_the_queue_is_named_before_any_work():
    config = dc.decide_config()
    with pytest.raises(SystemExit, match="fig33"):
        dc.check_queue({"queue": [{"experiment": "fig3"}, {"experiment": "fig33"}], "done": {}}, config)


def part(only: dict, claims: list[str], name: str = "t1_part", experiment: str = "table1") -> dict:
    return {"name": name, "experiment": experiment, "only": only, "claims": claims}


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (part({"depths": [1]}, ["T1-adam-ratio-d1"]), "not 'depths'"),  # a job holds its depths together
        (part({"optimizers": ["adam", "sgd"]}, ["T1-adam-ratio-d1"]), "sub-list"),
        (part({"optimizers": []}, ["T1-adam-ratio-d1"]), "sub-list"),
        (part({"optimizers": ["adam"]}, []), "claims"),
        (part({"optimizers": ["adam"]}, ["T1-adam-ratio-d1"], name="table1"), "own name"),
        # 'for every penalty' of GD at depth 1 cannot be judged on two penalties
        (
            part({"optimizers": ["gd"], "penalties": ["none", "ratio"]}, ["T1-gd-d1-fails"]),
            "T1-gd-d1-fails: reads penalty",
        ),
        (part({"optimizers": ["gd"]}, ["T1-adam-ratio-d1"]), "T1-adam-ratio-d1: reads optimizer adam"),
        (part({"optimizers": ["adam"]}, ["T1-no-such-claim"]), "no such claim"),
    ],
)
def test_a_part_that_cannot_decide_its_claims_is_refused_before_any_work(raw, named):
    config = dc.decide_config()
    with pytest.raises(SystemExit, match=named):
        dc.check_queue({"queue": [{"experiment": "fig3"}, raw], "done": {}}, config)


def test_a_part_plans_exactly_the_jobs_of_its_cut_with_the_whole_scales_names():
    config = dc.decide_config()
    jobs = dc.plan(config)
    (entry,) = dc.check_queue({"queue": [part({"optimizers": ["adam", "gd"], "penalties": ["ratio"]},
                                               ["T1-adam-ratio-d1", "T1-gd-ratio-d3"])], "done": {}}, config)  # fmt: skip
    mine = dc.entry_jobs(entry, jobs)
    whole = dc.jobs_of(jobs, "table1")
    assert {j.path for j in mine} == {
        j.path for j in whole if j.path.split("/")[3:5] in (["adam", "ratio"], ["gd", "ratio"])
    }
    assert len(mine) == 2 and all(j in whole for j in mine)  # the same jobs: one evidence for both


def test_a_part_is_built_with_its_cut_only_where_its_whole_experiment_is_not_done():
    config = dc.decide_config()
    raw = [{"experiment": "fig3"}, {"experiment": "table1"},
           part({"optimizers": ["adam"], "penalties": ["ratio"]}, ["T1-adam-ratio-d1"]),
           part({"optimizers": ["adam"], "penalties": ["ratio"]}, ["T1-adam-ratio-d1"], "t1_part@code7", "table1@code7")]  # fmt: skip
    entries = dc.check_queue({"queue": raw, "done": {}}, config)
    groups = dc.builds(entries, ["fig3", "t1_part", "t1_part@code7"])
    assert [e.name for e in groups[""]] == ["fig3"]
    (overlay,) = set(groups) - {""}
    assert [e.name for e in groups[overlay]] == ["t1_part", "t1_part@code7"]  # one build: the same cut
    assert "optimizers:\n    - adam" in overlay
    groups = dc.builds(entries, ["table1", "t1_part", "t1_part@code7"])
    assert [e.name for e in groups[""]] == ["table1"]  # the whole table: its part is not built beside it
    assert [e.name for g in groups.values() for e in g] == ["table1", "t1_part@code7"]


def test_a_part_judges_only_the_claims_it_names():
    from decide_verdicts import judgeable

    from matcomp.report.claims import load_claims

    claims = load_claims()
    kept = {c["id"] for c in judgeable(claims, {"table1": {"T1-adam-ratio-d1"}})}
    assert "T1-adam-ratio-d1" in kept and "T1-gd-d1-fails" not in kept and "I1-only-adam-gd" not in kept
    assert "F3-adam-ratio-d1" in kept  # claims on other experiments stay
    assert {c["id"] for c in judgeable(claims, None)} == {c["id"] for c in claims}


def test_a_done_experiment_made_by_other_code_is_not_rebuilt(tmp_path):
    parts = {"fig3": [job("x", 0.1, "fig3")]}
    ok, stale = dc.rebuildable({"done": {"fig3": {}}}, parts, tmp_path)
    assert ok == [] and stale[0][0] == "fig3" and "changed since" in stale[0][1]
    write_result(tmp_path, parts["fig3"][0], 1_000.0)
    assert dc.rebuildable({"done": {"fig3": {}}}, parts, tmp_path) == (["fig3"], [])
    assert dc.rebuildable({"done": {"gone": {}}}, parts, tmp_path)[1] == [("gone", "no longer in the queue")]


def test_an_entry_is_marked_done_once_all_its_jobs_are_in_the_evidence(tmp_path):
    queue = tmp_path / "queue.yaml"
    queue.write_text("# header kept\nqueue:\n- experiment: fig3\n- experiment: fig1\ndone: {}\n")
    a, b, c = job("a", 0.1, "fig3"), job("b", 0.1, "fig3"), job("c", 0.1, "fig1")
    parts = {"fig3": [a, b], "fig1": [c]}
    write_result(tmp_path / "ev", a, 1_000.0)
    assert dc.mark_complete(parts, tmp_path, tmp_path / "ev", queue) == []  # b is missing
    write_result(tmp_path / "ev", b, 1_000.0)
    assert dc.mark_complete(parts, tmp_path, tmp_path / "ev", queue) == ["fig3"]
    doc = dc.read_queue(queue)
    assert set(doc["done"]) == {"fig3"} and doc["done"]["fig3"]["jobs"] == 2
    assert queue.read_text().startswith("# header kept")
    assert dc.mark_complete(parts, tmp_path, tmp_path / "ev", queue) == []  # once


def _verdict_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and line.count("|") == 5]


def test_the_committed_verdicts_are_what_todays_rule_gives_on_the_committed_evidence(tmp_path):
    """A fresh clone rebuilds every decided verdict from benchmarks/decide/ without training (the rebuild
    may run only the table and figure rules), and gets benchmarks/decide_verdicts.md's verdicts: a change of
    the rule that changes them must regenerate that file (`decide_campaign.py rebuild`)."""
    if not dc.read_queue()["done"]:
        pytest.skip("no experiment is done in the committed queue")
    out = tmp_path / "verdicts.md"
    dc.rebuild(1, out, tmp_path / "figures")
    assert _verdict_rows(out.read_text()) == _verdict_rows(dc.VERDICTS.read_text())
    assert sorted(p.name for p in (tmp_path / "figures").glob("*.png"))


def test_cells_kept_toward_an_entry_not_yet_done_are_shown_seed_by_seed_without_a_verdict():
    """A job in the evidence whose entry still waits for others: its cells are listed (each seed's Err / Rk
    and stop, its file), once, and not at all once the entry is done (its cells are the verdicts')."""
    import decide_verdicts

    jobs = dc.plan(dc.decide_config())
    fig1 = [j for j in dc.entry_jobs(next(e for e in dc.check_queue(dc.read_queue(), dc.decide_config())
                                          if e.name == "fig1"), jobs) if dc.in_evidence(j)]  # fmt: skip
    if not fig1:
        pytest.skip("Figure 1's jobs are not in the committed evidence under today's names")
    parts = {"waiting": fig1, "also_waiting": fig1[:1]}  # a shared job: under its first entry only
    kept = dc.kept_toward({"done": {}}, parts)
    assert set(kept["experiment"]) == {"waiting"} and set(kept["file"]) == {j.path for j in fig1}
    assert len(kept) == len(kept[["file", "depth"]].drop_duplicates())
    text = "\n".join(decide_verdicts.kept_rows(kept))
    for _, row in kept.iterrows():
        errs = row["test_error_seeds"].split(";")
        assert f"0: {float(errs[0]):.2g} / " in text and f"`{row['file']}`" in text
    assert dc.kept_toward({"done": {"waiting": {}}}, parts).empty
    assert decide_verdicts.kept_rows(pd.DataFrame()) == []


def test_a_done_part_is_rebuilt_with_its_cut_and_judges_only_its_claims(tmp_path):
    """Table 1's unpenalised Adam and GD cells are in the evidence (Figure 1's jobs): a part made of them
    rebuilds Table 1 from them alone, judges the two claims it names and no other claim on Table 1."""
    queue = tmp_path / "queue.yaml"
    queue.write_text(yaml.safe_dump({"queue": [{"name": "t1_none", "experiment": "table1", "claims": [
        "T1-gd-d3-none", "T1-adam-none-d1"], "only": {"optimizers": ["adam", "gd"], "penalties": ["none"]}}],
        "done": {"t1_none": {"jobs": 2}}}))  # fmt: skip
    if dc.rebuildable(dc.read_queue(queue), dc.queue_parts(dc.check_queue(dc.read_queue(queue), dc.decide_config()),
                                                          dc.plan(dc.decide_config())))[1]:  # fmt: skip
        pytest.skip("Figure 1's jobs are not in the committed evidence under today's names")
    out = tmp_path / "verdicts.md"
    dc.rebuild(1, out, tmp_path / "figures", queue)
    rows = {
        line.split(" | ")[0].lstrip("| "): line.split(" | ")[1] for line in _verdict_rows(out.read_text())
    }
    assert rows["T1-gd-d3-none"] in ("held", "not held") and "T1-adam-none-d1" in rows
    assert not [
        cid for cid in rows if cid.startswith("T1-") and cid not in ("T1-gd-d3-none", "T1-adam-none-d1")
    ]
    assert "part of table1: optimizers adam, gd; penalties none only" in out.read_text()
    said = out.read_text().split("## The paper's printed numbers beside ours")[1]  # Table 1's cells that ran
    assert "| defaults | table1 | gd | 3 | none | 1e-5 / 5 |" in said and "| table1 | adamax |" not in said


def test_snakemake_calls_back_while_it_runs(monkeypatch, tmp_path):
    """The runner harvests while Snakemake runs (a session that ends mid-batch keeps every finished job)."""
    calls = []
    popen = dc.subprocess.Popen
    monkeypatch.setattr(dc.subprocess, "Popen", lambda cmd, cwd: popen(["sleep", "0.35"]))
    assert dc.snakemake(tmp_path, ["x"], 1, every=lambda: calls.append(1), seconds=0.1) == 0
    assert len(calls) >= 2


def test_readmes_scoreboard_is_the_committed_verdicts_scoreboard():
    """README's answer shows the decided scoreboard as benchmarks/decide_verdicts.md has it: a rebuild that
    changes the verdicts rewrites both (`decide_campaign.py rebuild`), and a hand edit of either fails here."""
    readme = dc.README.read_text()
    block = readme.split(dc.README_MARKS[0])[1].split(dc.README_MARKS[1])[0].strip()
    assert block == dc.scoreboard_block(dc.VERDICTS.read_text())
    assert "| reading | held | not held | undecided | not planned |" in block


def test_the_scoreboard_block_replaces_only_what_lies_between_the_markers(tmp_path):
    verdicts = "# v\n\n### Scoreboard: is there one?\n\nrow one\n| reading | held |\n\n| reading | what it changes |\nafter\n"
    assert dc.scoreboard_block(verdicts) == "row one\n| reading | held |"
    assert dc.scoreboard_block("# no readings ran\n") == "No reading was decided beside the defaults yet."
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{dc.README_MARKS[0]}\nold\nlines\n{dc.README_MARKS[1]}\nafter\n")
    (tmp_path / "v.md").write_text(verdicts)
    dc.write_readme(tmp_path / "v.md", readme)
    assert (
        readme.read_text()
        == f"before\n{dc.README_MARKS[0]}\nrow one\n| reading | held |\n{dc.README_MARKS[1]}\nafter\n"
    )
    readme.write_text("a README whose markers were deleted\n")
    with pytest.raises(SystemExit, match="markers .* are missing"):
        dc.write_readme(tmp_path / "v.md", readme)
    assert readme.read_text() == "a README whose markers were deleted\n"  # nothing written


def test_the_work_folder_follows_the_checkouts_head_and_keeps_its_results(tmp_path, monkeypatch):
    """A work folder left at an older commit is moved to HEAD (its Snakemake must plan the names the runner
    plans); the results there, ignored by git, stay."""
    repo, work = tmp_path / "repo", tmp_path / "work"
    repo.mkdir()

    def git(*args: str, cwd: Path = repo) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q")
    (repo / ".gitignore").write_text("results/\n")
    (repo / "Snakefile").write_text("# one\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    monkeypatch.setattr(dc, "CHECKOUT", repo)
    dc.worktree(work)
    (work / "results").mkdir()
    (work / "results/kept.json").write_text("{}")
    (repo / "Snakefile").write_text("# two\n")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", "two")
    dc.worktree(work)
    assert git("rev-parse", "HEAD", cwd=work) == git("rev-parse", "HEAD")
    assert (work / "Snakefile").read_text() == "# two\n" and (work / "results/kept.json").is_file()
