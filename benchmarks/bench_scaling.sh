#!/usr/bin/env bash
# 1 process (2 threads) against 2 gloo processes (1 thread each) on this 2-core CPU: the
# reference design, global batch 64, 12 steps from the embedded MNIST. The rate printed by
# `train` covers the training loop (including the final export of weights and samples), not
# start-up. Usage: bash benchmarks/bench_scaling.sh [DEVICE] [PROCESSES]
set -euo pipefail
device=${1:-cpu}
processes=${2:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(train --device "$device" --steps 12 --log-every 4 --precision bf16 --train-digits 2048)
echo "# $(python -c 'import torch; print("torch", torch.__version__)'), $(date +%F)"
echo -n "1 process:   "
python -m mnist_cyclegan "${args[@]}" --out "$work/one" | grep -o '([0-9.]* pairs/s)'
echo -n "$processes processes: "
OMP_NUM_THREADS=$(( $(nproc) / processes > 0 ? $(nproc) / processes : 1 )) \
  python -m torch.distributed.run --standalone --nproc-per-node "$processes" \
  -m mnist_cyclegan "${args[@]}" --out "$work/many" | grep -o '([0-9.]* pairs/s)'
