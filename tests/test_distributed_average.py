"""Data-parallel reductions take the mean over processes, not the sum: Adam is nearly blind to
a gradient's scale, so a training run could not tell the two apart; this test can."""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file
from torch import nn

from mnist_cyclegan.training.distributed import World, average_gradients, mean_over_processes


def worker(rank: int, rendezvous: str, results: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=2)
    try:
        world = World(rank=rank, size=2)
        params = [nn.Parameter(torch.zeros(3)), nn.Parameter(torch.zeros(2, 2))]
        params[0].grad = torch.full((3,), float(rank + 1))  # 1 on rank 0, 2 on rank 1
        params[1].grad = torch.full((2, 2), 10.0 * (rank + 1))
        average_gradients(params, world)
        losses = mean_over_processes(torch.tensor([float(rank), 4.0]), world)
        tensors = {"g0": params[0].grad, "g1": params[1].grad, "losses": losses}
        save_file(tensors, f"{results}-{rank}.safetensors")
    finally:
        dist.destroy_process_group()


def test_gradients_and_logged_losses_are_averaged_over_processes(tmp_path):
    results = str(tmp_path / "result")
    mp.spawn(worker, args=(str(tmp_path / "rendezvous"), results), nprocs=2, join=True)
    for rank in (0, 1):
        got = load_file(f"{results}-{rank}.safetensors")
        assert torch.equal(got["g0"], torch.full((3,), 1.5))  # (1 + 2) / 2, not 3
        assert torch.equal(got["g1"], torch.full((2, 2), 15.0))
        assert torch.equal(got["losses"], torch.tensor([0.5, 4.0]))
