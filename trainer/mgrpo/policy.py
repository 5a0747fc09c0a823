"""The policy: a Hugging Face causal LM and its tokenizer, the device it runs on, and its frozen reference.

Nothing here downloads: a hub id works only when it is already in the local Hugging Face cache, and
otherwise the error says to give a local folder.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch

log = logging.getLogger("mgrpo")


class PolicyLoadError(RuntimeError):
    """The model or tokenizer could not be loaded; the message says what was tried and what to do."""


def quiet_transformers() -> None:
    """Progress bars and advisory warnings go nowhere near stdout, and only errors reach stderr."""
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def select_device(request: str = "auto") -> torch.device:
    """"auto": CUDA when available, else CPU. Under torchrun, each rank takes its LOCAL_RANK GPU."""
    if request not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {request!r}")
    if request == "cpu" or (request == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise PolicyLoadError('device "cuda" was requested but no CUDA GPU is visible; use "auto" or "cpu"')
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def weight_dtype(request: str) -> torch.dtype:
    """"auto" keeps float32 weights (bf16 comes from autocast on CUDA); "bfloat16" stores weights in bf16."""
    return {"auto": torch.float32, "float32": torch.float32, "bfloat16": torch.bfloat16}[request]


def autocast(device: torch.device):
    """bf16 autocast for forward passes on CUDA; a no-op on CPU (float32 there is both exact and fast enough)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _looks_like_path(name_or_path: str) -> bool:
    """A hub id is "name" or "owner/name"; anything else was meant as a folder."""
    return name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1 or os.sep != "/" and os.sep in name_or_path


def load_policy(name_or_path: str, device: torch.device, dtype: str = "auto"):
    """Load (model, tokenizer) from a local folder or a locally cached hub id, in train mode on ``device``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise PolicyLoadError(f"{path} is not a Hugging Face model folder (no config.json in it)")
        source = str(path)
    elif _looks_like_path(name_or_path):
        hint = ""
        if path.name == "mgrpo-demo-tiny":
            hint = " (the demo model is made by trainer/scripts/make_demo_model.py)"
        raise PolicyLoadError(f"model folder not found: {name_or_path}{hint}")
    else:
        source = name_or_path
    try:
        # local_files_only: this trainer never downloads; a hub id must already be in the local cache.
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(source, local_files_only=True, dtype=weight_dtype(dtype))
    except OSError as error:
        raise PolicyLoadError(
            f"cannot load model {name_or_path!r}: it is neither a local folder nor in the local Hugging Face "
            f"cache, and this trainer does not download. Download it elsewhere and give its folder "
            f"(model_name_or_path). Detail: {str(error).splitlines()[0]}"
        ) from None
    if tokenizer.pad_token_id is None:
        # Padding positions are masked out everywhere, so any id works; EOS is the usual choice.
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.eos_token_id is None:
        raise PolicyLoadError(f"the tokenizer of {name_or_path!r} has no EOS token, so completions cannot stop")
    model.to(device)
    model.train()
    # Sampling and scoring must agree token for token: dropout would make them differ.
    if getattr(model.config, "attention_dropout", 0):
        log.warning("model has attention dropout %s; RL updates assume a deterministic forward",
                    model.config.attention_dropout)
    return model, tokenizer


def frozen_reference(model: torch.nn.Module) -> torch.nn.Module:
    """A frozen copy of the policy as it is now: the KL anchor pi_ref."""
    reference = copy.deepcopy(model)
    reference.eval()
    for parameter in reference.parameters():
        parameter.requires_grad_(False)
    return reference


def count_parameters(model: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def stop_token_ids(model, tokenizer) -> list[int]:
    """Token ids that end a completion: the tokenizer's EOS plus any the generation config adds."""
    ids = {tokenizer.eos_token_id}
    generation_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(generation_eos, int):
        ids.add(generation_eos)
    elif isinstance(generation_eos, (list, tuple)):
        ids.update(int(token) for token in generation_eos)
    return sorted(token for token in ids if token is not None)


@dataclass
class PolicyInfo:
    name_or_path: str
    parameters: int
    dtype: str

    def as_manifest(self) -> dict:
        return {"name_or_path": self.name_or_path, "parameters": self.parameters, "dtype": self.dtype}
