"""Modules imported on first use: planning (the DAG, ``matcomp.plan``, the workflow's ``common.smk``) reads the
registries of penalties, optimizers and spectral routes without paying for importing torch (≈ 2-3 s), and
torch is imported the first time one of its attributes is read (standard library ``importlib.util.LazyLoader``)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_import(name: str) -> ModuleType:
    """``name``'s module, executed on first attribute access (at once where it is already imported)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


def loaded(name: str) -> bool:
    """Whether ``name`` was imported and executed (a lazy module not yet used is not)."""
    module = sys.modules.get(name)
    return module is not None and type(module) is ModuleType
