"""Time the MovieLens100K training steps at the real size on random data of that shape.

* one full-batch step of the depth-1 LNN (944 × 1683 matrix, 90 000 training ratings), Adam, with the
  ratio penalty (one SVD of the matrix per step) and without;
* one epoch of the embedding model (100 000 ratings, batch 256, dim 64), Adam, λ_user = 0.01 and λ = 0;

and extrapolates the cost of one seed of Table 2 (both splits, 8 rows each) at the paper's settings.
Usage: ``python benchmarks/bench_movielens.py [--device cpu|cuda|auto] [--threads N] [--iters 5] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from matcomp.movielens import N_ITEMS, N_RATINGS, N_USERS, PAPER_BEST, train_embedding, train_lnn


def random_ratings(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """100 000 distinct random (user, item) cells of a 943 × 1682 matrix (1-based ids), ratings 1…5."""
    rng = np.random.default_rng(seed)
    cells = rng.choice(N_USERS * N_ITEMS, N_RATINGS, replace=False)
    users, items = np.divmod(cells, N_ITEMS)
    return users + 1, items + 1, rng.integers(1, 6, N_RATINGS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--iters", type=int, default=5, help="timed LNN steps per repeat")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of each timing (median reported)")
    ap.add_argument("--spectral", default="auto", choices=["auto", "svd", "polar"], help="LNN penalty route")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    users, items, ratings = random_ratings()
    idx = np.random.default_rng(1).permutation(N_RATINGS)
    train90, test10 = idx[:90_000], idx[90_000:]
    shape = (N_USERS + 1, N_ITEMS + 1)
    out: dict[str, float | int | str] = {
        "device": args.device,
        "threads": torch.get_num_threads(),
        "spectral": args.spectral,
    }

    # Each timing is the median over --repeats runs (the machine is shared; the spread is printed too).
    for name, lam in (("lnn_step_s_adam_penalty", 1.5), ("lnn_step_s_adam", 0.0)):
        kw = dict(shape=shape, lam=lam, device=args.device, eval_every=10**9, spectral=args.spectral)
        train_lnn(users, items, ratings, train90, test10, n_iters=2, **kw)  # warm-up
        times = [
            train_lnn(users, items, ratings, train90, test10, n_iters=args.iters, **kw)[
                "seconds_per_iteration"
            ]
            for _ in range(args.repeats)
        ]
        out[name], out[name + "_min"], out[name + "_max"] = float(np.median(times)), min(times), max(times)

    everything = np.arange(N_RATINGS)
    for name, lam in (("embedding_epoch_s_adam_penalty", 0.01), ("embedding_epoch_s_adam", 0.0)):
        kw = dict(shape=shape, lam_user=lam, n_epochs=1, device=args.device)
        times = [
            train_embedding(users, items, ratings, everything, test10, **kw)["seconds"]
            for _ in range(args.repeats)
        ]
        out[name], out[name + "_min"], out[name + "_max"] = float(np.median(times)), min(times), max(times)

    # One seed of Table 2 at the paper's settings: per split, 2 LNN rows with the SVD and 2 without,
    # n_iters steps each; 4 embedding rows of at most n_epochs epochs (0.9 / 0.8 of the ratings).
    n_iters, n_epochs = PAPER_BEST["lnn"]["n_iters"], PAPER_BEST["embedding"]["n_epochs"]
    t = {k: float(v) for k, v in out.items() if k.endswith(("_s_adam", "_s_adam_penalty"))}
    lnn = 2 * n_iters * (t["lnn_step_s_adam_penalty"] + t["lnn_step_s_adam"])
    emb_epoch = (t["embedding_epoch_s_adam_penalty"] + t["embedding_epoch_s_adam"]) / 2
    out["table2_one_seed_lnn_hours"] = 2 * lnn / 3600
    out["table2_one_seed_embedding_hours_max"] = 2 * 4 * n_epochs * emb_epoch * 0.85 / 3600
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
