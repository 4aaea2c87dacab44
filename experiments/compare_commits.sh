#!/usr/bin/env bash
# The training step's speed at two commits, measured alternately in one session so that the
# machine's drift falls on both: bench_train.py --quick (the reference design) and with
# --preset quick, ROUNDS times each, at BEFORE (a git worktree) and at the working tree.
#   bash experiments/compare_commits.sh 780cbba [ROUNDS] [PRESETS, default "reference quick"]
set -euo pipefail
before=${1:?a commit to compare with}
rounds=${2:-2}
presets=${3:-reference quick}
here=$(cd "$(dirname "$0")/.." && pwd)
tree=$(mktemp -d)
trap 'git -C "$here" worktree remove --force "$tree" >/dev/null 2>&1 || true' EXIT
git -C "$here" worktree add --detach "$tree" "$before" >/dev/null 2>&1
for round in $(seq "$rounds"); do
  for side in before after; do
    root=$here; [ "$side" = before ] && root=$tree
    for preset in $presets; do
      line=$(cd "$root" && PYTHONPATH="$root" python benchmarks/bench_train.py --quick \
        --preset "$preset" --repeats 3 | grep '^(b) mnistgan bf16 channels-last  ')
      echo "round $round  $side  $preset  $line"
    done
  done
done
