"""The `mnistgan` command line: thin Typer commands that parse, call the core, and report.

Library code raises `MnistganError` with a one-line message; `main` prints it on stderr and exits
non-zero, so users never see a traceback for a problem they can fix.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mnist_cyclegan import __version__
from mnist_cyclegan.domains import DOMAINS, STYLES, check_style, get_domain
from mnist_cyclegan.errors import MnistganError

app = typer.Typer(
    name="mnistgan",
    help="Unpaired image-to-image translation between MNIST domains with CycleGAN.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
error_console = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line on stderr and return the exit to raise."""
    error_console.print(f"error: {message}", markup=False)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        console.print(f"mnistgan {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Unpaired image-to-image translation between MNIST domains with CycleGAN."""


@app.command("make-data")
def make_data(
    domain: Annotated[str, typer.Option(help=f"Domain to render: {', '.join(DOMAINS)}.")],
    style: Annotated[str, typer.Option(help=f"Rendering: {', '.join(STYLES)}.")] = "threshold",
    seed: Annotated[int, typer.Option(help="Seed of the per-image colours.")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Output .npz (default: DOMAIN-STYLE.npz here).")
    ] = None,
    mnist: Annotated[
        Path | None,
        typer.Option(help="Your own MNIST-like set: a Keras .npz or a folder of IDX files."),
    ] = None,
    preview: Annotated[
        Path | None, typer.Option(help="Also write a PNG grid of the first 64 test images.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing outputs.")] = False,
) -> None:
    """Render every MNIST digit (train and test) into one domain and save it as an .npz."""
    from mnist_cyclegan.data import domain_arrays, save_domain
    from mnist_cyclegan.images import grid, save_png, upscale

    try:
        get_domain(domain)
        check_style(style)
        out = out if out is not None else Path(f"{domain}-{style}.npz")
        for target in (out, preview):
            if target is not None and target.exists() and not force:
                raise MnistganError(f"{target}: already exists (use --force to overwrite)")
        started = time.perf_counter()
        with Progress(
            TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task(f"rendering {domain}", total=2)
            arrays = domain_arrays(domain, style=style, seed=seed, mnist=mnist)
            progress.update(task, advance=1, description=f"writing {out}")
            save_domain(out, arrays, extra_settings={"mnist": str(mnist) if mnist else "embedded"})
            if preview is not None:
                save_png(preview, upscale(grid(arrays.x_test[:64], columns=8), 2))
            progress.update(task, advance=1, description="done")
    except MnistganError as error:
        raise fail(str(error)) from None
    table = Table(title=f"make-data: {domain} ({style}, seed {seed})")
    for column in ("split", "images", "shape", "dtype"):
        table.add_column(column)
    table.add_row("train", str(len(arrays.x_train)), str(arrays.x_train.shape), "uint8")
    table.add_row("test", str(len(arrays.x_test)), str(arrays.x_test.shape), "uint8")
    console.print(table)
    size_mb = out.stat().st_size / 1e6
    console.print(f"wrote {out} ({size_mb:.1f} MB) in {time.perf_counter() - started:.1f} s")
    if preview is not None:
        console.print(f"preview {preview}")


def _option(help_text: str, **kwargs):
    return typer.Option(help=help_text, **kwargs)


@app.command()
def train(
    preset: Annotated[str | None, _option("reference (default) or quick (fast on a CPU).")] = None,
    domain_a: Annotated[str | None, _option("Domain A (default mnist).")] = None,
    domain_b: Annotated[str | None, _option("Domain B (default colored-background).")] = None,
    style: Annotated[str | None, _option("Rendering style: threshold or blend.")] = None,
    epochs: Annotated[int | None, _option("Epochs (default 100).")] = None,
    steps: Annotated[
        int | None, _option("Cap on total optimisation steps (also on resume).")
    ] = None,
    batch_size: Annotated[int | None, _option("Pairs per step (default 64).")] = None,
    device: Annotated[str, _option("auto, cpu or cuda.")] = "auto",
    seed: Annotated[int | None, _option("Seed for data split, init and order (default 0).")] = None,
    out: Annotated[Path | None, _option("Run folder (default runs/A-to-B).")] = None,
    resume: Annotated[bool, _option("Continue the run in --out from its checkpoint.")] = False,
    data_a: Annotated[Path | None, _option("make-data file for domain A.")] = None,
    data_b: Annotated[Path | None, _option("make-data file for domain B.")] = None,
    pairing: Annotated[str | None, _option("disjoint (default) or shuffled.")] = None,
    train_digits: Annotated[int | None, _option("Use only N training digits per domain.")] = None,
    lr: Annotated[float | None, _option("Adam learning rate (default 2e-4).")] = None,
    lambda_cycle: Annotated[float | None, _option("Cycle loss weight (default 10).")] = None,
    lambda_identity: Annotated[
        float | None, _option("Identity loss weight, |G(y) − y| (default 0; paper 5).")
    ] = None,
    pool_size: Annotated[
        int | None, _option("History pool of fakes (default 0; paper 50).")
    ] = None,
    lr_decay_epochs: Annotated[int | None, _option("Linear decay to 0 over last N epochs.")] = None,
    precision: Annotated[str | None, _option("bf16 autocast (default) or fp32.")] = None,
    cycle_noise: Annotated[
        float | None, _option("Noise std on fakes before the cycle (default 0: off).")
    ] = None,
    norm: Annotated[str | None, _option("batch (reference) or instance.")] = None,
    output: Annotated[str | None, _option("sigmoid (reference) or tanh.")] = None,
    gen_width: Annotated[int | None, _option("Generator base width (default 32).")] = None,
    res_blocks: Annotated[int | None, _option("Residual blocks (default 6).")] = None,
    disc_width: Annotated[int | None, _option("Discriminator base width (default 64).")] = None,
    final_norm: Annotated[
        bool | None, _option("Normalise the generator's last conv (reference: yes).")
    ] = None,
    long_skip: Annotated[
        bool | None, _option("Add stem features to the decoder output (reference: no).")
    ] = None,
    median_offset: Annotated[
        bool | None,
        _option("Generator also reads |input − its median colour| (reference: no)."),
    ] = None,
    attention_mask: Annotated[
        bool | None,
        _option("Output mixes generated and input pixels by a learned mask (reference: no)."),
    ] = None,
    checkpoint_every: Annotated[
        int, _option("Also checkpoint every N steps (0: epochs only).")
    ] = 0,
    log_every: Annotated[int, _option("Read losses back every N steps.")] = 10,
    channels_last: Annotated[bool, _option("NHWC memory layout (faster convolutions).")] = True,
    side_by_side: Annotated[
        bool,
        _option("On a CPU, run each update's two independent halves on two threads (faster)."),
    ] = True,
    eval_every: Annotated[int, _option("Evaluate on 1,000 test digits every N steps.")] = 0,
    poison_step: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Train a CycleGAN between two domains; writes a run folder with weights and checkpoint."""
    from dataclasses import replace

    from mnist_cyclegan.checkpoint import read_checkpoint_settings
    from mnist_cyclegan.console_ui import RichReporter
    from mnist_cyclegan.distributed import start, stop, world_from_env
    from mnist_cyclegan.settings import TrainSettings
    from mnist_cyclegan.train import (
        LossNotFinite,
        TrainingInterrupted,
        resolve_device,
        run_training,
    )

    given = {
        "domain_a": domain_a, "domain_b": domain_b, "style": style, "epochs": epochs,
        "steps": steps, "batch_size": batch_size, "seed": seed, "pairing": pairing,
        "data_a": str(data_a) if data_a else None, "data_b": str(data_b) if data_b else None,
        "train_digits": train_digits, "lr": lr, "lambda_cycle": lambda_cycle,
        "lambda_identity": lambda_identity, "pool_size": pool_size,
        "lr_decay_epochs": lr_decay_epochs, "precision": precision, "cycle_noise": cycle_noise,
    }  # fmt: skip
    given = {k: v for k, v in given.items() if v is not None}
    net_given = {
        "norm": norm, "output": output, "gen_width": gen_width,
        "res_blocks": res_blocks, "disc_width": disc_width, "final_norm": final_norm,
        "long_skip": long_skip, "median_offset": median_offset, "attention_mask": attention_mask,
    }  # fmt: skip
    net_given = {k: v for k, v in net_given.items() if v is not None}
    world = world_from_env()
    try:
        run_device = start(world, resolve_device(device))
        if out is None:
            a = given.get("domain_a", "mnist")
            b = given.get("domain_b", "colored-background")
            out = Path("runs") / f"{a}-to-{b}"
        if resume:
            if preset is not None:
                raise MnistganError("--preset applies to new runs; --resume keeps the run's own")
            stored = read_checkpoint_settings(out / "checkpoint.safetensors")
            changeable = {"epochs", "steps"}
            for key, value in {**given, **net_given}.items():
                old = getattr(stored.net if key in net_given else stored, key)
                if key not in changeable and value != old:
                    flag = "--" + key.replace("_", "-")
                    raise MnistganError(
                        f"{flag} {value} differs from the run's {old!r}; only --epochs and "
                        "--steps may change on --resume"
                    )
            settings = replace(stored, **{k: v for k, v in given.items() if k in changeable})
        else:
            base = TrainSettings.preset(preset or "reference")
            settings = replace(base, **given, net=replace(base.net, **net_given))
        reporter = RichReporter(console, settings.batch_size)
        summary = run_training(
            settings,
            out=out,
            device=run_device,
            resume=resume,
            checkpoint_every=checkpoint_every,
            log_every=max(1, log_every),
            reporter=reporter,
            poison_step=poison_step,
            channels_last=channels_last,
            two_threads=side_by_side,
            eval_every=max(0, eval_every),
            world=world,
        )
    except TrainingInterrupted as stopped:
        raise fail(str(stopped), code=130) from None
    except LossNotFinite as diverged:
        raise fail(str(diverged), code=3) from None
    except MnistganError as error:
        raise fail(str(error)) from None
    finally:
        stop(world)
    if not world.is_main:
        return
    losses = summary["final_losses"]
    console.print(
        f"done: step {summary['step']}/{summary['total_steps']} in {summary['seconds']:.0f} s "
        f"({summary['pairs_per_second']:.1f} pairs/s); cycle {losses['cycle']:.4f}, "
        f"D_a {losses['d_a']:.4f}, D_b {losses['d_b']:.4f}; run folder {summary['folder']}"
    )
    if summary["processes"] > 1:
        console.print(f"parameters identical on all {summary['processes']} processes")


@app.command()
def translate(
    weights: Annotated[Path, typer.Argument(help="weights.safetensors from a training run.")],
    inputs: Annotated[str, typer.Argument(help="An image, a folder of images, or a glob.")],
    output: Annotated[Path, typer.Argument(help="Output PNG (a folder for several inputs).")],
    direction: Annotated[str | None, _option("a2b or b2a (default: from the input).")] = None,
    cycle: Annotated[bool, _option("Also write the round trip as NAME.cycle.png.")] = False,
    device: Annotated[str, _option("auto, cpu or cuda.")] = "auto",
) -> None:
    """Translate image files with trained weights; outputs keep their input's size."""
    from mnist_cyclegan.train import resolve_device
    from mnist_cyclegan.translate import translate_files
    from mnist_cyclegan.weights import load_generators

    try:
        run_device = resolve_device(device)
        g_ab, g_ba, meta = load_generators(weights, run_device)
        summary = translate_files(
            g_ab, g_ba, meta, inputs, output, direction=direction, cycle=cycle, device=run_device
        )
    except MnistganError as error:
        raise fail(str(error)) from None
    console.print(
        f"translated {summary['images']} image(s) ({', '.join(summary['directions'])}) "
        f"in {summary['seconds']:.2f} s; wrote {summary['written']} file(s) to {output}"
    )


@app.command("eval")
def evaluate_command(
    weights: Annotated[Path, typer.Argument(help="weights.safetensors from a training run.")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the scores as JSON.")
    ] = None,
    report: Annotated[Path | None, _option("Write a PNG sheet of examples and scores.")] = None,
    limit: Annotated[int, _option("Number of held-out test digits.")] = 10_000,
    device: Annotated[str, _option("auto, cpu or cuda.")] = "auto",
) -> None:
    """Score weights on held-out digits: accuracy, fidelity, realism, FID, cycle."""
    import json

    from mnist_cyclegan.atomic import write_text_atomic
    from mnist_cyclegan.evaluate import evaluate
    from mnist_cyclegan.report import direction_panel, save_report
    from mnist_cyclegan.train import resolve_device
    from mnist_cyclegan.weights import load_generators

    try:
        if limit < 2:
            raise MnistganError("--limit must be at least 2")
        run_device = resolve_device(device)
        g_ab, g_ba, meta = load_generators(weights, run_device)
        started = time.perf_counter()
        with console.status("evaluating (the first run trains each domain's classifier)"):
            results, samples = evaluate(g_ab, g_ba, meta, limit=limit, device=run_device)
        results["weights"] = str(weights)
        results["seconds"] = time.perf_counter() - started
        if json_out is not None:
            write_text_atomic(json_out, json.dumps(results, indent=2) + "\n")
        if report is not None:
            a, b = meta["domain_a"], meta["domain_b"]
            save_report(
                report,
                [
                    direction_panel(f"{a} -> {b}", samples["a2b"], results["a2b"]),
                    direction_panel(f"{b} -> {a}", samples["b2a"], results["b2a"]),
                ],
            )
    except MnistganError as error:
        raise fail(str(error)) from None
    console.print(score_table(results))


def score_table(results: dict) -> Table:
    from mnist_cyclegan.report import METRIC_LINES

    a, b = results["domain_a"], results["domain_b"]
    table = Table(title=f"eval on {results['limit']} held-out test digits")
    table.add_column("metric")
    table.add_column(f"{a} -> {b}", justify="right")
    table.add_column(f"{b} -> {a}", justify="right")
    for key, label, fmt in METRIC_LINES:
        cells = [fmt.format(results[d][key]) if key in results[d] else "-" for d in ("a2b", "b2a")]
        table.add_row(label, *cells)
    return table


def main() -> None:
    """Entry point: run the app, turning usage errors into one line on stderr."""
    try:
        code = app(standalone_mode=False)
    except typer.Exit as done:
        code = done.exit_code
    except typer.Abort:
        error_console.print("error: aborted", markup=False)
        code = 130
    except KeyboardInterrupt:
        error_console.print("error: interrupted", markup=False)
        code = 130
    except Exception as error:
        # Usage errors (click's or Typer's own vendored copy) know how to describe themselves.
        if not (hasattr(error, "format_message") and hasattr(error, "exit_code")):
            raise
        message = error.format_message().strip()
        if message:  # a bare `mnistgan` has already printed its help
            error_console.print(f"error: {message}", markup=False)
        code = error.exit_code
    sys.exit(code if isinstance(code, int) else 0)
