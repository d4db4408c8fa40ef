#!/usr/bin/env bash
# The GPU checks of this project, as one script for a lent CUDA machine (about 8 minutes):
#   1. CUDA = CPU within the cells' own one-ulp sensitivity for every route (svd, polar, gesvda), batched =
#      unbatched and mixed packs = cells alone on the GPU, the graphed polar iteration = eager, the gesvda
#      route's accuracy, `auto`'s device/route choice (tests/test_cuda.py, tests/test_spectral.py);
#   2. the spectral routes' accuracy, the gesvda route on cuSOLVER (benchmarks/route_accuracy.py --device cuda);
#   3. training equivalence of the gesvda route (Schatten penalties) against the CPU SVD route: the GPU side
#      of `benchmarks/route_training.py --study gesvda` (the CPU references travel in its cache);
#   4. cell-steps/s of the batched trainer on the GPU (auto-gesvda: polar for ratio, gesvda for a Schatten
#      penalty; depth 1 and 3, B = 32 ... 1024; logging only at the ends of a short run);
#   5. scale=paper's cost extrapolated from every training batch timed for a few steps (packed: one mixed
#      batch per depth across optimizers and penalties), under spectral auto (Schatten jobs on the CPU)
#      and auto-gesvda (everything on the GPU).
#   6. (run before 5) where a step of the paper's largest pack spends its time (benchmarks/step_profile.py:
#      ops, kernel launches, host syncs, top ops by host and device time), depth 1 and 3 under auto-gesvda.
# Needs only torch, numpy, scipy, pyyaml, pytest (no Snakemake, no CVXPY): the package runs from src/.
# Results go to ${OUT:-benchmarks/device}/; with $OUT set (the device tool: at most 8 files come back)
# they are packed into one device_check.tgz there.
set -uo pipefail
out="${OUT:-benchmarks/device}"
mkdir -p "$out/raw"
raw="$(cd "$out/raw" && pwd)"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi > "$raw/nvidia-smi.txt" 2>&1 || true
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA device visible to torch'" || exit 1
step() { echo "== $1 ($(date +%T))" | tee -a "$raw/steps.txt"; }
if [ -n "${OUT:-}" ]; then  # one file back, whatever step the run ends in
  trap 'tar -czf "$OUT/device_check.tgz" -C "$raw" . && rm -rf "$raw"' EXIT
fi

step "tests"
timeout 120 python3 -m pytest -q -rs -p no:cacheprovider tests/test_cuda.py tests/test_spectral.py 2>&1 | tee "$raw/pytest.txt" | tail -15

step "route_accuracy"
timeout 90 python3 benchmarks/route_accuracy.py --device cuda --out "$raw/route_accuracy.md" > /dev/null 2>&1
tail -30 "$raw/route_accuracy.md"

step "route_training gesvda (GPU side)"
cp -r benchmarks/route_training/gesvda "$raw/route_training_gesvda"
timeout 180 python3 benchmarks/route_training.py --study gesvda --side candidate --device cuda \
  --cache "$raw/route_training_gesvda" --out "$raw/route_training_gesvda.md" 2>&1 | tail -12

step "bench_train cuda"
timeout 100 python3 benchmarks/bench_train.py --device cuda --no-naive --steady --spectral auto-gesvda --log none \
  --steps 100 --repeats 2 --batches 32 256 1024 --depths 1 3 --penalties none ratio schatten:1/2 \
  2>&1 | tee "$raw/bench_train_cuda.txt"

step "step_profile"
for depth in 1 3; do
  timeout 90 python3 benchmarks/step_profile.py --spectral auto-gesvda --depth "$depth" --steps 10 \
    --out "$raw/step_profile_d$depth.md" 2>&1 | sed -n 3,5p
done
step "cost_paper"
for route in auto auto-gesvda; do
  timeout 120 python3 benchmarks/cost_paper.py --device auto --steps 30 --warmup 5 --cpu-slots 8 --threads 2 \
    --skip-per-job --spectral "$route" --out "$raw/cost_paper_$route.json" 2>&1 | head -16
done
step "done"
