"""Multi-process (DDP) training with fastai's distributed support, on GPUs (NCCL) and CPUs (gloo).

``python -m training.train`` runs unchanged under ``torchrun --nproc_per_node N`` or
``accelerate launch --multi_gpu --num_processes N``: fastai reads the rank and world size from
the environment those launchers set, ``accelerate`` wraps the model in
``DistributedDataParallel`` and ``DistributedDL`` gives each rank its shard of every batch and
gathers predictions (padding removed) for the metrics, so the AUC is computed on the whole
valid set. With one process everything here is a no-op.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import torch
from fastai.distributed import DistributedDL, DistributedTrainer
from fastai.learner import Learner
from fastai.torch_core import distrib_barrier, num_distrib, rank_distrib


def world_size() -> int:
    """Number of training processes (1 when not launched by torchrun/accelerate)."""
    return max(num_distrib(), 1)


def rank() -> int:
    """This process's rank (0 when not distributed)."""
    return rank_distrib()


def is_main() -> bool:
    """True in the process that writes the run folder."""
    return rank() == 0


def _collective_device() -> torch.device:
    backend = str(torch.distributed.get_backend())
    return torch.device("cuda" if "nccl" in backend else "cpu")


class _DistributedDL(DistributedDL):
    """fastai's ``DistributedDL``; broadcasts the shuffled order with CPU tensors under gloo
    (fastai's own always goes through CUDA, for NCCL)."""

    def _broadcast(self, t, rank):
        t = torch.tensor(t, dtype=torch.long, device=_collective_device())
        torch.distributed.broadcast(t, rank)
        return t.cpu().tolist()


class DDPTrainer(DistributedTrainer):
    """fastai's ``DistributedTrainer`` with the gloo-capable data loader."""

    def _wrap_dl(self, dl):
        return dl if isinstance(dl, DistributedDL) else _DistributedDL(dl, device=self.learn.model.device)


@contextmanager
def distrib_ctx(learn: Learner, cpu: bool) -> Iterator[Learner]:
    """Like ``Learner.distrib_ctx``: DDP for every fit inside the block, when distributed.

    Batch-norm statistics are not synchronised (each rank normalises its own batch; DDP
    broadcasts rank 0's running statistics at each forward), which also works on CPU.
    """
    if world_size() < 2:
        yield learn
        return
    trainer = DDPTrainer(sync_bn=False, cpu=cpu)
    learn.add_cb(trainer)
    try:
        yield learn
    finally:
        learn.remove_cb(trainer)


def broadcast_float(value: float) -> float:
    """Rank 0's ``value`` on every rank."""
    if world_size() < 2:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=_collective_device())
    torch.distributed.broadcast(t, 0)
    return float(t.item())


def lr_find(learn: Learner) -> float:
    """``learn.lr_find()``'s valley suggestion, the same on every rank; the model and optimizer
    start the next fit as before the search.

    Under DDP fastai's LRFinder saves the weights on rank 0 only and restores them (through
    ``Learner.load``, which holds a barrier) where the file exists, i.e. on rank 0: the other
    ranks pass the matching barrier here; DDP then broadcasts rank 0's weights at the next fit
    and every rank gets a fresh optimizer.
    """
    suggestion = float(learn.lr_find(show_plot=False).valley)
    if world_size() > 1:
        if not is_main():
            distrib_barrier()
        learn.create_opt()
    return broadcast_float(suggestion)


def teardown() -> None:
    """Leave the process group (after training, before rank 0 evaluates alone)."""
    if world_size() > 1 and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def rank_device(device: torch.device) -> torch.device:
    """This rank's GPU (``LOCAL_RANK``) when distributed on CUDA, else ``device``."""
    if device.type != "cuda" or world_size() < 2:
        return device
    local = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    torch.cuda.set_device(local)
    return local
