# Cached cells -> the paper's tables (csv/md/tex) and dynamics figures (pdf/png + a summary csv).


rule table:
    input:
        jobs=lambda w: jobs_of(w.name),
        trajectories=lambda w: trajectories_of(w.name),
    output:
        csv=report(
            "results/tables/{name}.csv",
            caption="../report/table.rst",
            category="Tables",
            subcategory="{name}",
        ),
        md="results/tables/{name}.md",
        tex="results/tables/{name}.tex",
    log:
        "logs/tables/{name}.log",
    benchmark:
        "benchmarks/logs/tables/{name}.tsv"
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
            "figures/{name}.pdf",
            caption="../report/dynamics.rst",
            category="Figures",
            subcategory="{name}",
        ),
        png=report(
            "figures/{name}.png",
            caption="../report/dynamics.rst",
            category="Figures",
            subcategory="{name}",
        ),
        csv="results/tables/{name}.csv",
    log:
        "logs/figures/{name}.log",
    benchmark:
        "benchmarks/logs/figures/{name}.tsv"
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
            "results/tables/robustness.md",
            caption="../report/robustness.rst",
            category="Tables",
            subcategory="robustness",
        ),
        csv="results/tables/robustness.csv",
        pdf=report(
            "figures/robustness.pdf",
            caption="../report/robustness.rst",
            category="Figures",
            subcategory="robustness",
        ),
        png=report(
            "figures/robustness.png",
            caption="../report/robustness.rst",
            category="Figures",
            subcategory="robustness",
        ),
    log:
        "logs/tables/robustness.log",
    benchmark:
        "benchmarks/logs/tables/robustness.tsv"
    conda:
        "../../envs/plots.yaml"
    resources:
        gpu=0,
    params:
        code=code_hash("robustness"),
        scale=config["scale"],
    script:
        "../scripts/make_robustness.py"
