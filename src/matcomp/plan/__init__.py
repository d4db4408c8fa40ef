"""Planning: from the config to the workflow's jobs and their result paths.

- :mod:`.config`: read, merge and check the config (one place for every config error);
- :mod:`.jobs`: the synthetic jobs (data, training, baselines) with their paths and settings hashes;
- :mod:`.movielens`: Table 2's jobs; :mod:`.packs`: GPU jobs trained together; :mod:`.stale`: cached
  results no job plans any more (``matcomp clean --stale``).

The planner is never part of a job's code (:mod:`matcomp.store.codehash`): its decisions reach each job as
settings, which are in the job's path.
"""
