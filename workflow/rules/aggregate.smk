# Cached cells -> the paper's tables (csv/md/tex) and dynamics figures (pdf/png + a summary csv).


rule table:
    input:
        jobs=lambda w: jobs_of(w.name),
        trajectories=lambda w: trajectories_of(w.name),
    output:
        csv=report(
            paths.table("{name}", "csv"),
            caption="../report/table.rst",
            category="Tables",
            subcategory="{name}",
        ),
        md=paths.table("{name}", "md"),
        tex=paths.table("{name}", "tex"),
    log:
        paths.log_of(paths.table("{name}")),
    benchmark:
        paths.log_of(paths.table("{name}"), ".tsv")
    wildcard_constraints:
        name="|".join(experiments_of("table")) or "no-table",
    conda:
        "../../envs/plots.yaml"
    resources:
        gpu=0,
    params:
        experiment=lambda w: EXPERIMENTS[w.name],
        code=code_hash("table"),
    script:
        "../scripts/make_table.py"


rule dynamics_figure:
    input:
        jobs=lambda w: jobs_of(w.name),
        trajectories=lambda w: trajectories_of(w.name),
    output:
        pdf=report(
            paths.figure("{name}", "pdf"),
            caption="../report/dynamics.rst",
            category="Figures",
            subcategory="{name}",
        ),
        png=report(
            paths.figure("{name}", "png"),
            caption="../report/dynamics.rst",
            category="Figures",
            subcategory="{name}",
        ),
        csv=paths.table("{name}", "csv"),
    log:
        paths.log_of(paths.figure("{name}")),
    benchmark:
        paths.log_of(paths.figure("{name}"), ".tsv")
    wildcard_constraints:
        name="|".join(experiments_of("dynamics")) or "no-figure",
    conda:
        "../../envs/plots.yaml"
    resources:
        gpu=0,
    params:
        experiment=lambda w: EXPERIMENTS[w.name],
        code=code_hash("figure"),
        scale=config["scale"],
    script:
        "../scripts/make_figure.py"


rule robustness:
    input:
        tables=robustness_tables(),
    output:
        md=report(
            paths.table("robustness", "md"),
            caption="../report/robustness.rst",
            category="Tables",
            subcategory="robustness",
        ),
        csv=paths.table("robustness", "csv"),
        pdf=report(
            paths.figure("robustness", "pdf"),
            caption="../report/robustness.rst",
            category="Figures",
            subcategory="robustness",
        ),
        png=report(
            paths.figure("robustness", "png"),
            caption="../report/robustness.rst",
            category="Figures",
            subcategory="robustness",
        ),
    log:
        paths.log_of(paths.table("robustness")),
    benchmark:
        paths.log_of(paths.table("robustness"), ".tsv")
    conda:
        "../../envs/plots.yaml"
    resources:
        gpu=0,
    params:
        code=code_hash("robustness"),
        scale=config["scale"],
    script:
        "../scripts/make_robustness.py"


# A table or figure of an experiment this config does not run (disabled, or a reading that does not rerun
# it at this scale): stops while planning, saying how to run it, not "No rule to produce".
rule not_planned:
    input:
        refuse_not_planned,
    output:
        "{product}",
    log:
        paths.log_of("not_planned/{product}"),
    benchmark:
        paths.log_of("not_planned/{product}", ".tsv")
    wildcard_constraints:
        product=not_planned_products(),
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/never_runs.py"
