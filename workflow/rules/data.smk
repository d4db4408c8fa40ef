# Ground truth W* and observed set Ω, one file per (m, n, rank, n_obs, seed), shared by every method.


rule ground_truth:
    output:
        "results/data/m{m}_n{n}_r{rank}_o{n_obs}_s{seed}{norm}.npz",
    log:
        "logs/data/m{m}_n{n}_r{rank}_o{n_obs}_s{seed}{norm}.log",
    benchmark:
        "benchmarks/logs/data/m{m}_n{n}_r{rank}_o{n_obs}_s{seed}{norm}.tsv"
    wildcard_constraints:
        m=r"\d+",
        n=r"\d+",
        rank=r"\d+",
        n_obs=r"\d+",
        seed=r"\d+",
        norm=r"(_raw)?",
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
    script:
        "../scripts/make_data.py"
