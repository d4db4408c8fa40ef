# Table 2: MovieLens100K. The data come from `movielens_dir` or from the official zip (checksums verified).


rule movielens_download:
    output:
        f"{paths.MOVIELENS_DOWNLOAD}/u.data",
    log:
        f"{paths.LOGS}/movielens/download.log",
    benchmark:
        f"{paths.BENCHMARK_LOGS}/movielens/download.tsv"
    conda:
        "../../envs/torch.yaml"
    resources:
        gpu=0,
    params:
        dest=lambda w, output: str(Path(output[0]).parent),
        script=script_digest("movielens_download.py"),
    script:
        "../scripts/movielens_download.py"


rule movielens_run:
    input:
        u_data=f"{data_dir(config)}/u.data",
    output:
        MOVIELENS_RESULT,
    log:
        log_of(MOVIELENS_RESULT),
    benchmark:
        log_of(MOVIELENS_RESULT, ".tsv")
    wildcard_constraints:
        model="lnn|embedding",
        hash=r"[0-9a-f]{10}",
    conda:
        "../../envs/torch.yaml"
    threads: 2
    resources:
        gpu=lambda w: int(movielens_job(w).settings["placement"] == "gpu"),
        runtime=720,
        mem_mb=8000,
    params:
        run=lambda w: movielens_job(w).params(),
    script:
        "../scripts/movielens_run.py"


rule table2:
    input:
        runs=lambda w: list(MOVIELENS_JOBS),
    output:
        csv=report(
            paths.table("table2", "csv"),
            caption="../report/table2.rst",
            category="Tables",
            subcategory="table2",
        ),
        md=paths.table("table2", "md"),
        tex=paths.table("table2", "tex"),
        sweep=report(
            paths.table("table2_sweep"),
            caption="../report/table2_sweep.rst",
            category="Tables",
            subcategory="table2",
        ),
    log:
        paths.log_of(paths.table("table2")),
    benchmark:
        paths.log_of(paths.table("table2"), ".tsv")
    conda:
        "../../envs/plots.yaml"
    resources:
        gpu=0,
    params:
        splits=lambda w: EXPERIMENTS["table2"]["splits"],
        code=code_hash("table2"),
    script:
        "../scripts/make_table2.py"
