"""The live and the averaged generators' backgrounds through a quick run (issue 18, fifth part).

    python experiments/average_course.py OUT [SEED] [DOMAIN_A] [DOMAIN_B]

Trains the quick preset (seed 1 of mnist <-> colored-background by default: the run whose live
generators left dots) into the new folder OUT, and at each of the failure watch's checks
prints the background std (0-255) of A -> B's outputs on the watch's 64 held-out digits where
the input shows background, for the live generator and for the weight average the run
exports (`--average-generators`, training/averaging.py), both with batch statistics, as the
watch reads them. Training is that of `mnistgan train --preset quick`; only the printing is
added, after the watch.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mnist_cyclegan.evaluation.metrics import background_spread
from mnist_cyclegan.settings.resolve import Given, settings_for_new_run
from mnist_cyclegan.settings.run_options import RunOptions
from mnist_cyclegan.training.run_log import RunLog
from mnist_cyclegan.training.trainer import Trainer
from mnist_cyclegan.training.watch import held_out_outputs


class CourseTrainer(Trainer):
    """A Trainer that also prints both generators' background spread at the watch's checks."""

    def _set_up(self) -> None:
        super()._set_up()
        self.log.watch_step = self.watch_step  # the run log calls it at every logged step
        self.watch_step_of_log = RunLog.watch_step.__get__(self.log)

    def watch_step(self, step: int, losses: dict[str, float], networks) -> None:
        self.watch_step_of_log(step, losses, networks)
        watch = self.log.watch
        if watch is None or not watch.watch.check_due(step):
            return
        spreads = {}
        for name, nets in (("live", self.nets), ("averaged", self.left_by_run())):
            outputs = held_out_outputs({"a2b": nets.g_ab}, watch.inputs, watch.output)
            spreads[name] = background_spread(outputs["a2b"], watch.backgrounds["a2b"])
        print(
            f"step {step:5d}  lr {self.lr:.2e}  background std A->B: live {spreads['live']:.2f}, "
            f"averaged {spreads['averaged']:.2f}",
            flush=True,
        )


def main() -> None:
    out = Path(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    domain_a = sys.argv[3] if len(sys.argv) > 3 else "mnist"
    domain_b = sys.argv[4] if len(sys.argv) > 4 else "colored-background"
    given = {"domain_a": domain_a, "domain_b": domain_b, "seed": seed}
    settings = settings_for_new_run("quick", Given(train=given, net={}))
    summary = CourseTrainer(settings, RunOptions(out=out, device="cpu")).train()
    print(f"{summary.step} steps in {summary.seconds:.0f} s; warnings: {len(summary.warnings)}")


if __name__ == "__main__":
    main()
