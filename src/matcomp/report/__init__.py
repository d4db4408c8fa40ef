"""Turning cached results into the paper's tables and figures, Table 2, and the claims report.

- :mod:`.tables`: Tables 1, 3, 4 (Err and Rk per optimizer × depth × penalty) and the per-cell rows every
  other report reads (seeds, stop reasons, budgets, plateau);
- :mod:`.figures`: the dynamics Figures 1–3 and 6–8; :mod:`.comparison`: Figures 4–5; :mod:`.style`: one
  look for all of them;
- :mod:`.table2`: Table 2 (MovieLens) under every checkpoint reading;
- :mod:`.claims` with ``claims.yaml``: every claim of the paper, judged on decided cells.

Nothing here is part of a training, baseline or MovieLens job's code (:mod:`matcomp.store.codehash`): editing a
report module reruns only the reports.
"""
