"""Shared fixtures."""

from __future__ import annotations

import os

import torch

os.environ.setdefault("RPY2_CFFI_MODE", "ABI")
torch.set_num_threads(1)
