# One job per (optimizer, penalty, λ, rank, n_obs, settings): every depth that any experiment asks for,
# each depth trained as one batch over all seeds. A cell shared by experiments is trained once. The path
# (matcomp.plan.jobs.TRAIN_RESULT) ends in a hash of the remaining settings and the code; every setting
# reaches the job through `params`, so changing one reruns exactly the jobs that use it.
#
# With pack_training (matcomp.plan.packs), the jobs that run faster on a GPU and share their training
# settings (every optimizer; no penalty, ratio, nuclear, and the Schatten penalties on the gesvda route)
# train together in one `train_pack` job (one mixed batch per depth, on the GPU), which writes their files
# into its folder; each such job's `train` job then only copies its two files into place.
rule train:
    input:
        unpack(train_input),
    output:
        result=TRAIN_RESULT,
        trajectory=paths.trajectory_of(TRAIN_RESULT),
    log:
        log_of(TRAIN_RESULT),
    benchmark:
        log_of(TRAIN_RESULT, ".tsv")
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
        job=lambda w: job_of(w).params(),
        packed_from=train_packed_from,
    script:
        "../scripts/train.py"


rule train_pack:
    input:
        data=lambda w: sorted({f for job in pack_jobs(w) for f in job.data_paths()}),
    output:
        directory(PACK_FOLDER),
    log:
        log_of(f"{PACK_FOLDER}.json"),
    benchmark:
        log_of(f"{PACK_FOLDER}.json", ".tsv")
    group:
        "train"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
        runtime=720,
        mem_mb=16000,
    params:
        jobs=lambda w: [job.params() for job in pack_jobs(w)],
        data_files=lambda w: [job.data_paths() for job in pack_jobs(w)],
    script:
        "../scripts/train_pack.py"
