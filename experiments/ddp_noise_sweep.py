"""The spread behind tests/test_distributed.py's gloo test, over several seeds.

    python experiments/ddp_noise_sweep.py [--seeds 0 1 2 3 4 5]

For each seed, the test's three tiny fp32 runs (2 gloo processes, 1 process on 1 thread,
1 process on 2 threads one half after the other) and the mean |output difference| of the
2-process run and of the 2-thread run from the 1-thread run: their ratio is what the test
bounds by 1.5. One seed's ratio is a single draw of a chaotic process, which is why the test
sums two seeds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_distributed import ddp_and_thread_spread  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    args = parser.parse_args()
    print("seed  2-process spread  2-thread spread  ratio")
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as folder:
            run_folder = Path(folder) / f"seed{seed}"
            spread, floor = ddp_and_thread_spread(run_folder, seed)
        print(f"{seed:>4}  {spread:>16.4f}  {floor:>15.4f}  {spread / floor:>5.2f}", flush=True)


if __name__ == "__main__":
    main()
