#!/usr/bin/env bash
# The GPU checks of this project, as one script for a lent CUDA machine (about 6-8 minutes):
#   1. CUDA = CPU within the cells' own one-ulp sensitivity, batched = unbatched on the GPU, device/route
#      choice of `auto`, the polar route's unit tests (tests/test_cuda.py, tests/test_spectral.py);
#   2. cell-steps/s of the batched trainer on the GPU (polar route; unpenalised and ratio, depth 1 and 3,
#      B = 5 ... 1024; logging at the paper's density, i.e. only at the ends of a short run);
#   3. the MovieLens LNN step (SVD and polar routes) and Table 2's extrapolated cost;
#   4. scale=paper's cost extrapolated from every training job timed for a few steps (per job and packed).
# Needs only torch, numpy, scipy, pyyaml, pytest (no Snakemake, no CVXPY): the package runs from src/.
# Results go to ${OUT:-benchmarks/device}/.
set -uo pipefail
out="${OUT:-benchmarks/device}"
mkdir -p "$out"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA device visible to torch'" || exit 1
step() { echo "== $1 ($(date +%T))" | tee -a "$out/steps.txt"; }

step "tests"
timeout 150 python3 -m pytest -q -rs -p no:cacheprovider tests/test_cuda.py tests/test_spectral.py 2>&1 | tee "$out/pytest.txt"

step "bench_train cuda"
timeout 150 python3 benchmarks/bench_train.py --device cuda --no-naive --steady --spectral auto --log none \
  --steps 100 --repeats 2 --batches 5 32 256 1024 --depths 1 3 2>&1 | tee "$out/bench_train_cuda.txt"

step "bench_movielens cuda"
for route in polar svd; do
  timeout 50 python3 benchmarks/bench_movielens.py --device cuda --iters 20 --repeats 2 --spectral "$route" \
    2>&1 | tee "$out/bench_movielens_cuda_$route.txt"
done

step "cost_paper"
timeout 200 python3 benchmarks/cost_paper.py --device auto --steps 30 --warmup 5 --cpu-slots 8 --threads 2 \
  --out "$out/cost_paper.json" 2>&1 | tail -40 | tee "$out/cost_paper.txt"
step "done"
