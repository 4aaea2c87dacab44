"""Data-parallel training under torchrun: NCCL on CUDA, gloo on the CPU.

Each process takes its own slice of every global batch, and after each backward pass the
gradients are averaged across processes before the optimiser steps, which is exactly what
DistributedDataParallel computes. We average them ourselves rather than wrap the networks in
DDP because the CycleGAN step does not fit DDP's reducer: each generator runs twice per
backward pass (translation and cycle), and the discriminators are frozen during the generator
update, so their parameters get no gradient in that backward pass; DDP would need
find_unused_parameters and a static graph to tolerate both, and still reduce per module call.

Batch norm: on CUDA the networks use SyncBatchNorm, so statistics cover the global batch as in a
single process. PyTorch's SyncBatchNorm runs only on GPUs; on the CPU each process normalises
with the statistics of its own slice (instance norm is unaffected: it is per image).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from mnist_cyclegan.errors import MnistganError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


def world_from_env() -> World:
    """The torchrun environment (RANK, WORLD_SIZE, LOCAL_RANK), or a single process."""
    size = env_int("WORLD_SIZE", "1")
    if size <= 1:
        return World()
    rank, local_rank = env_int("RANK", None), env_int("LOCAL_RANK", "0")
    if not 0 <= rank < size or local_rank < 0:
        raise MnistganError(f"RANK {rank} / LOCAL_RANK {local_rank} do not fit WORLD_SIZE {size}")
    return World(rank, size, local_rank)


def env_int(name: str, default: str | None) -> int:
    value = os.environ.get(name, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        shown = "missing" if value is None else repr(value[:40])
        raise MnistganError(f"environment variable {name} is {shown}, not a number") from None


def start(world: World, device: torch.device) -> torch.device:
    """Join the process group; on CUDA each process takes the GPU of its local rank."""
    if not world.active:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def stop(world: World, finished: bool) -> None:
    """Leave the process group; after a finished run, only once every process has reached
    here: a gloo process that tore its group down while the other was still in its last
    collective aborted at exit ("terminate called without an active exception") in about one
    2-process CPU run of four. After a failure the others may never come, so no waiting."""
    if world.active and dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def check_batch(world: World, batch_size: int) -> int:
    """The per-process share of the global batch."""
    if batch_size % world.size:
        raise MnistganError(
            f"--batch-size {batch_size} (global) does not split evenly over {world.size} processes"
        )
    return batch_size // world.size


def local_share(batch: torch.Tensor, world: World, local_batch: int) -> torch.Tensor:
    """This process's slice of a global batch."""
    if not world.active:
        return batch
    return batch[world.rank * local_batch : (world.rank + 1) * local_batch]


def mean_over_processes(values: torch.Tensor, world: World) -> torch.Tensor:
    """The mean of `values` over all processes (a copy), as one process would log it."""
    if not world.active:
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / world.size


def sync_batch_norm(module: nn.Module, world: World, device: torch.device) -> nn.Module:
    if world.active and device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return module


def average_gradients(parameters: list[nn.Parameter], world: World) -> None:
    """All-reduce every gradient in one flat buffer and divide by the number of processes."""
    if not world.active:
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world.size
    offset = 0
    for grad in grads:
        grad.copy_(flat[offset : offset + grad.numel()].view_as(grad))
        offset += grad.numel()


def any_rank(flag: bool | torch.Tensor, world: World, device: torch.device) -> bool:
    """True on every process if it is true on any: so all stop together."""
    value = torch.as_tensor(flag, dtype=torch.int32, device=device).reshape(1).clone()
    if world.active:
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def broadcast_state(modules: list[nn.Module], world: World) -> None:
    """Make every process start from rank 0's parameters and buffers."""
    if not world.active:
        return
    for module in modules:
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0)


def average_buffers(modules: list[nn.Module], world: World) -> None:
    """Average batch-norm running statistics over processes (on the CPU each process keeps its
    own, from its slice); they do not affect training, only eval-mode use and checkpoints."""
    if not world.active:
        return
    for module in modules:
        for buffer in module.buffers():
            if buffer.is_floating_point():
                dist.all_reduce(buffer)
                buffer /= world.size


def parameter_digest(modules: list[nn.Module]) -> bytes:
    """SHA-256 of every parameter and buffer, in order: equal digests mean equal networks."""
    digest = hashlib.sha256()
    for module in modules:
        for tensor in module.state_dict().values():
            digest.update(tensor.detach().to("cpu").contiguous().view(-1).view(torch.uint8).numpy())
    return digest.digest()


def check_in_step(modules: list[nn.Module], world: World, device: torch.device) -> None:
    """Fail loudly if the processes' networks differ (they must be identical after every step)."""
    if not world.active:
        return
    mine = torch.tensor(list(parameter_digest(modules)), dtype=torch.uint8, device=device)
    everyone = [torch.empty_like(mine) for _ in range(world.size)]
    dist.all_gather(everyone, mine)
    if any(not torch.equal(mine, other) for other in everyone):
        raise MnistganError(f"process {world.rank}: networks differ between processes")
