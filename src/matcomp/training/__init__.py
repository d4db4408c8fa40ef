"""Training a deep linear network on one problem (W*, Ω): the science of the synthetic experiments.

- :mod:`.settings`: a training run's settings (:class:`~.settings.TrainConfig`) and their readings;
- :mod:`.models`: the end-to-end product of the layers and its initialisation;
- :mod:`.penalties`: the spectral penalties R(W) (a registry by name);
- :mod:`.optimizers`: the element-wise optimizers, batched over seeds (a registry by name);
- :mod:`.spectral`: the penalty's gradient by route (svd, polar, gesvda) and the logged spectrum;
- :mod:`.metrics`: test error and effective rank;
- :mod:`.plateau`: the plateau stop rule;
- :mod:`.train`: the training loop, batched over seeds (:func:`~.train.train_batch`);
- :mod:`.placement`: CPU or GPU for a job; :mod:`.lazy`: torch imported on first use.

Every module here is part of the training jobs' code hash (:mod:`matcomp.store.codehash`).
"""
