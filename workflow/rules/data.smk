# Ground truth W* and observed set Ω, one file per (m, n, rank, n_obs, seed), shared by every method; the
# name ends in the hash of the data-generation code (matcomp.codehash), so new code never overwrites it.


rule ground_truth:
    output:
        "results/data/m{m}_n{n}_r{rank}_o{n_obs}_s{seed}{norm}_{code}.npz",
    log:
        "logs/data/m{m}_n{n}_r{rank}_o{n_obs}_s{seed}{norm}_{code}.log",
    benchmark:
        "benchmarks/logs/data/m{m}_n{n}_r{rank}_o{n_obs}_s{seed}{norm}_{code}.tsv"
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
        m=lambda w: int(w.m),
        n=lambda w: int(w.n),
        rank=lambda w: int(w.rank),
        n_obs=lambda w: int(w.n_obs),
        seed=lambda w: int(w.seed),
        normalize=lambda w: w.norm != "_raw",
        code=data_code,
    script:
        "../scripts/make_data.py"
