#!/usr/bin/env bash
# One prepared GPU check, sized for one call of at most 10 minutes:
#   1. the CUDA-marked tests, 2. the training-step benchmark on the card, 3. a short
#   time-to-quality run of the reference design, with the projection of the full schedule,
#   4. the reference preset's own schedule trained on CUDA as far as 200 s go (issue 16; it
#   checkpoints when stopped, so `mnistgan train --out gpu-check/reference --resume` goes on),
#   scored by eval, with its last sample grid.
# Usage (on a machine with a CUDA GPU, from the repository root):  bash benchmarks/gpu_check.sh
# Results go to ${OUT:-gpu-check}/; paste the printed tables into BENCHMARKS.md with the card name.
set -euo pipefail
out=${OUT:-gpu-check}
mkdir -p "$out"
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(), torch.__version__)" | tee "$out/device.txt"
python -m pip install --quiet -e '.[test]' >/dev/null 2>&1 || true

echo "== 1. CUDA tests"
timeout 120 python -m pytest -q -m cuda tests 2>&1 | tail -n 5 | tee "$out/cuda-tests.txt"

echo "== 2. training step, batch 64: plain fp32 loop vs mnistgan"
timeout 120 python benchmarks/bench_train.py --device cuda --repeats 5 2>&1 | tee "$out/bench-train.txt"

echo "== 3. time to quality, reference design, 1,500 steps (eval every 500 on 2,000 digits)"
timeout 120 python benchmarks/time_to_quality.py --preset reference --device cuda \
  --steps 1500 --every 500 --limit 2000 --out "$out/ttq-reference" 2>&1 | tee "$out/ttq.txt"

echo "== projection of the full reference schedule (100 epochs x 937 steps x 64 pairs = 6.0 M pair-steps)"
python - "$out/bench-train.txt" <<'PY'
import re, sys
rows = [l for l in open(sys.argv[1]) if l.startswith("(b)")]
best = max(float(re.split(r"\s+", l.strip())[-2]) for l in rows)
print(f"best mnistgan rate {best:.0f} pairs/s -> 6.0e6 pair-steps in {5.9968e6 / best / 60:.1f} min")
PY

echo "== 4. the reference preset's schedule (all 60,000 digits both ways, 937 steps an epoch), 200 s"
timeout -s TERM 200 mnistgan train --preset reference --device cuda --out "$out/reference" \
  2>&1 | tail -n 5 | tee "$out/reference-train.txt" || true
if [ -f "$out/reference/weights.safetensors" ]; then
  mnistgan eval "$out/reference/weights.safetensors" --device cuda --force \
    --json "$out/reference-eval.json" --report "$out/reference-report.png" | tee "$out/reference-eval.txt"
  last=$(ls "$out/reference/samples" | tail -n 1)
  cp "$out/reference/samples/$last" "$out/reference-last-samples.png"
fi
