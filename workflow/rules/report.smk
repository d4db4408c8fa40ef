# The effective config, the claims check and what `snakemake --report` shows.
from matcomp.plan.budgets import claim_budgets  # budgets: this run's and the paper's


rule effective_config:
    output:
        paths.EFFECTIVE_CONFIG,
    log:
        paths.log_of(paths.EFFECTIVE_CONFIG),
    benchmark:
        paths.log_of(paths.EFFECTIVE_CONFIG, ".tsv")
    conda:
        "../../envs/plots.yaml"
    resources:
        gpu=0,
    params:
        config=config,
        script=script_digest("write_config.py"),
    script:
        "../scripts/write_config.py"


rule claims:
    input:
        tables=expand(
            paths.table("{name}", "csv"),
            name=experiments_of("table") + experiments_of("dynamics"),
        ),
        comparisons=expand(
            paths.table("{name}_summary"), name=experiments_of("baselines")
        ),
        movielens=[paths.table("table2", "csv")] if table2_wanted() else [],
    output:
        summary=report(
            paths.REPORT,
            caption="../report/summary.rst",
            category="0. Does the paper reproduce?",
        ),
        md=report(
            paths.CLAIMS.format(ext="md"),
            caption="../report/claims.rst",
            category="Claims",
        ),
        csv=paths.CLAIMS.format(ext="csv"),
        paper_md=report(
            paths.PAPER_VS_OURS.format(ext="md"),
            caption="../report/paper_vs_ours.rst",
            category="Claims",
        ),
        paper_csv=paths.PAPER_VS_OURS.format(ext="csv"),
        readings_md=report(
            paths.READINGS.format(ext="md"),
            caption="../report/readings.rst",
            category="Claims",
        ),
        readings_csv=paths.READINGS.format(ext="csv"),
    log:
        paths.log_of(paths.CLAIMS.format(ext="md")),
    benchmark:
        paths.log_of(paths.CLAIMS.format(ext="md"), ".tsv")
    conda:
        "../../envs/plots.yaml"
    resources:
        gpu=0,
    params:
        claims=str(CHECKOUT_SRC / "matcomp/report/claims.yaml"),
        scale=config["scale"],
        code=code_hash("claims"),
        budget=claim_budgets(config, Path(workflow.basedir) / "config.yaml"),
        readings=config.get("readings", {}),
    script:
        "../scripts/check_claims.py"


PLANNED_AT = __import__("time").time()


onsuccess:
    answer = Path(paths.REPORT)
    if answer.exists() and answer.stat().st_mtime >= PLANNED_AT:
        counts = next(
            (l for l in answer.read_text().splitlines() if "Verdicts:" in l), ""
        )
        print(
            f"\n{counts.strip()}\nThe answer, decided and not: {answer.resolve()}\n"
        )


onstart:
    refuse_unreachable_cluster()
    todo = training_jobs_to_run()
    costs = jobs_hours(todo)  # CPU-hours by job, the step table read once
    hours = None if costs is None else sum(costs.values())
    # time left after each progress line (matcomp.plan.progress)
    if costs is not None:
        attach_progress({path: h * 3600 for path, h in costs.items()})
    if todo and hours is not None:
        print(
            f"\nplanned: {len(todo)} training jobs to run for these targets ({len(JOBS)} in the config), "
            f"{sum(len(j.seeds) * len(j.depths) for j in todo.values())} networks; at their full budgets "
            f"≈ {hours:.2f} CPU-hours on one core of the 2-core machine the step times were measured "
            "on (benchmarks/cost_scale_cpu.json), about that divided by --cores; runs that converge "
            "or plateau stop sooner.\n"
        )
    if config["scale"] == "paper" and not any(
        j.placement == "gpu" for j in JOBS.values()
    ):
        print(
            f"\nnote: scale=paper is the paper's full protocol, {len(JOBS)} training jobs (5 seeds, "
            "5·10⁵ iterations) with no GPU planned: about 700 CPU-hours on a 2-core machine "
            "(README, 'What runs where, and timings'). For a first look at every table, figure and "
            "claim: --config scale=quick (minutes); to decide the claims: scale=decide.\n"
        )
