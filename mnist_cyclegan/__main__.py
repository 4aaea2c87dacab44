"""`python -m mnist_cyclegan` runs the same CLI as `mnistgan` (and is what torchrun starts)."""

from mnist_cyclegan.cli import main

if __name__ == "__main__":
    main()
