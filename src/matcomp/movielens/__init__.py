"""MovieLens100K (the paper's §4, Table 2): the data, the two models and their training.

- :mod:`.data`: the official ``ml-100k.zip`` (download, checksums), the ``u.data`` loader, seeded splits and
  a synthetic stand-in for tests;
- :mod:`.models`: the depth-1 LNN and Spotlight's user-item embedding model;
- :mod:`.train`: training either model, and one Table 2 run from a flat config (:func:`.train.train_cell`);
- :mod:`.terms`: Table 2's rows, models and checkpoints (shared with :mod:`matcomp.report.table2`).

This package imports none of its modules, so that importing one (the table imports :mod:`.terms`) does not
make the others part of that code (:mod:`matcomp.store.codehash` counts a package's imports).
"""
