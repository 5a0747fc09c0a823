"""LoRA through ``peft`` (optional dependency, imported only when ``use_peft`` is on).

The KL reference is the base model with the adapter switched off: the frozen base weights ARE pi_ref, so no
second copy of the model is held. Checkpoints save the adapter only (``adapter_config.json`` +
``adapter_model.safetensors``); ``merge_adapter`` writes a plain model folder with the adapter folded in.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch


class LoraUnavailable(RuntimeError):
    """use_peft was asked for and peft is not installed."""


def _peft():
    try:
        import peft
    except ImportError:
        raise LoraUnavailable("use_peft needs the peft package: .venv/bin/pip install peft "
                              "(the version pinned in trainer/requirements.txt)") from None
    return peft


def add_adapter(model: torch.nn.Module, r: int, alpha: float, target_modules) -> torch.nn.Module:
    """The model wrapped with a fresh, trainable LoRA adapter (B = 0, so it starts as exactly the base model).
    Dropout in the adapter is 0: sampling and scoring must see the same function."""
    peft = _peft()
    if target_modules == ["all-linear"]:  # a command-line flag arrives as a one-item list
        target_modules = "all-linear"
    config = peft.LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules=target_modules,
                             bias="none", task_type="CAUSAL_LM")
    return peft.get_peft_model(model, config)


def load_adapter(model: torch.nn.Module, folder: str | Path) -> torch.nn.Module:
    """The base ``model`` with the adapter saved in ``folder``, trainable (resume)."""
    peft = _peft()
    return peft.PeftModel.from_pretrained(model, str(folder), is_trainable=True)


def has_adapter(model: torch.nn.Module) -> bool:
    return hasattr(getattr(model, "module", model), "disable_adapter")


def adapter_disabled(model: torch.nn.Module):
    """Context in which ``model`` (a peft model, maybe inside DDP) computes as its base model: pi_ref."""
    inner = getattr(model, "module", model)
    if not hasattr(inner, "disable_adapter"):
        return contextlib.nullcontext()
    return inner.disable_adapter()


def is_adapter_folder(folder: str | Path) -> bool:
    return (Path(folder) / "adapter_config.json").is_file()


def merge_adapter(base_model_path: str | Path, adapter_folder: str | Path, out: str | Path) -> Path:
    """Fold the adapter in ``adapter_folder`` into the base model and save a plain Hugging Face model folder
    (with the checkpoint's tokenizer) at ``out``: what inference tools load."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(str(base_model_path), local_files_only=True, dtype=torch.float32)
    merged = load_adapter(base, adapter_folder).merge_and_unload()
    out = Path(out)
    merged.save_pretrained(out)
    AutoTokenizer.from_pretrained(str(adapter_folder), local_files_only=True).save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m mgrpo.lora merge CHECKPOINT OUT [--base MODEL]``: a LoRA checkpoint as a plain model folder."""
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m mgrpo.lora", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    merge = commands.add_parser("merge", help="fold a checkpoint's adapter into its base model")
    merge.add_argument("checkpoint", help="a checkpoints/step-NNNNNN folder of a use_peft run")
    merge.add_argument("out", help="folder to write the merged model and tokenizer to")
    merge.add_argument("--base", help="base model folder (default: model_name_or_path in the run's run.json)")
    args = parser.parse_args(argv)
    checkpoint = Path(args.checkpoint)
    if not is_adapter_folder(checkpoint):
        print(f"{checkpoint} holds no LoRA adapter (adapter_config.json); it is already a full model folder",
              file=sys.stderr)
        return 2
    base = args.base
    if base is None:
        manifest = checkpoint.parent.parent / "run.json"
        if not manifest.is_file():
            print(f"no run.json next to {checkpoint}; give the base model with --base", file=sys.stderr)
            return 2
        base = json.loads(manifest.read_text(encoding="utf-8"))["config"]["model_name_or_path"]
    print(merge_adapter(base, checkpoint, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
