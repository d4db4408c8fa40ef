# One job per (optimizer, penalty, λ, rank, n_obs, settings): every depth that any experiment asks for,
# each depth trained as one batch over all seeds. A cell shared by experiments is trained once. The path
# ends in a hash of the remaining settings (matcomp.experiments.Job); every setting reaches the job through
# `params`, so changing one reruns exactly the jobs that use it.


rule train:
    input:
        data=job_data,
    output:
        result="results/cells/r{rank}_o{n_obs}/{optimizer}/{penalty}/lam{lam}_{hash}.json",
        trajectory="results/cells/r{rank}_o{n_obs}/{optimizer}/{penalty}/lam{lam}_{hash}.trajectory.npz",
    log:
        "logs/cells/r{rank}_o{n_obs}/{optimizer}/{penalty}/lam{lam}_{hash}.log",
    benchmark:
        "benchmarks/logs/cells/r{rank}_o{n_obs}/{optimizer}/{penalty}/lam{lam}_{hash}.tsv"
    wildcard_constraints:
        hash=r"[0-9a-f]{10}",
    group:
        "train"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=train_resources_gpu,
        runtime=720,
        mem_mb=4000,
    params:
        job=job_params,
        device=config["device"],
    script:
        "../scripts/train.py"
