# One job per (optimizer, penalty, λ, rank, n_obs, settings): every depth that any experiment asks for,
# each depth trained as one batch over all seeds. A cell shared by experiments is trained once. The path
# ends in a hash of the remaining settings (matcomp.experiments.Job); every setting reaches the job through
# `params`, so changing one reruns exactly the jobs that use it.
#
# With pack_training (matcomp.packs), the jobs that run faster on a GPU and share their training settings
# (every optimizer; no penalty, ratio, nuclear, and the Schatten penalties on the gesvda route) train together in one `train_pack` job (one mixed
# batch per depth, on the GPU), which writes their files into its folder; each such job's `train` job then
# only copies its two files into place.


rule train:
    input:
        unpack(train_input),
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
        packed_from=train_packed_from,
    script:
        "../scripts/train.py"


rule train_pack:
    input:
        data=pack_data,
    output:
        directory("results/packs/{pack}"),
    log:
        "logs/packs/{pack}.log",
    benchmark:
        "benchmarks/logs/packs/{pack}.tsv"
    group:
        "train"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=pack_resources_gpu,
        runtime=720,
        mem_mb=16000,
    params:
        jobs=pack_params,
        data_files=pack_data_files,
        outs=pack_outputs,
        device=config["device"],
    script:
        "../scripts/train.py"
