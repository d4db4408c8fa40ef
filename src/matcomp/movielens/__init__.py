"""MovieLens100K (the paper's §4, Table 2): data, the two models and training.

The table itself is :mod:`matcomp.movielens.table`, imported where it is made (not here), so that a
training job's code hash (:mod:`matcomp.codehash`) does not cover how Table 2 is laid out.
"""

from .data import (
    CONFIG_KEY,
    ML100K_MD5,
    ML100K_URL,
    N_ITEMS,
    N_RATINGS,
    N_USERS,
    UDATA_SHA256,
    MovieLensDataError,
    download_ml100k,
    interaction_shape,
    load_ratings,
    make_synthetic_ml100k,
    ratings_matrix,
    split_ratings,
    verify_ml100k,
)
from .models import DepthOneLNN, EmbeddingModel
from .train import (
    PAPER_BEST,
    READING_NOTES,
    READINGS,
    ROW_DEFAULTS,
    ROWS,
    choose_checkpoints,
    resolve_device,
    run_table2_row,
    split_label,
    train_embedding,
    train_lnn,
)

__all__ = [
    "CONFIG_KEY",
    "ML100K_MD5",
    "ML100K_URL",
    "N_ITEMS",
    "N_RATINGS",
    "N_USERS",
    "PAPER_BEST",
    "READINGS",
    "READING_NOTES",
    "ROWS",
    "ROW_DEFAULTS",
    "UDATA_SHA256",
    "DepthOneLNN",
    "EmbeddingModel",
    "MovieLensDataError",
    "choose_checkpoints",
    "download_ml100k",
    "interaction_shape",
    "load_ratings",
    "make_synthetic_ml100k",
    "ratings_matrix",
    "resolve_device",
    "run_table2_row",
    "split_label",
    "split_ratings",
    "train_embedding",
    "train_lnn",
    "verify_ml100k",
]
