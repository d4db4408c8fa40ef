"""Shared fixtures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

os.environ.setdefault("RPY2_CFFI_MODE", "ABI")
# the benchmarks' own helpers that tests share (benchmarks/spectra.py: training-like spectra)
sys.path.append(str(Path(__file__).resolve().parents[1] / "benchmarks"))
torch.set_num_threads(1)
