# Reproduction of Zhao (NeurIPS 2022), "Combining Explicit and Implicit Regularization for Efficient
# Learning in Deep Networks": data -> training cells -> aggregation -> tables, figures, claims, report.


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/movielens.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/report.smk"


report: "workflow/report/workflow.rst"


rule all:
    default_target: True
    input:
        all_targets(),
