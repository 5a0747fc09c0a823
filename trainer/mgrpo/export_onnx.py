"""``python -m mgrpo export-onnx``: a checkpoint as one ONNX graph with a KV cache, for the editor's local runtime.

The extension scores traces and samples corrections with onnxruntime-node (extension/src/onnx/), so a user
needs no Python for a small checkpoint. One graph serves both the prompt (empty past) and every decode step
(past of any length), at any batch size:

  inputs   input_ids [batch, sequence], attention_mask [batch, past + sequence], position_ids [batch, sequence],
           past_key_values.N.key / past_key_values.N.value [batch, kv_heads, past, head_dim]
  outputs  logits [batch, sequence, vocab], present.N.key / present.N.value [batch, kv_heads, past + sequence,
           head_dim]

It is traced with transformers' own exporter (torch.onnx, dynamo) and its inputs renamed from the exporter's
``input.past_key_values.layers.N.keys`` to the names every ONNX runtime for LLMs uses. The export folder gets
model.onnx, the tokenizer files, and ``onnx-manifest.json``: which checkpoint, the sha256 of its weight files
(so a later checkpoint written into the same folder is noticed), vocabulary and special tokens, layer and head
counts, input and output names, plus ``parity`` numbers PyTorch computed on fixed text (per-token log-probs
and a greedy continuation), which the extension's tests hold onnxruntime-node to.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from pathlib import Path

log = logging.getLogger("mgrpo")

MANIFEST_NAME = "onnx-manifest.json"
MANIFEST_FORMAT = "mgrpo-onnx-export"
MANIFEST_VERSION = 1
MODEL_FILE = "model.onnx"
# Files of a checkpoint the tokenizer needs (whichever exist): copied so the export folder stands alone.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
                   "config.json", "chat_template.jinja")
WEIGHT_SUFFIXES = (".safetensors", ".bin")
# One protobuf holds at most 2 GB; bigger models keep their weights in a sidecar file.
SINGLE_FILE_LIMIT_BYTES = 1_500_000_000
# Fixed texts PyTorch scores at export time: a demo trace (prompt, steps, answer, a layer-2 guiding phrase)
# and a bare demo prompt, whose greedy continuation is the model's own answer.
PARITY_TEXTS = ("Q: 3+5*2-7\n3+5=8\n8*2=6\n6-7=9\nA: 9\nWait, let me double-check that.\n3+5=8\n",
                "Q: 4*4+9\n")
PARITY_GREEDY_TOKENS = 24


class ExportError(Exception):
    """A checkpoint that cannot be exported, with the reason and the folder."""


def past_input_names(num_layers: int) -> list[str]:
    return [f"past_key_values.{layer}.{part}" for layer in range(num_layers) for part in ("key", "value")]


def present_output_names(num_layers: int) -> list[str]:
    return [f"present.{layer}.{part}" for layer in range(num_layers) for part in ("key", "value")]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weight_file_hashes(checkpoint: Path) -> dict[str, str]:
    """sha256 of every weight file of a checkpoint, by file name (what the extension re-hashes to notice a stale
    export)."""
    files = sorted(path for path in checkpoint.iterdir() if path.is_file() and path.name.endswith(WEIGHT_SUFFIXES))
    if not files:
        raise ExportError(f"{checkpoint}: no weight files (*.safetensors or *.bin)")
    return {path.name: file_sha256(path) for path in files}


def _rename_io(graph, num_layers: int) -> None:
    """The exporter's names (``input.past_key_values.layers.N.keys``, ``output.past_key_values.layers.N.values``)
    to the usual ``past_key_values.N.key`` / ``present.N.value``; anything unexpected is an error, not a guess."""
    wanted_inputs = {f"input.past_key_values.layers.{layer}.{part}s": f"past_key_values.{layer}.{part}"
                     for layer in range(num_layers) for part in ("key", "value")}
    wanted_outputs = {f"output.past_key_values.layers.{layer}.{part}s": f"present.{layer}.{part}"
                      for layer in range(num_layers) for part in ("key", "value")}
    for values, mapping, kept in ((graph.inputs, wanted_inputs, {"input_ids", "attention_mask", "position_ids"}),
                                  (graph.outputs, wanted_outputs, {"logits"})):
        for value in values:
            if value.name in mapping:
                value.name = mapping.pop(value.name)
            elif value.name not in kept:
                raise ExportError(f"the exporter produced an unexpected graph input/output {value.name!r}")
        if mapping:
            raise ExportError(f"the exporter did not produce {sorted(mapping)}")


def _sample_inputs(model, batch: int = 2, past: int = 3, sequence: int = 4) -> dict:
    """Forward kwargs with a real cache: batch 2 and lengths > 1 so no axis is specialised to a constant."""
    import torch

    vocab = model.config.vocab_size
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(min(4, vocab - 1), vocab, (batch, past + sequence), generator=generator)
    with torch.no_grad():
        cache = model(input_ids=ids[:, :past], use_cache=True).past_key_values
    return dict(input_ids=ids[:, past:], attention_mask=torch.ones(batch, past + sequence, dtype=torch.long),
                position_ids=torch.arange(past, past + sequence).unsqueeze(0).expand(batch, -1).contiguous(),
                past_key_values=cache, use_cache=True)


def torch_token_logprobs(model, ids: list[int]) -> tuple[list[float], list[float]]:
    """Per-token log-prob of ids[1:] given the prefix, and the entropy (nats) of each of those distributions,
    at temperature 1: the numbers Score Trace shows."""
    import torch

    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids]), use_cache=False).logits[0, :-1].float()
    log_distribution = torch.log_softmax(logits, dim=-1)
    chosen = log_distribution.gather(-1, torch.tensor(ids[1:])[:, None]).squeeze(-1)
    entropy = -(log_distribution.exp() * log_distribution).sum(-1)
    return chosen.tolist(), entropy.tolist()


def torch_greedy(model, ids: list[int], max_new_tokens: int, stop_ids: list[int]) -> list[int]:
    """Greedy continuation with the trainer's own sampler (same KV-cache loop the trainer trains with)."""
    import torch

    from .sampling import _generate_batch

    generated, _, _, lengths, _ = _generate_batch(
        model, [ids], pad_id=model.config.pad_token_id or 0, stop_ids=stop_ids, max_new_tokens=max_new_tokens,
        temperature=1.0, top_p=1.0, greedy=True, generator=torch.Generator(), use_cache=True)
    return generated[0, : int(lengths[0])].tolist()


def parity_reference(model, tokenizer, stop_ids: list[int]) -> list[dict]:
    cases = []
    for text in PARITY_TEXTS:
        ids = tokenizer(text)["input_ids"]
        logprobs, entropies = torch_token_logprobs(model, ids)
        cases.append({"text": text, "input_ids": ids, "token_logprobs": logprobs, "entropies": entropies,
                      "greedy_ids": torch_greedy(model, ids, PARITY_GREEDY_TOKENS, stop_ids)})
    return cases


def _special_tokens(tokenizer) -> dict:
    special = {}
    for role in ("bos", "eos", "pad", "unk"):
        text = getattr(tokenizer, f"{role}_token", None)
        if text is not None:
            special[role] = {"text": str(text), "id": int(tokenizer.convert_tokens_to_ids(text))}
    return special


def export_onnx(checkpoint: str | Path, out: str | Path | None = None, *, with_parity: bool = True) -> dict:
    """Export ``checkpoint`` (a Hugging Face causal-LM folder) to ``out`` (default: ``checkpoint/onnx``); returns
    the manifest written there. Raises ExportError for a folder that is not a loadable checkpoint."""
    import torch
    import onnx_ir
    from transformers.exporters import OnnxConfig, OnnxExporter

    from .policy import PolicyLoadError, load_policy, quiet_transformers, stop_token_ids

    checkpoint = Path(checkpoint)
    if not (checkpoint / "config.json").is_file():
        raise ExportError(f"{checkpoint} is not a model folder (no config.json)")
    out = Path(out) if out is not None else checkpoint / "onnx"
    quiet_transformers()
    try:
        model, tokenizer = load_policy(str(checkpoint), torch.device("cpu"), "auto")
    except PolicyLoadError as error:
        raise ExportError(str(error)) from error
    model.eval()
    config = model.config
    num_layers = int(config.num_hidden_layers)
    started = time.monotonic()
    with torch.no_grad():
        exported = OnnxExporter().export(model, _sample_inputs(model), OnnxConfig(dynamic=True))
    program = exported.program
    _rename_io(program.graph, num_layers)
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / MODEL_FILE
    weight_bytes = sum(parameter.numel() * parameter.element_size() for parameter in model.parameters())
    if weight_bytes > SINGLE_FILE_LIMIT_BYTES:
        onnx_ir.save(program, str(model_path), external_data=f"{MODEL_FILE}.data")
    else:
        onnx_ir.save(program, str(model_path))
    for name in TOKENIZER_FILES:
        if (checkpoint / name).is_file():
            shutil.copyfile(checkpoint / name, out / name)
    if not (out / "tokenizer.json").is_file():
        raise ExportError(f"{checkpoint} has no tokenizer.json (a fast tokenizer is needed by the editor's runtime)")
    stop_ids = stop_token_ids(model, tokenizer)
    num_heads = int(config.num_attention_heads)
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "checkpoint": _display_path(checkpoint, out),
        "weights_sha256": weight_file_hashes(checkpoint),
        "onnx_sha256": file_sha256(model_path),
        "model_type": config.model_type,
        "vocab_size": int(config.vocab_size),
        "num_layers": num_layers,
        "num_attention_heads": num_heads,
        "num_key_value_heads": int(getattr(config, "num_key_value_heads", None) or num_heads),
        "head_dim": int(getattr(config, "head_dim", None) or config.hidden_size // num_heads),
        "max_position_embeddings": int(getattr(config, "max_position_embeddings", 0) or 0),
        "special_tokens": _special_tokens(tokenizer),
        "stop_token_ids": [int(token) for token in stop_ids],
        "inputs": ["input_ids", "attention_mask", "position_ids", *past_input_names(num_layers)],
        "outputs": ["logits", *present_output_names(num_layers)],
        "tokenizer": "tokenizer.json",
        "exported_with": _versions(),
    }
    if with_parity:
        manifest["parity"] = parity_reference(model, tokenizer, stop_ids)
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("exported %s to %s in %.1f s (%.1f MB)", checkpoint, model_path, time.monotonic() - started,
             model_path.stat().st_size / 1e6)
    return manifest


def _display_path(checkpoint: Path, out: Path) -> str:
    """The checkpoint relative to the export folder when it holds it (the usual ``CHECKPOINT/onnx``), so a
    copied or shipped folder still points at its checkpoint; otherwise absolute."""
    try:
        return Path(*[".."] * len(out.resolve().relative_to(checkpoint.resolve()).parts)).as_posix() or "."
    except ValueError:
        return str(checkpoint.resolve())


def _versions() -> dict:
    import onnx
    import onnxscript
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "onnx": onnx.__version__,
            "onnxscript": onnxscript.__version__}
