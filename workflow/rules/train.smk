# One job per cell: all seeds of an (optimizer, penalty, depth, λ, rank, n_obs) cell train as one batch.
# The path ends in a hash of the remaining settings (see matcomp.experiments); every setting reaches the
# job through `params`, so changing one reruns exactly the cells that use it.


rule train_cell:
    input:
        data=cell_data,
    output:
        result="results/cells/r{rank}_o{n_obs}/{optimizer}/{penalty}/d{depth}/lam{lam}_{hash}.json",
        trajectory="results/cells/r{rank}_o{n_obs}/{optimizer}/{penalty}/d{depth}/lam{lam}_{hash}.trajectory.npz",
    params:
        cell=cell_params,
        device=config["device"],
    wildcard_constraints:
        depth=r"\d+",
        hash=r"[0-9a-f]{10}",
    log:
        "logs/cells/r{rank}_o{n_obs}/{optimizer}/{penalty}/d{depth}/lam{lam}_{hash}.log",
    benchmark:
        "benchmarks/logs/cells/r{rank}_o{n_obs}/{optimizer}/{penalty}/d{depth}/lam{lam}_{hash}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=train_resources_gpu,
        runtime=720,
        mem_mb=4000,
    group:
        "train"
    script:
        "../scripts/train_cell.py"
