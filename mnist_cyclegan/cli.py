"""The `mnistgan` command line: thin Typer commands that parse, call the core, and report.

Library code raises `MnistganError` with a one-line message; `main` prints it on stderr and exits
non-zero, so users never see a traceback for a problem they can fix.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from mnist_cyclegan.console import (
    console,
    describe_failure,
    error_console,
    fail,
    interrupt,
    models_table,
    print_made_data,
    print_scores,
    show_warnings,
    warn,
)
from mnist_cyclegan.domains import DOMAINS, STYLES, check_style, get_domain
from mnist_cyclegan.errors import Interrupted, MnistganError
from mnist_cyclegan.settings.run_options import resolve_device
from mnist_cyclegan.train_command import train
from mnist_cyclegan.version import __version__


def _option(help_text: str, **kwargs):
    return typer.Option(help=help_text, **kwargs)


# eval: which data to score on
ScoreDataA = Annotated[
    Path | None,
    _option(
        "Images to score domain A on, as train's --data-a takes them (default: the data the "
        "model trained on)."
    ),
]
ScoreDataB = Annotated[Path | None, _option("The same for domain B.")]
GreySet = Annotated[
    Path | None,
    _option("The grey set the data files were rendered from (default: the one they name)."),
]


class UntypedHelp:
    """Lists -h/--help without a type: Typer shows a bare flag's as `<bool>`."""

    def get_help_option(self, ctx):
        help_option = super().get_help_option(ctx)
        if help_option is not None:
            help_option.metavar = ""
        return help_option


class Command(UntypedHelp, typer.core.TyperCommand):
    """Each `mnistgan` command."""


class Group(UntypedHelp, typer.core.TyperGroup):
    """`mnistgan` itself."""


app = typer.Typer(
    cls=Group,
    name="mnistgan",
    help="Unpaired image-to-image translation between MNIST domains with CycleGAN.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"mnistgan {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version.", metavar=""
        ),
    ] = False,
) -> None:
    """Unpaired image-to-image translation between MNIST domains with CycleGAN."""
    show_warnings()


@app.command("make-data", cls=Command)
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
    from mnist_cyclegan.atomic import Staged
    from mnist_cyclegan.data import domain_arrays, domain_writer
    from mnist_cyclegan.images import grid, png_writer, upscale
    from mnist_cyclegan.outputs import check_outputs
    from mnist_cyclegan.settings.run_options import check_seed

    try:
        get_domain(domain)
        check_style(style)
        check_seed(seed)
        out = out if out is not None else Path(f"{domain}-{style}.npz")
        check_outputs([out, preview], [mnist], force=force)
        started = time.perf_counter()
        with (
            Progress(
                TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
            ) as progress,
            Staged() as stage,
        ):
            task = progress.add_task(f"rendering {domain}", total=2)
            arrays = domain_arrays(domain, style=style, seed=seed, mnist=mnist)
            progress.update(task, advance=1, description=f"writing {out}")
            source = {"mnist": str(mnist) if mnist else "embedded"}
            stage.write(out, domain_writer(arrays, extra_settings=source))
            if preview is not None:
                stage.write(preview, png_writer(upscale(grid(arrays.x_test[:64], columns=8), 2)))
            progress.update(task, advance=1, description="done")
    except MnistganError as error:
        raise fail(str(error)) from None
    print_made_data(f"{domain} ({style}, seed {seed})", arrays, out, preview, started)


@app.command(cls=Command)
def translate(
    weights: Annotated[str, typer.Argument(help="weights.safetensors, or a bundled model's name.")],
    inputs: Annotated[str, typer.Argument(help="An image, a folder of images, or a glob.")],
    output: Annotated[Path, typer.Argument(help="Output PNG (a folder for several inputs).")],
    direction: Annotated[str | None, _option("a2b or b2a (default: from the input).")] = None,
    cycle: Annotated[bool, _option("Also write the round trip as NAME.cycle.png.")] = False,
    device: Annotated[str, _option("auto, cpu or cuda.")] = "auto",
    force: Annotated[bool, _option("Overwrite existing outputs (never an input).")] = False,
    color: Annotated[
        str,
        _option(
            "The output's colour, '#rrggbb': the background into colored-background, the digit "
            "into colored-digit (models with a two-tone output); 'random': the model's pick."
        ),
    ] = "random",
) -> None:
    """Translate image files with weights or a bundled model; outputs keep their input's size."""
    from mnist_cyclegan.api import Translator
    from mnist_cyclegan.pretrained import resolve_weights
    from mnist_cyclegan.translate import translate_files

    try:
        translator = Translator.load(weights, resolve_device(device))
        summary = translate_files(
            translator, inputs, output, direction=direction, cycle=cycle, force=force,
            protected=(resolve_weights(weights),), color=color,
        )  # fmt: skip
    except MnistganError as error:
        raise fail(str(error)) from None
    console.print(
        f"translated {summary['images']} image(s) ({', '.join(summary['directions'])}) "
        f"in {summary['seconds']:.2f} s; wrote {summary['written']} file(s) to {output}"
    )


@app.command("eval", cls=Command)
def evaluate_command(
    weights: Annotated[str, typer.Argument(help="weights.safetensors, or a bundled model's name.")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the scores as JSON.")
    ] = None,
    report: Annotated[Path | None, _option("Write a PNG sheet of examples and scores.")] = None,
    limit: Annotated[int, _option("Number of held-out digits to score.")] = 10_000,
    split: Annotated[
        str,
        _option("test (held-out test digits) or val (the validation digits training left out)."),
    ] = "test",
    data_a: ScoreDataA = None,
    data_b: ScoreDataB = None,
    mnist: GreySet = None,
    device: Annotated[str, _option("auto, cpu or cuda.")] = "auto",
    force: Annotated[bool, _option("Overwrite existing outputs (never the weights).")] = False,
) -> None:
    """Score weights on held-out digits: accuracy, fidelity, realism, Frechet distance, cycle.

    A model trained on make-data files is scored on those files' own digits, read by
    classifiers trained on them; the table's title says which data were used."""
    from mnist_cyclegan.evaluation.eval_data import EvalSources
    from mnist_cyclegan.evaluation.evaluate import evaluate
    from mnist_cyclegan.evaluation.report import write_eval_outputs
    from mnist_cyclegan.outputs import check_outputs
    from mnist_cyclegan.pretrained import resolve_weights
    from mnist_cyclegan.weights import load_generators

    try:
        if not 2 <= limit <= 10**9:
            raise MnistganError("--limit must be at least 2")
        weights_file = resolve_weights(weights)
        inputs = [weights_file, data_a, data_b, mnist]
        check_outputs([json_out, report], inputs, force=force)
        run_device = resolve_device(device)
        g_ab, g_ba, meta = load_generators(weights_file, run_device)
        started = time.perf_counter()
        sources = EvalSources(data_a, data_b, mnist)
        with console.status("evaluating (new data: training its classifiers first)"):
            results, samples = evaluate(
                g_ab, g_ba, meta, limit=limit, device=run_device, split=split, sources=sources
            )
        results["weights"] = str(weights)
        results["seconds"] = time.perf_counter() - started
        write_eval_outputs(results, samples, meta, json_out=json_out, report=report)
    except MnistganError as error:
        raise fail(str(error)) from None
    print_scores(results)


@app.command(cls=Command)
def export(
    weights: Annotated[str, typer.Argument(help="weights.safetensors, or a bundled model's name.")],
    out: Annotated[Path, _option("The .onnx file to write.")],
    format_name: Annotated[
        str, typer.Option("--format", help="onnx (the only one so far).")
    ] = "onnx",
    direction: Annotated[str, _option("a2b or b2a.")] = "a2b",
    io: Annotated[str, _option("uint8 (images as files hold them) or float32 (in [0, 1]).")] = (
        "uint8"
    ),
    force: Annotated[bool, _option("Overwrite an existing file (never the weights).")] = False,
) -> None:
    """Export a generator to ONNX, preprocessing inside, checked in onnxruntime first.

    The graph takes N×H×W×C images of any batch and size and gives back the same kind."""
    from mnist_cyclegan.api import Translator
    from mnist_cyclegan.export import export_onnx
    from mnist_cyclegan.outputs import check_outputs
    from mnist_cyclegan.pretrained import resolve_weights

    try:
        if format_name != "onnx":
            raise MnistganError(f"--format {format_name}: only onnx is supported")
        weights_file = resolve_weights(weights)
        check_outputs([out], [weights_file], force=force)
        translator = Translator.load(weights_file, "cpu")
        translator.generator(direction)  # checks the direction before the export's work
        summary = export_onnx(translator, direction, io, out)
    except MnistganError as error:
        raise fail(str(error)) from None
    console.print(
        f"wrote {out} ({summary['bytes'] / 1e6:.1f} MB, {direction}, {io} in and out); "
        f"onnxruntime on {summary['checked']} test digits: largest difference from PyTorch "
        f"{summary['worst']:.2g}"
    )


@app.command(cls=Command)
def models() -> None:
    """List the models that ship with mnistgan (use a name wherever weights are asked for)."""
    from mnist_cyclegan.pretrained import bundled_models

    console.print(models_table(bundled_models()))
    for model in bundled_models():
        console.print(f"{model.name}: model card {model.folder / 'README.md'}")


@app.command(cls=Command)
def demo(
    weights: Annotated[
        str | None, _option("A weights file or bundled name (default: every bundled model).")
    ] = None,
    host: Annotated[
        str, _option("Address to listen on; 127.0.0.1 keeps the page to this machine.")
    ] = "127.0.0.1",
    port: Annotated[int, _option("Port to listen on (0: any free one).")] = 8000,
    device: Annotated[str, _option("auto, cpu or cuda.")] = "auto",
) -> None:
    """Open a local web page: draw or drop a digit, see it in every domain; Ctrl+C stops it."""
    from mnist_cyclegan.demo.server import start_server
    from mnist_cyclegan.demo.translations import load_models

    try:
        if not 0 <= port <= 65535:
            raise MnistganError(f"--port {port}: give 0-65535")
        server = start_server(load_models(weights, resolve_device(device)), host, port)
    except MnistganError as error:
        raise fail(str(error)) from None
    if host not in ("127.0.0.1", "localhost", "::1"):
        warn(f"listening on {host}: other machines on the network can use this page")
    console.print(f"demo at {server.url} (Ctrl+C stops it)")
    try:
        server.serve_forever()
    except (KeyboardInterrupt, Interrupted):  # Ctrl+C or SIGTERM: the way a demo ends
        console.print("demo stopped")
    finally:
        server.server_close()


app.command(cls=Command)(train)  # train_command.py: its options and the run


def main() -> None:
    """Entry point: run the app, turning usage errors and interrupts into one line on stderr.
    Anything unforeseen is one line too (MNISTGAN_DEBUG=1 shows its traceback). While `train`
    trains, its own handlers turn a signal into a checkpoint and a clean stop instead."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, interrupt)
    try:
        code = app(standalone_mode=False)
    except typer.Exit as done:
        code = done.exit_code
    except (typer.Abort, KeyboardInterrupt, Interrupted):
        error_console.print("error: interrupted")
        code = 130
    except MemoryError:
        error_console.print("error: out of memory")
        code = 1
    except Exception as error:
        code = describe_failure(error)
    sys.exit(code if isinstance(code, int) else 0)
