"""Training machinery: the Trainer, its run folder, checkpoints, data batches and
data-parallel reductions."""
