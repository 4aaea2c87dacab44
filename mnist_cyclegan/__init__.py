"""mnistgan: unpaired image-to-image translation between MNIST domains with CycleGAN.

From Python: `Translator.load(weights_or_model_name).a2b(image)` (see `mnist_cyclegan.api`).
"""

from mnist_cyclegan.version import __version__

__all__ = ["Translator", "__version__"]


def __getattr__(name: str):
    # Lazily, so `import mnist_cyclegan` (and the CLI's start) does not import torch.
    if name == "Translator":
        from mnist_cyclegan.api import Translator

        return Translator
    raise AttributeError(f"module 'mnist_cyclegan' has no attribute {name!r}")
