"""The reference CycleGAN in plain PyTorch: layers, networks, losses, the image pool, the
step, and batch-norm statistics for export. Nothing here imports the speed kit (fast/)."""
