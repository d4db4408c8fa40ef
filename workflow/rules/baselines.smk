# Figures 4 and 5: classic completion methods through their own libraries, cached per (method, rank,
# n_obs) over all seeds, sharing the ground-truth files with the networks.
rule roptspace:
    output:
        paths.ROPTSPACE_RECORD,
    log:
        paths.log_of(paths.ROPTSPACE_RECORD),
    benchmark:
        paths.log_of(paths.ROPTSPACE_RECORD, ".tsv")
    conda:
        "../../envs/r.yaml"
    resources:
        gpu=0,
    params:
        lib=paths.R_LIBRARY,
        implementation=config.get("optspace", "auto"),
        script=script_digest("install_roptspace.py"),
    script:
        "../scripts/install_roptspace.py"


rule baseline:
    input:
        data=lambda w: baseline_job(w).data_paths(),
        roptspace=lambda w: [paths.ROPTSPACE_RECORD] if BASELINES[w.method].cran else [],
    output:
        BASELINE_RESULT,
    log:
        log_of(BASELINE_RESULT),
    benchmark:
        log_of(BASELINE_RESULT, ".tsv")
    wildcard_constraints:
        method="|".join(BASELINES),
        hash=r"[0-9a-f]{10}",
    conda:
        lambda w: f"../../envs/{BASELINES[w.method].env}"
    threads: 1
    resources:
        gpu=0,
    params:
        job=lambda w: baseline_job(w).params(),
        r_lib=paths.R_LIBRARY,
    script:
        "../scripts/baseline.py"


rule comparison_figure:
    input:
        training=lambda w: jobs_of(w.name),
        trajectories=lambda w: trajectories_of(w.name),
        baselines=lambda w: baseline_jobs_of(w.name),
    output:
        pdf=report(
            paths.figure("{name}", "pdf"),
            caption="../report/comparison.rst",
            category="Figures",
            subcategory="{name}",
        ),
        png=report(
            paths.figure("{name}", "png"),
            caption="../report/comparison.rst",
            category="Figures",
            subcategory="{name}",
        ),
        csv=paths.table("{name}", "csv"),
        summary=paths.table("{name}_summary"),
    log:
        paths.log_of(paths.figure("{name}")),
    benchmark:
        paths.log_of(paths.figure("{name}"), ".tsv")
    wildcard_constraints:
        name="|".join(experiments_of("baselines")) or "no-comparison",
    conda:
        "../../envs/plots.yaml"
    resources:
        gpu=0,
    params:
        experiment=lambda w: EXPERIMENTS[w.name],
        code=code_hash("comparison"),
        scale=config["scale"],
    script:
        "../scripts/make_comparison.py"
