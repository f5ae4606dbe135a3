"""Data parallelism under `torchrun`: one process per device, gradients averaged by all-reduce.

Variants run several backward passes per step (D, then G), so instead of wrapping each
network in DistributedDataParallel the engine averages the gradients of exactly the
parameters an optimizer is about to step, in one flat all-reduce per optimizer step.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


def world_from_env() -> tuple[int, int, int]:
    """(rank, world size, local rank) as set by torchrun; (0, 1, 0) otherwise."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def init(device: torch.device) -> tuple[int, int]:
    rank, world, _ = world_from_env()
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world


def all_reduce_mean(tensors: list[torch.Tensor]) -> None:
    if not tensors:
        return
    flat = _flatten_dense_tensors(tensors)
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    for t, synced in zip(tensors, _unflatten_dense_tensors(flat, tensors)):
        t.copy_(synced)


def broadcast_state(module: torch.nn.Module) -> None:
    """Start every process from rank 0's weights and buffers."""
    for t in module.state_dict().values():
        dist.broadcast(t, 0)


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
