"""Run by test_distributed.py (alone, or under torchrun with several ranks): one Trainer.update on a fixed
batch of samples, each rank taking its contiguous share, then rank 0 saves the summed gradient and the updated
weights (whole tensors, also under FSDP2) for the test to compare with a one-process run."""

import io
import sys

import torch

from mgrpo.config import resolve_config
from mgrpo.distributed import exit_worker
from mgrpo.protocol import Protocol
from mgrpo.trainer import Trainer, TrainingSample

# Eight completions of different lengths and advantages (two GRPO groups of four); token ids of the char vocab.
SAMPLES = [TrainingSample([5, 6, 7, 8][:2 + i % 3], [9 + i, 10, 11, 12][:1 + i % 4], advantage=(-1.0) ** i * (1 + i / 8))
           for i in range(8)]


def whole(tensor: torch.Tensor) -> torch.Tensor:
    return (tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor).detach().clone()


def main(config_path: str, run_dir: str, out: str) -> None:
    trainer = Trainer(resolve_config(config_path), run_dir, Protocol(io.StringIO()))
    trainer.setup()
    rank, world = trainer.dist.rank, trainer.dist.world_size
    share = len(SAMPLES) // world
    update = trainer.update(SAMPLES[rank * share:(rank + 1) * share])
    # Gradients as the optimizer used them: DDP/FSDP averaged them, times world size = the sum over ranks.
    result = {"loss": update["loss"], "kl": update["kl"],
              "grads": {n: whole(p.grad) for n, p in trainer.model.named_parameters() if p.grad is not None},
              "params": {n: whole(p) for n, p in trainer.model.named_parameters()}}
    if trainer.dist.is_main:
        torch.save(result, out)
    # No rank tears gloo down while another is still busy (a rank leaving early was seen to abort with
    # "terminate called without an active exception"); then the wrapped model goes before its process group.
    if trainer.dist.enabled:
        torch.distributed.barrier()
    del trainer.model
    trainer.dist.close()
    if trainer.dist.enabled:
        exit_worker(0)  # as the trainer's own workers end: no interpreter teardown (see exit_worker)


if __name__ == "__main__":
    main(*sys.argv[1:4])
