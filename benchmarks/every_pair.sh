#!/usr/bin/env bash
# Issue 18's table: the quick preset on every pair of domains, both ways, over seeds, each run
# trained alone and scored on the 10,000 test digits (`--split val` to design on validation).
#   benchmarks/every_pair.sh OUT_DIR [SEEDS...]          (default seeds: 0 1 2)
# Then: python benchmarks/pair_table.py OUT_DIR
# Env: SPLIT=test|val, PAIRS="A:B ..." to run some pairs only, STYLE=threshold|blend,
# EXTRA="--flag value ..." appended to every train command (a variant of the preset).
set -euo pipefail
out=${1:?usage: every_pair.sh OUT_DIR [SEEDS...]}
shift
seeds=${*:-0 1 2}
split=${SPLIT:-test}
style=${STYLE:-threshold}
pairs=${PAIRS:-"mnist:colored-background mnist:colored-digit colored-background:colored-digit"}
mkdir -p "$out"
for pair in $pairs; do
  a=${pair%%:*} b=${pair##*:}
  for seed in $seeds; do
    run="$out/$a--$b--$style--s$seed"
    if [ ! -f "$run/weights.safetensors" ]; then
      rm -rf "$run"
      start=$(date +%s)
      mnistgan train --preset quick --domain-a "$a" --domain-b "$b" --style "$style" \
        --seed "$seed" --out "$run" ${EXTRA:-} > "$run.train.log" 2>&1
      echo $(( $(date +%s) - start )) > "$run.seconds"
    fi
    mnistgan eval "$run/weights.safetensors" --split "$split" --json "$run.$split.json" \
      --force > "$run.$split.log" 2>&1
  done
done
