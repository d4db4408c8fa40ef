#!/usr/bin/env bash
# The GPU checks of this project, as one script for a lent CUDA machine (about 5-8 minutes):
#   1. CUDA = CPU within float tolerance, batched = unbatched on the GPU (tests/test_cuda.py);
#   2. the trainer's unit tests on that machine;
#   3. cell-steps/s on the GPU (benchmarks/bench_train.py) and the MovieLens step costs.
# Results go to ${OUT:-benchmarks/device}/ (pytest log, benchmark tables, nvidia-smi).
set -euo pipefail
out="${OUT:-benchmarks/device}"
mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device visible to torch'"
python -m pytest -q -rs tests/test_cuda.py tests/test_train.py 2>&1 | tee "$out/pytest.txt"
python benchmarks/bench_train.py --device cuda --repeats 2 2>&1 | tee "$out/bench_train_cuda.txt"
python benchmarks/bench_movielens.py --device cuda --iters 20 2>&1 | tee "$out/bench_movielens_cuda.txt"
