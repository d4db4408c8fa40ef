# Ground truth W* and observed set Ω, one file per (m, n, rank, n_obs, seed), shared by every method; the
# name ends in the hash of the data-generation code (matcomp.store.codehash), so new code never overwrites it.
rule ground_truth:
    output:
        DATA_FILE,
    log:
        log_of(DATA_FILE),
    benchmark:
        log_of(DATA_FILE, ".tsv")
    wildcard_constraints:
        m=r"\d+",
        n=r"\d+",
        rank=r"\d+",
        n_obs=r"\d+",
        seed=r"\d+",
        norm=r"(_raw)?",
        code=r"[0-9a-f]{10}",
    conda:
        "../../envs/torch.yaml"
    resources:
        gpu=0,
    params:
        problem=data_problem,
    script:
        "../scripts/make_data.py"
