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


def compute_dtype(request: str, device: torch.device) -> torch.dtype:
    """The dtype forward passes compute in. Weights stay float32 whatever this is (the optimizer's master copy):
    "auto" computes in bf16 on CUDA and float32 on CPU; "bfloat16" computes in bf16 everywhere (CPU too, so
    the bf16 path can be tested here); "float32" computes in float32 everywhere."""
    if request not in ("auto", "float32", "bfloat16"):
        raise ValueError(f"dtype must be auto, float32 or bfloat16, got {request!r}")
    if request == "bfloat16" or (request == "auto" and device.type == "cuda"):
        return torch.bfloat16
    return torch.float32


def autocast(device: torch.device, dtype: torch.dtype | None = None):
    """Autocast to ``dtype`` for forward passes (None: bf16 on CUDA, none on CPU); float32 is no autocast."""
    if dtype is None:
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def disable_dropout(model: torch.nn.Module) -> None:
    """Dropout off everywhere, in train mode too (TRL does the same): sampling, pi_old and the update must see
    the same function, or the ratio pi_theta / pi_old is noise."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        # Hugging Face attention modules apply their own float `attention_dropout` when training.
        if isinstance(getattr(module, "attention_dropout", None), float):
            module.attention_dropout = 0.0
    config = getattr(model, "config", None)
    for key in ("attention_dropout", "hidden_dropout", "resid_pdrop", "embd_pdrop", "attn_pdrop", "dropout"):
        if isinstance(getattr(config, key, None), float):
            setattr(config, key, 0.0)


def _looks_like_path(name_or_path: str) -> bool:
    """A hub id is "name" or "owner/name"; anything else was meant as a folder."""
    return name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1 or os.sep != "/" and os.sep in name_or_path


def load_policy(name_or_path: str, device: torch.device, dtype: str = "auto"):
    """Load (model, tokenizer) from a local folder or a locally cached hub id, in train mode on ``device``,
    with float32 weights (``dtype`` chooses the compute dtype, see ``compute_dtype``) and dropout off."""
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
        compute_dtype(dtype, device)  # an unknown value fails here, before the load
        # float32 whatever the checkpoint holds: these are the optimizer's master weights.
        model = AutoModelForCausalLM.from_pretrained(source, local_files_only=True, dtype=torch.float32)
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
    disable_dropout(model)
    model.train()
    return model, tokenizer


def frozen_reference(model: torch.nn.Module, dtype: torch.dtype | None = None) -> torch.nn.Module:
    """A frozen copy of the policy as it is now: the KL anchor pi_ref. ``dtype`` (bf16 on GPU) stores it in the
    compute dtype: it never trains, so it needs no float32 master copy (half the memory)."""
    reference = copy.deepcopy(model)
    if dtype is not None:
        reference.to(dtype)
    reference.eval()
    for parameter in reference.parameters():
        parameter.requires_grad_(False)
    return reference


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    return sum(parameter.numel() for parameter in model.parameters()
               if parameter.requires_grad or not trainable_only)


def weights_sha256(model: torch.nn.Module) -> str:
    """A hash of the model's weights (names, dtypes, shapes, bytes, in state-dict order): the identity of the
    KL reference, recorded at the start of a run and checked on resume. LoRA weights are left out, so the
    base under an adapter hashes like the base alone."""
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        if "lora_" in name:
            continue
        # peft prefixes the base's names ("base_model.model." + name, ".base_layer." inside wrapped layers).
        name = name.removeprefix("base_model.model.").replace(".base_layer.", ".")
        data = tensor.detach().to("cpu").contiguous()
        digest.update(f"{name}:{data.dtype}:{tuple(data.shape)};".encode())
        digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


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
    trainable_parameters: int | None = None
    reference_sha256: str | None = None

    def as_manifest(self) -> dict:
        manifest = {"name_or_path": self.name_or_path, "parameters": self.parameters, "dtype": self.dtype}
        if self.trainable_parameters is not None:
            manifest["trainable_parameters"] = self.trainable_parameters
        if self.reference_sha256 is not None:
            manifest["reference_sha256"] = self.reference_sha256
        return manifest
