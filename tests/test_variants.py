"""The additions' plans for a step (variants/step.py): cycle noise reaches the way back and
nothing else, palettes go where training needs them, the reference's plans add nothing, and
the factory builds the reference's own generator where the settings add nothing to it."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from dataclasses import replace

import pytest
import torch
from torch import nn

from mnist_cyclegan.cyclegan.networks import Generator
from mnist_cyclegan.fast.halves import HalfPlan, reference_plans
from mnist_cyclegan.settings.schema import NetSettings, TrainSettings
from mnist_cyclegan.train_command import train
from mnist_cyclegan.variants.factory import define_generator
from mnist_cyclegan.variants.generator import GeneratorWithAdditions
from mnist_cyclegan.variants.step import plans_for
from mnist_cyclegan.variants.two_tone import TwoToneGenerator, estimate_palette


class Recorder(nn.Module):
    """A 'generator' that keeps what it was given and hands its input back."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[torch.Tensor, torch.Tensor | None]] = []

    def forward(self, x: torch.Tensor, palette: torch.Tensor | None = None) -> torch.Tensor:
        self.seen.append((x.clone(), palette))
        return x


def batches() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(4, 1, 8, 8, generator=generator), torch.rand(4, 3, 8, 8, generator=generator)


def test_the_reference_settings_get_the_reference_plans():
    assert plans_for(TrainSettings()) is reference_plans
    assert reference_plans(*batches()) == (HalfPlan(), HalfPlan())


def test_cycle_noise_reaches_the_way_back_and_nothing_else():
    settings = replace(TrainSettings(), cycle_noise=0.1)
    real_a, real_b = batches()
    torch.manual_seed(3)
    plan_a2b, _ = plans_for(settings)(real_a, real_b)
    torch.manual_seed(3)
    noise_b = 0.1 * torch.randn(real_b.shape)  # drawn first: the fakes of B
    g, f = Recorder(), Recorder()
    fake = plan_a2b.forward(g, real_a)
    assert torch.equal(g.seen[0][0], real_a)  # G(x): x as it is
    plan_a2b.back(f, fake)
    assert torch.equal(f.seen[0][0], fake + noise_b)  # F(G(x) + noise)
    assert plan_a2b.terms == ()  # no weight, no term


def test_no_noise_draws_nothing_from_the_random_generator():
    state = torch.get_rng_state()
    plan, _ = plans_for(replace(TrainSettings(), lambda_identity=1.0))(*batches())
    assert torch.equal(torch.get_rng_state(), state)
    assert [term.name for term in plan.terms] == ["identity"]


def test_two_tone_paints_g_x_like_a_real_target_and_the_way_back_like_x():
    settings = replace(TrainSettings(), net=NetSettings(head="two-tone"))
    real_a, real_b = batches()
    plan_a2b, plan_b2a = plans_for(settings)(real_a, real_b)
    g, f = Recorder(), Recorder()
    plan_a2b.back(f, plan_a2b.forward(g, real_a))
    assert torch.equal(g.seen[0][1], estimate_palette(real_b))  # G(a) in b's colours
    assert torch.equal(f.seen[0][1], estimate_palette(real_a))  # back in a's own
    plan_b2a.forward(g, real_b)
    assert torch.equal(g.seen[1][1], estimate_palette(real_a))


@pytest.mark.parametrize(
    ("net", "cls"),
    [
        (NetSettings(), Generator),
        (NetSettings(head="tanh"), Generator),
        (NetSettings(long_skip=True), GeneratorWithAdditions),
        (NetSettings(head="two-tone"), TwoToneGenerator),
    ],
)
def test_the_factory_picks_the_class_by_the_settings(net, cls):
    assert type(define_generator(1, 3, replace(net, gen_width=4, res_blocks=1))) is cls


def test_the_reference_class_refuses_settings_it_would_ignore():
    with pytest.raises(ValueError, match="variants/factory.py"):
        Generator(1, 3, NetSettings(median_offset=True))
    with pytest.raises(TypeError, match="no palette"):
        define_generator(1, 3, NetSettings(long_skip=True))(torch.rand(1, 1, 8, 8), torch.ones(1))


# -- the registry: one line plugs a variant in --------------------------------------------------

INFRASTRUCTURE = {"__init__", "factory", "generator", "registry", "step", "variant"}
FLAGGED = (
    "lambda_identity", "lambda_shape", "keep_labels", "label_reader", "labels_weight",
    "lambda_geometry", "lambda_nce",
    "nce_encoder",
    "cycle_noise", "average_generators",
    "net.head", "net.head", "net.flat_figures", "net.long_skip", "net.median_offset",
)  # fmt: skip


def test_the_registry_lists_every_variant_with_its_settings_and_logged_names():
    from pathlib import Path

    from mnist_cyclegan.training.run_folder import LOSS_NAMES
    from mnist_cyclegan.variants import registry

    folder = Path(registry.__file__).parent
    files = {path.stem for path in folder.glob("*.py")} - INFRASTRUCTURE
    modules = {}
    for stem in files:
        module = __import__(f"mnist_cyclegan.variants.{stem}", fromlist=["VARIANT"])
        modules[stem] = module.VARIANT  # every addition file declares itself
    listed = set(registry.VARIANTS)
    assert set(modules.values()) == listed, sorted(files)
    assert len({variant.name for variant in registry.VARIANTS}) == len(registry.VARIANTS)
    reference = TrainSettings()
    flags = set(inspect.signature(train).parameters)
    for variant in registry.VARIANTS:
        for name in variant.settings:
            owner, field = (
                (reference.net, name[4:]) if name.startswith("net.") else (reference, name)
            )
            assert hasattr(owner, field), (variant.name, name)
            assert field in flags, (variant.name, name)  # each setting is a train option
        assert set(variant.logged) <= set(LOSS_NAMES), variant.name
        assert not variant.is_on(reference), variant.name  # the reference turns none on
    assert sorted(name for v in registry.VARIANTS for name in v.settings) == sorted(FLAGGED)
    assert registry.logged_columns() == (
        "identity", "shape", "labels", "task", "geometry", "nce",
    )  # fmt: skip
    assert set(registry.heads()) == {"attention", "two-tone"}
    quick = TrainSettings.preset("quick")
    on = {variant.name for variant in registry.VARIANTS if variant.is_on(quick)}
    assert on == {
        "identity term", "cycle noise", "two-tone head", "long skip", "median offset",
        "weight average",
    }  # fmt: skip


def test_a_term_declared_in_one_file_and_registered_in_one_line_is_summed_by_the_step(
    monkeypatch,
):
    """What a new addition costs: a Variant with its term, and its line in the registry. Here
    a term of weight 3 whose value is the mean of G(x): the half-cycle's total grows by 3 × it."""
    from mnist_cyclegan.cyclegan.networks import build_networks
    from mnist_cyclegan.fast.halves import Term, half_cycle
    from mnist_cyclegan.variants import registry, step
    from mnist_cyclegan.variants.variant import Variant

    def brightness(settings, context):
        return Term("brightness", 3.0, lambda g, f, real_x, fake_y: fake_y.float().mean())

    toy = Variant("brightness", lambda settings: True, changes_step=True, term=brightness)
    monkeypatch.setattr(step, "VARIANTS", (*registry.VARIANTS, toy))
    settings = replace(TrainSettings(), precision="fp32")
    nets = build_networks(settings.net, 1, 3, 0, torch.device("cpu"))
    real_a, _ = batches()
    plan_a2b, _ = plans_for(settings)(*batches())
    assert [term.name for term in plan_a2b.terms] == ["brightness"]
    torch.manual_seed(0)
    with_term = half_cycle(nets.g_ab, nets.g_ba, nets.d_b, real_a, settings, plan_a2b)
    torch.manual_seed(0)
    without = half_cycle(nets.g_ab, nets.g_ba, nets.d_b, real_a, settings, HalfPlan())
    expected = without.total + 3.0 * with_term.fake.mean()
    assert torch.allclose(with_term.total, expected, atol=1e-6)
    assert torch.allclose(with_term.term("brightness"), with_term.fake.mean())


# A whole new addition, as a developer writes one: one file, and one line in the registry.
BRIGHTNESS_FILE = """
from dataclasses import dataclass

from mnist_cyclegan.fast.halves import Term
from mnist_cyclegan.settings.fields import ADDITIONS, Flag, number, setting
from mnist_cyclegan.variants.variant import Variant


@dataclass(frozen=True)
class BrightnessSettings:
    lambda_brightness: float = setting(
        0.0,
        number(0, 1e6, "--lambda-brightness must be >= 0"),
        Flag("Brightness term weight, the mean of G(x).", ADDITIONS),
    )


def brightness_term(settings, context):
    return Term("brightness", settings.lambda_brightness, lambda g, f, x, fake: fake.mean())


VARIANT = Variant(
    name="brightness term",
    train_settings=BrightnessSettings,
    is_on=lambda settings: bool(settings.lambda_brightness),
    changes_step=True,
    logged=("brightness",),
    term=brightness_term,
)
"""
# The registry line, made in a fresh process before the package reads its registry.
WITH_THE_LINE = """
import sys
sys.path.insert(0, sys.argv.pop(1))
from mnist_cyclegan.variants import registry
import brightness
registry.VARIANTS = (*registry.VARIANTS, brightness.VARIANT)
from mnist_cyclegan.cli import main
sys.argv[0] = "mnistgan"
main()
"""


def test_a_new_addition_in_one_file_and_one_registry_line_is_a_train_option_end_to_end(
    tmp_path,
):
    """The file declares the term, its setting, check, help and logged column; with its one
    registry line, `train` takes the option, checks it, records it in config.json and logs
    the term's column; nothing else in the package changes."""
    from conftest import TINY

    (tmp_path / "brightness.py").write_text(BRIGHTNESS_FILE)
    script = tmp_path / "mnistgan_with_line.py"
    script.write_text(WITH_THE_LINE)

    def mnistgan(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, str(script), str(tmp_path), *map(str, args)]
        return subprocess.run(command, capture_output=True, text=True, timeout=300)

    shown = mnistgan("train", "--help")
    assert shown.returncode == 0, shown.stderr
    assert "--lambda-brightness" in shown.stdout and "Brightness term weight" in shown.stdout
    refused = mnistgan("train", "--lambda-brightness", "-1", "--out", tmp_path / "no")
    assert refused.returncode != 0
    assert refused.stderr.strip() == "error: --lambda-brightness must be >= 0"
    out = tmp_path / "run"
    trained = mnistgan("train", "--preset", "quick", "--steps", "2", "--lambda-brightness", "2",
                       "--log-every", "1", "--out", out, *TINY)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    settings = json.loads((out / "config.json").read_text())["settings"]
    assert settings["lambda_brightness"] == 2.0
    header, *rows = (out / "losses.csv").read_text().splitlines()
    column = header.split(",").index("brightness")
    assert all(0 < float(row.split(",")[column]) < 2 for row in rows)  # mean of G(x), twice
