"""More than one process (torchrun): a small explicit wrapper over torch.distributed, a no-op for one process.

The update's forward/backward runs through PyTorch's own engines: DistributedDataParallel (bucketed gradient
all-reduce overlapped with backward) for models that fit on one GPU, FSDP2 (``fully_shard``: parameters,
gradients and optimizer state sharded over ranks) for those that do not. Losses are normalised by global
counts and each rank's gradient is the sum of its micro-batches' shares, so the ranks' gradients must be
SUMMED, while DDP and FSDP average: ``gradient_scale`` (= world size) multiplies each rank's loss to undo that.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

import torch


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def exit_worker(code: int) -> NoReturn:
    """Ends a torchrun worker without the interpreter's teardown. The process group is destroyed by then, but
    objects still holding it (the DDP- or FSDP-wrapped model first) are collected at exit, where gloo's threads
    can abort the process in C++ ("terminate called without an active exception"): a 2-rank run that had
    finished both its steps was reported failed that way once in CI (rank 1 aborted at its end). What the run
    wrote is closed and synced already; the streams are flushed here."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


@dataclass
class Distributed:
    rank: int = 0
    world_size: int = 1
    strategy: str = "ddp"

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def gradient_scale(self) -> float:
        """Multiply each rank's loss by this: DDP/FSDP average gradients over ranks, our shares need their sum."""
        return float(self.world_size)

    @classmethod
    def from_environment(cls, device_request: str) -> "Distributed":
        if not launched_by_torchrun():
            return cls()
        import torch.distributed as dist

        use_cuda = device_request != "cpu" and torch.cuda.is_available()
        if use_cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        if not dist.is_initialized():  # a launcher script may have started it already
            dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        return cls(rank=dist.get_rank(), world_size=dist.get_world_size())

    # the model ------------------------------------------------------------------------------------------
    @property
    def sharded(self) -> bool:
        """FSDP2 over several ranks: every forward of the policy is a collective (it gathers weights)."""
        return self.enabled and self.strategy == "fsdp"

    def wrap(self, model: torch.nn.Module, strategy: str, device: torch.device,
             compute_dtype: torch.dtype | None = None) -> torch.nn.Module:
        """The module the update's forward/backward goes through: ``model`` itself for one process, DDP or
        FSDP2 around it for several. Both keep the parameters of ``model`` (FSDP2 shards them in place)."""
        if strategy not in ("ddp", "fsdp"):
            raise ValueError(f"distributed_strategy must be ddp or fsdp, got {strategy!r}")
        self.strategy = strategy
        if not self.enabled:
            return model
        if strategy == "fsdp":
            return shard_fsdp2(model, compute_dtype)
        from torch.nn.parallel import DistributedDataParallel

        # No buffer sync per forward: no batch-norm statistics in a causal LM, only constant buffers (rotary
        # frequencies); DDP broadcasts rank 0's parameters once here, so every rank starts equal.
        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                       forward_sync_buffers=False)

    def gradient_sync(self, train_model: torch.nn.Module, sync: bool):
        """Context for one micro-batch's backward: gradients are communicated only when ``sync`` (the rank's
        last micro-batch), accumulated locally before. Ranks may have different numbers of micro-batches."""
        if not self.enabled or sync:
            return contextlib.nullcontext()
        if hasattr(train_model, "no_sync"):  # DDP
            return train_model.no_sync()
        if hasattr(train_model, "set_requires_gradient_sync"):  # FSDP2
            return _fsdp_no_sync(train_model)
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def full_weights(self, model: torch.nn.Module):
        """Under FSDP2: every rank gathers the whole model once (a collective, so all ranks enter together) and
        keeps it until the block ends, so the forwards inside (sampling, no-grad scoring, rank 0's evaluation)
        run without collectives and ranks may run different numbers of them. Otherwise a no-op."""
        if not self.sharded:
            yield
            return
        from torch.distributed.fsdp import FSDPModule

        modules = [module for module in model.modules() if isinstance(module, FSDPModule)]
        for module in modules:
            module.set_reshard_after_forward(False, recurse=False)
            module.unshard()
        try:
            yield
        finally:
            for module in modules:
                module.reshard()
                module.set_reshard_after_forward(True, recurse=False)

    def full_state_dict(self, model: torch.nn.Module) -> dict | None:
        """Under FSDP2: the whole model's state dict on CPU on rank 0 (collective; None elsewhere). Otherwise
        None: the model saves itself."""
        if not self.sharded:
            return None
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        state = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
        return state if self.is_main else None

    def full_optimizer_state(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
        """The optimizer's state dict as one process would have it: under FSDP2 gathered from the shards
        (collective; the whole dict on rank 0), otherwise the optimizer's own."""
        if not self.sharded:
            return optimizer.state_dict()
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

        return get_optimizer_state_dict(model, optimizer,
                                        options=StateDictOptions(full_state_dict=True, cpu_offload=True))

    def load_optimizer_state(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict) -> None:
        """Restore a state saved by ``full_optimizer_state`` (under FSDP2 each rank keeps its shard of it)."""
        if not self.sharded:
            optimizer.load_state_dict(state)
            return
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

        set_optimizer_state_dict(model, optimizer, state, options=StateDictOptions(full_state_dict=True))

    # shares of work and numbers and objects ----------------------------------------------------------------
    def shard(self, count: int) -> slice:
        """This rank's contiguous share of ``count`` items: sizes differ by at most one, earlier ranks take the
        extra ones, so the shares concatenated in rank order are the items in their original order."""
        if count < 0:
            raise ValueError(f"shard needs a count >= 0, got {count}")
        base, extra = divmod(count, self.world_size)
        start = self.rank * base + min(self.rank, extra)
        return slice(start, start + base + (1 if self.rank < extra else 0))

    def sum_numbers(self, values: list[float], device: torch.device) -> list[float]:
        if not self.enabled:
            return values
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor.tolist()

    def all_gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj`` on every rank, in rank order."""
        if not self.enabled:
            return [obj]
        import torch.distributed as dist

        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, obj)
        return gathered

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj`` on rank 0 (in rank order); [] elsewhere."""
        if not self.enabled:
            return [obj]
        import torch.distributed as dist

        gathered = [None] * self.world_size if self.is_main else None
        dist.gather_object(obj, gathered, dst=0)
        return gathered or []

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.enabled:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.destroy_process_group()


def shard_fsdp2(model: torch.nn.Module, compute_dtype: torch.dtype | None = None) -> torch.nn.Module:
    """FSDP2: each transformer block is its own shard group (gathered for its forward/backward, freed after),
    then the root (embeddings, final norm, head). With bf16 compute the gathered weights are bf16 (half the
    traffic) while the sharded master weights, gradients' reduction and AdamW stay float32."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    policy = MixedPrecisionPolicy()
    if compute_dtype is not None and compute_dtype != torch.float32:
        policy = MixedPrecisionPolicy(param_dtype=compute_dtype, reduce_dtype=torch.float32)

    block_names = set(getattr(model, "_no_split_modules", None) or [])
    blocks = [module for module in model.modules() if type(module).__name__ in block_names]
    if not blocks:
        raise ValueError(f"FSDP2 needs the model's transformer blocks; {type(model).__name__} names none "
                         f"(_no_split_modules)")
    for block in blocks:
        fully_shard(block, mp_policy=policy)
    fully_shard(model, mp_policy=policy)
    return model


@contextlib.contextmanager
def _fsdp_no_sync(model):
    model.set_requires_gradient_sync(False)
    try:
        yield
    finally:
        model.set_requires_gradient_sync(True)
