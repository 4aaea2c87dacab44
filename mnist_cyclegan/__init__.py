"""mnistgan: unpaired image-to-image translation between MNIST domains with CycleGAN."""

__version__ = "0.1.0"
