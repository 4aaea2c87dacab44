"""What the failure watch's background check reads on finished models (issue 18, third part).

    python experiments/watch_backgrounds.py RUN/weights.safetensors [...]

For each model: the spread of its outputs where its inputs show background, on the watch's
first 64 test digits of each domain, with batch statistics, as `train` reads it mid-run
(training/watch.py warns over MOTTLED_ABOVE). The colours are those of eval's renders.
"""

from __future__ import annotations

import sys

from mnist_cyclegan.data import domain_arrays
from mnist_cyclegan.evaluation.metrics import background_spread
from mnist_cyclegan.images import channels_first
from mnist_cyclegan.training.watch import SAMPLES, far_backgrounds, held_out_outputs
from mnist_cyclegan.weights import load_generators


def main() -> None:
    for weights in sys.argv[1:]:
        g_ab, g_ba, meta = load_generators(weights)
        inputs = {
            "a2b": channels_first(domain_arrays(meta.domain_a, seed=1).x_test[:SAMPLES]),
            "b2a": channels_first(domain_arrays(meta.domain_b, seed=2).x_test[:SAMPLES]),
        }
        outputs = held_out_outputs({"a2b": g_ab, "b2a": g_ba}, inputs, meta.output)
        spreads = {k: background_spread(outputs[k], far_backgrounds(inputs[k])) for k in outputs}
        print(f"{weights}: A->B {spreads['a2b']:.2f}, B->A {spreads['b2a']:.2f}")


if __name__ == "__main__":
    main()
