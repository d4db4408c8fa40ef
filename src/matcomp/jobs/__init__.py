"""Running one workflow job of each kind, and writing its result: exactly what that kind's code hash covers
(:mod:`matcomp.store.codehash`).

- :mod:`.data`: one ground-truth problem (W*, Ω);
- :mod:`.train`: one training job, a pack of them, or a packed job's copy;
- :mod:`.baseline`: one classic method on every seed of one (rank, n_obs), and the ROptSpace install;
- :mod:`.movielens`: one Table 2 run.
"""
