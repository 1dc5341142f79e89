"""Multi-process training through ``torchrun`` + DistributedDataParallel.

``torchrun --nproc_per_node N [--nnodes M ...] -m fdpose.cli.aqa train-aqa ...`` (or the
``fdpose`` entry point) sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous
variables; :func:`init_distributed` reads them and joins the process group: NCCL when the
process drives a CUDA device, gloo on CPU. Without those variables the run is a single
process and nothing is initialised. Rank 0 is the only process that writes files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from fdpose.errors import ConfigError
from fdpose.runtime import dist_env, resolve_device

log = logging.getLogger(__name__)


def pick_device(spec: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``, checked by the core's one resolver
    (:func:`fdpose.runtime.resolve_device`); under torchrun a plain ``cuda``/``auto`` means the GPU of this
    process's local rank."""
    resolved = resolve_device(spec)
    if resolved == "cuda":
        return torch.device("cuda", local_rank % max(torch.cuda.device_count(), 1))
    return torch.device(resolved)


@dataclass
class DistContext:
    """This process's place in the job. ``world_size == 1``: plain single-process run."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str | None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def all_gather_object(self, obj: Any) -> list[Any]:
        """Every rank's ``obj`` (in rank order); ``[obj]`` in a single process."""
        if not self.distributed:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def sum_tensor(self, t: torch.Tensor) -> torch.Tensor:
        """Element-wise sum over ranks (a copy; input unchanged)."""
        out = t.detach().clone().to(self.device if self.backend == "nccl" else "cpu")
        if self.distributed:
            dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out.cpu()

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def init_distributed(device: str = "auto") -> DistContext:
    """Join the torchrun process group if there is one; pick this process's device."""
    env = dist_env()  # the torchrun variables, checked (fdpose.runtime)
    world, rank, local_rank = env.world_size, env.rank, env.local_rank
    dev = pick_device(device, local_rank)
    if world <= 1:
        return DistContext(0, 1, 0, dev, None)
    if not dist.is_available():
        raise ConfigError("torch.distributed is not available in this torch build")
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    log.info("rank %d/%d (local %d) on %s, backend %s", rank, world, local_rank, dev, backend)
    return DistContext(rank, world, local_rank, dev, backend)
