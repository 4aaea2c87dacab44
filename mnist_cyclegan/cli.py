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
