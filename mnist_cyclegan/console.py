"""What the user sees: the two consoles, one-line errors, and a training run's progress.

Errors go to stderr as one plain line (no markup, no highlighting). On a terminal a run shows
one progress bar over steps and one table row per epoch (RichReporter); piped or logged, plain
lines every 100 steps and per epoch (PlainReporter).
"""

from __future__ import annotations

import os
import signal
import time
import warnings

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from mnist_cyclegan.errors import Interrupted, MnistganWarning
from mnist_cyclegan.evaluation.scores import SHOWN, Score

# Markup and emoji off: file names and messages are shown as they are ("[final]", ":smile:").
console = Console(markup=False, emoji=False, soft_wrap=True)
error_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line on stderr and return the exit to raise."""
    error_console.print(f"error: {one_line(message)}")
    return typer.Exit(code)


def warn(message: str) -> None:
    """One line on stderr that does not stop the command."""
    error_console.print(f"warning: {one_line(message)}")


def show_warnings() -> None:
    """Print library warnings of ours (errors.MnistganWarning) as one line each on stderr;
    leave every other warning to Python's own handler."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, MnistganWarning):
            warn(str(message))
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    warnings.simplefilter("always", MnistganWarning)


def one_line(message: str) -> str:
    """A message as one line, whatever a file name or an exception put into it."""
    return " ".join(str(message).split())


class RichReporter:
    """The trainer's Reporter (training/trainer.py) on a Rich console."""

    def __init__(self, console: Console, batch_size: int) -> None:
        self.console = console
        self.batch_size = batch_size
        self.progress: Progress | None = None
        self.task = None
        self.header_shown = False

    def start(self, total: int, completed: int, steps_per_epoch: int) -> None:
        self.progress = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[losses]}"),
            console=self.console,
        )
        self.progress.start()
        self.task = self.progress.add_task(
            "train", total=total, completed=completed, rate="", losses=""
        )

    def step(self, step: int, losses: dict[str, float] | None) -> None:
        if self.progress is None:
            return
        fields = {}
        if losses is not None:
            fields["losses"] = (
                f"G {losses['g_total']:.3f}  D {losses['d_a'] + losses['d_b']:.3f}  "
                f"cycle {losses['cycle']:.3f}"
            )
        task = self.progress.tasks[0]
        if task.speed:
            fields["rate"] = f"{task.speed * self.batch_size:.0f} pairs/s"
        self.progress.update(self.task, completed=step, **fields)

    def epoch(self, epoch: int, means: dict[str, float], seconds: float) -> None:
        table = Table(show_header=not self.header_shown, box=None, pad_edge=False)
        for column in ("epoch", "G", "G_ab gan", "G_ba gan", "cycle", "D_a", "D_b", "time"):
            table.add_column(column, justify="right", width=9)
        table.add_row(
            str(epoch),
            *(
                f"{means[name]:.4f}"
                for name in ("g_total", "g_gan_ab", "g_gan_ba", "cycle", "d_a", "d_b")
            ),
            f"{seconds:.1f}s",
        )
        self.header_shown = True
        self.console.print(table)

    def warn(self, message: str) -> None:
        warn(message)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class PlainReporter:
    """The trainer's Reporter as plain lines, for logs and pipes where a progress bar would
    print nothing useful: one line every `every` steps and one per epoch."""

    def __init__(self, console: Console, batch_size: int, every: int = 100) -> None:
        self.console, self.batch_size, self.every = console, batch_size, every
        self.total = 0
        self.started = 0.0
        self.first = 0

    def start(self, total: int, completed: int, steps_per_epoch: int) -> None:
        self.total, self.first = total, completed
        self.started = time.perf_counter()
        self.console.print(
            f"train: steps {completed + 1}-{total} ({steps_per_epoch} per epoch), resumed"
            if completed
            else f"train: {total} steps, {steps_per_epoch} per epoch"
        )

    def step(self, step: int, losses: dict[str, float] | None) -> None:
        if losses is None or (step % self.every and step != self.total):
            return
        seconds = time.perf_counter() - self.started
        rate = (step - self.first) * self.batch_size / seconds if seconds > 0 else 0.0
        self.console.print(
            f"step {step}/{self.total}  G {losses['g_total']:.4f}  "
            f"D {losses['d_a'] + losses['d_b']:.4f}  cycle {losses['cycle']:.4f}  "
            f"{rate:.0f} pairs/s"
        )

    def epoch(self, epoch: int, means: dict[str, float], seconds: float) -> None:
        names = ("g_total", "g_gan_ab", "g_gan_ba", "cycle", "d_a", "d_b")
        values = "  ".join(f"{name} {means[name]:.4f}" for name in names)
        self.console.print(f"epoch {epoch}: {values}  ({seconds:.1f} s)")

    def warn(self, message: str) -> None:
        warn(message)

    def stop(self) -> None: ...


def print_made_data(title: str, arrays, out, preview, started: float) -> None:
    """make-data's report: the splits written, the file's size and the time since `started`."""
    table = Table(title=f"make-data: {title}")
    for column in ("split", "images", "shape", "dtype"):
        table.add_column(column)
    table.add_row("train", str(len(arrays.x_train)), str(arrays.x_train.shape), "uint8")
    table.add_row("test", str(len(arrays.x_test)), str(arrays.x_test.shape), "uint8")
    console.print(table)
    size_mb = out.stat().st_size / 1e6
    console.print(f"wrote {out} ({size_mb:.1f} MB) in {time.perf_counter() - started:.1f} s")
    if preview is not None:
        console.print(f"preview {preview}")


def print_summary(summary) -> None:
    losses = summary.final_losses
    console.print(
        f"done: step {summary.step}/{summary.total_steps} in {summary.seconds:.0f} s "
        f"({summary.pairs_per_second:.1f} pairs/s); cycle {losses['cycle']:.4f}, "
        f"D_a {losses['d_a']:.4f}, D_b {losses['d_b']:.4f}; run folder {summary.folder}"
    )
    if summary.processes > 1:
        console.print(f"parameters identical on all {summary.processes} processes")
    for message in summary.warnings:  # again at the end, where the progress bar cannot hide it
        warn(message)


SET_NOTE = (
    "A user's own pair: the A/B check is trained on the two real training sets; the "
    "distances compare outputs with real target training images (real vs real: real test "
    "images with the same); accuracies need labels on both sides."
)
FIDELITY_NOTE = (
    "PSNR and SSIM into a coloured domain compare with the truth re-rendered in the output's own "
    "colour (shape only); into mnist, with the true digit itself: the two directions' figures "
    "do not compare."
)


def score_table(results: dict) -> Table:
    a, b = results["domain_a"], results["domain_b"]
    sets = results.get("kind") == "sets"
    noun = "images" if sets else "digits"
    digits = f"test {noun}" if results["split"] == "test" else f"validation {noun}"
    data = results.get("data", {})
    used = "".join(f"\n{side.upper()}: {line}" for side, line in data.items())
    table = Table(
        title=f"eval on {results['limit']} held-out {digits}{used}",
        caption=SET_NOTE if sets else FIDELITY_NOTE,
    )
    table.add_column("metric")
    table.add_column(f"{a} -> {b}", justify="right")
    table.add_column(f"{b} -> {a}", justify="right")
    for score, shown in SHOWN.items():
        if not any(score in results[d] for d in ("a2b", "b2a")):
            continue
        cells = [
            shown.format.format(results[d][score]) if score in results[d] else "-"
            for d in ("a2b", "b2a")
        ]
        table.add_row(shown.label, *cells)
    return table


def print_scores(results: dict) -> None:
    """eval's table, then a warning for each direction that did not translate."""
    console.print(score_table(results))
    for line in translation_warnings(results):
        warn(line)


def translation_warnings(results: dict) -> list[str]:
    """A plain line for each direction that did not translate (its outputs mostly do not look
    like the target domain) or whose backgrounds are mottled past what the watch warns of,
    which the table's numbers alone would leave to the reader."""
    from mnist_cyclegan.evaluation.metrics import MOTTLED_ABOVE  # eval has loaded torch by now

    a, b = results["domain_a"], results["domain_b"]
    lines = []
    for key, source, target in (("a2b", a, b), ("b2a", b, a)):
        scores = results[key]
        share = scores.get(Score.TARGET_DOMAIN_SHARE)
        if share is not None and share < 0.5:
            lines.append(
                f"{source} -> {target} did not translate: {share:.1%} of its outputs look like "
                f"{target} (real {target} images: {scores[Score.TARGET_DOMAIN_SHARE_REAL]:.1%}; "
                f"the inputs themselves: {scores[Score.TARGET_DOMAIN_SHARE_INPUT]:.1%})"
            )
        flatness = scores.get(Score.FLATNESS)
        if flatness is not None and flatness > MOTTLED_ABOVE:  # NaN (no background) is not
            lines.append(
                f"{source} -> {target}'s backgrounds are not flat: std {flatness:.1f} grey "
                f"levels (real {target} images: {scores.get(Score.FLATNESS_REAL, 0.0):.1f}); see "
                "README 'When a pair does not translate'"
            )
    return lines


def models_table(models: list) -> Table:
    """`mnistgan models`: each bundled model's name (never cut: users type it), domains,
    accuracy on the test digits and size."""
    table = Table(title="models that ship with mnistgan (use a name in place of weights)")
    table.add_column("name", no_wrap=True)  # what users type: never cut
    for column in ("domains A <-> B", "accuracy A->B / B->A", "size"):
        table.add_column(column)
    for model in models:
        card = model.card
        accuracy = [f"{card['test'][d][Score.ACCURACY]:.2%}" for d in ("a2b", "b2a")]
        table.add_row(
            model.name,
            f"{card['domain_a']} <-> {card['domain_b']}",
            " / ".join(accuracy),
            f"{model.weights.stat().st_size / 1e6:.1f} MB",
        )
    return table


def interrupt(number: int, frame) -> None:
    raise Interrupted(signal.Signals(number).name)


def describe_failure(error: Exception) -> int:
    """Print one line for an exception no command caught; return the exit code."""
    # Usage errors (click's or Typer's own vendored copy) know how to describe themselves.
    if hasattr(error, "format_message") and hasattr(error, "exit_code"):
        message = error.format_message().strip()
        if message:  # a bare `mnistgan` has already printed its help
            error_console.print(f"error: {one_line(message)}")
        return error.exit_code
    if os.environ.get("MNISTGAN_DEBUG"):
        raise error
    error_console.print(
        f"error: unexpected {type(error).__name__}: {one_line(str(error))[:200]} "
        "(please report it; MNISTGAN_DEBUG=1 shows where)"
    )
    return 70
