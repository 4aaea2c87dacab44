#!/usr/bin/env bash
# Issue 18: a user's own pair of domains, as a user makes one: an MNIST-like set that is not
# MNIST (here MNIST's digits turned a quarter: shapes no upright-digit reader has seen; put your
# own set, e.g. Fashion-MNIST's .npz, in SET), rendered with make-data into two domains, then
# the quick preset, then eval on the set's own test images.
#   experiments/own_pair.sh OUT_DIR [SEED] [STYLE]
set -euo pipefail
out=${1:?usage: own_pair.sh OUT_DIR [SEED] [STYLE]}
seed=${2:-0}
style=${3:-threshold}
a=${DOMAIN_A:-colored-background} b=${DOMAIN_B:-colored-digit}
mkdir -p "$out"
set_file=${SET:-$out/turned.npz}
if [ ! -f "$set_file" ]; then
  python - "$set_file" <<'PY'
import sys
import numpy as np
from mnist_cyclegan.data import load_mnist
mnist = load_mnist()
turn = lambda x: np.ascontiguousarray(np.rot90(x, axes=(1, 2)))
np.savez(sys.argv[1], x_train=turn(mnist.x_train), y_train=mnist.y_train,
         x_test=turn(mnist.x_test), y_test=mnist.y_test)
PY
fi
for domain in "$a" "$b"; do
  [ -f "$out/$domain-$style.npz" ] || mnistgan make-data --domain "$domain" --style "$style" \
    --mnist "$set_file" --seed $((seed + 100)) --out "$out/$domain-$style.npz"
done
run="$out/own-$a--$b--$style--s$seed"
rm -rf "$run"
start=$(date +%s)
mnistgan train --preset quick --data-a "$out/$a-$style.npz" --data-b "$out/$b-$style.npz" \
  --domain-a "$a" --domain-b "$b" --style "$style" --seed "$seed" --out "$run" > "$run.train.log" 2>&1
echo $(( $(date +%s) - start )) > "$run.seconds"
mnistgan eval "$run/weights.safetensors" --json "$run.test.json" --force > "$run.test.log" 2>&1
