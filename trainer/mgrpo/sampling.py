"""Batched sampling from a causal LM, with our own decoding loop.

Prompts are left-padded into one batch (attention mask 0 on padding, position ids counted from each
prompt's first real token), so every row's next token sits in the last column. With the KV cache
(``use_cache=True``) the prompt is run once and each later forward sees only the newest token; without it
(``use_cache=False``) every step recomputes the whole prefix. Both paths share everything else, so greedy
outputs are identical and the benchmark compares only the cache.

Each completion comes back with its token ids, the per-token log-probabilities and entropies of the
distribution softmax(logits / temperature) it was sampled from, the finish reason ("stop" at a stop token,
"length" at ``max_new_tokens``), and each token's character offset in the decoded text. The stop token is
part of the completion (the policy must learn to stop); it decodes to "" and its offset is ``len(text)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .policy import autocast

# On a GPU, how many tokens the decode loop runs between checks that every row has finished.
SYNC_EVERY_TOKENS = 16


class GenerationInterrupted(RuntimeError):
    """Generation (or an evaluation) was abandoned because its ``should_stop`` said so."""


@dataclass
class Completion:
    prompt_ids: list[int]
    completion_ids: list[int]
    text: str
    token_logprobs: list[float]
    token_entropies: list[float]
    token_offsets: list[int]
    finish_reason: str  # "stop" | "length"
    prompt_truncated: bool = False
    extra: dict = field(default_factory=dict)


def encode_prompts(tokenizer, prompts: list[str], max_prompt_length: int | None = None) -> tuple[list[list[int]], list[bool]]:
    """Token ids per prompt, keeping the last ``max_prompt_length`` tokens of long ones (left truncation)."""
    encoded = tokenizer(list(prompts), add_special_tokens=True)["input_ids"]
    ids, truncated = [], []
    for prompt_ids in encoded:
        prompt_ids = list(prompt_ids)
        cut = max_prompt_length is not None and len(prompt_ids) > max_prompt_length
        ids.append(prompt_ids[-max_prompt_length:] if cut else prompt_ids)
        truncated.append(bool(cut))
    return ids, truncated


def left_pad(sequences: list[list[int]], pad_id: int, device: torch.device):
    """(input_ids, attention_mask, position_ids) for left-padded sequences."""
    width = max(len(sequence) for sequence in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        if sequence:
            input_ids[row, width - len(sequence):] = torch.tensor(sequence, dtype=torch.long)
            attention_mask[row, width - len(sequence):] = 1
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    return input_ids.to(device), attention_mask.to(device), position_ids.to(device)


def top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Logits with everything outside the nucleus set to -inf (the most likely token always stays)."""
    if top_p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    sorted_probs = torch.softmax(sorted_logits, dim=-1)
    # A token is dropped when the tokens before it already reach top_p.
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    drop_sorted = mass_before >= top_p
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def token_offsets(tokenizer, completion_ids: list[int], text: str) -> list[int]:
    """Character offset in ``text`` where each token starts, in one linear pass.

    A fast tokenizer's incremental decoder (``tokenizers.decoders.DecodeStream``, what streaming servers use)
    says which characters each token completes: a byte-level piece that holds only part of a character ("漢"
    is three tokens in a byte-level BPE) completes nothing, so it starts where that character starts.
    Tokenizers without one fall back to decoding each token alone (character vocabularies). When neither
    reproduces ``text`` exactly (a decoder with clean-up rules), the offsets are clamped into the text and
    kept monotonic: approximate, never out of range, still linear."""
    offsets = _stream_offsets(tokenizer, completion_ids, text)
    if offsets is not None:
        return offsets
    pieces = tokenizer.batch_decode([[token] for token in completion_ids], skip_special_tokens=True)
    offsets, position = [], 0
    for piece in pieces:
        offsets.append(min(position, len(text)))
        position += len(piece)
    return offsets


def _stream_offsets(tokenizer, completion_ids: list[int], text: str) -> list[int] | None:
    """Offsets from the backend's incremental decoder, or None when it is missing or disagrees with ``text``."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    try:
        from tokenizers.decoders import DecodeStream

        stream = DecodeStream(skip_special_tokens=True)
        offsets, position, decoded = [], 0, []
        for token in completion_ids:
            offsets.append(position)
            piece = stream.step(backend, token)
            if piece:
                decoded.append(piece)
                position += len(piece)
    except Exception:  # an old tokenizers, or an id the backend rejects: use the simple path
        return None
    return offsets if "".join(decoded) == text else None


@torch.no_grad()
def _generate_batch(model, prompt_ids: list[list[int]], *, pad_id: int, stop_ids: list[int], max_new_tokens: int,
                    temperature: float, top_p: float, greedy: bool, generator, use_cache: bool,
                    compute_dtype: torch.dtype | None = None, should_stop=None):
    device = next(model.parameters()).device
    input_ids, attention_mask, position_ids = left_pad(prompt_ids, pad_id, device)
    batch = input_ids.shape[0]
    stop = torch.tensor(stop_ids, dtype=torch.long, device=device)
    finished = torch.zeros(batch, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch, dtype=torch.long, device=device)
    tokens, logprobs, entropies = [], [], []
    cache = None
    if use_cache:
        from transformers import DynamicCache

        cache = DynamicCache()
    step_input, step_positions = input_ids, position_ids
    # Log-probs describe the distribution we sample from; greedy decoding reports temperature-1 ones.
    scale = 1.0 if greedy else temperature
    # "Are all rows finished?" costs a device-to-host sync: on a GPU ask every few tokens (the extra tokens
    # of finished rows are padding, dropped below); on the CPU there is nothing to save.
    check_every = 1 if device.type == "cpu" else SYNC_EVERY_TOKENS
    # Autocast once around the loop, not per token (entering it per token re-casts fp32 weights every time).
    with autocast(device, compute_dtype):
        for index in range(max_new_tokens):
            if should_stop is not None and should_stop():  # a stop or SIGTERM ends a long generation within a token
                raise GenerationInterrupted("generation stopped on request")
            # logits_to_keep=1: the prefill computes one vocabulary row per prompt, not one per prompt token.
            output = model(input_ids=step_input, attention_mask=attention_mask, position_ids=step_positions,
                           past_key_values=cache, use_cache=use_cache, logits_to_keep=1)
            logits = output.logits[:, -1, :].float()
            if use_cache:
                cache = output.past_key_values
            log_distribution = torch.log_softmax(logits / scale, dim=-1)
            if greedy:
                next_token = logits.argmax(dim=-1)
            else:
                filtered = top_p_filter(logits / temperature, top_p)
                next_token = torch.multinomial(torch.softmax(filtered, dim=-1), 1, generator=generator).squeeze(-1)
            token_logprob = log_distribution.gather(-1, next_token[:, None]).squeeze(-1)
            entropy = -(log_distribution.exp() * log_distribution).nan_to_num().sum(-1)
            next_token = torch.where(finished, torch.full_like(next_token, pad_id), next_token)
            tokens.append(next_token)
            logprobs.append(token_logprob)
            entropies.append(entropy)
            lengths += (~finished).long()
            finished |= torch.isin(next_token, stop)
            if (index + 1) % check_every == 0 and bool(finished.all()):
                break
            attention_mask = torch.cat([attention_mask, torch.ones((batch, 1), dtype=attention_mask.dtype, device=device)], 1)
            next_positions = step_positions[:, -1:] + 1
            if use_cache:
                step_input, step_positions = next_token[:, None], next_positions
            else:
                step_input = torch.cat([step_input, next_token[:, None]], dim=1)
                step_positions = torch.cat([step_positions, next_positions], dim=1)
    lengths = lengths.cpu()
    # Columns past the longest completion are padding from the rows-finished check above.
    width = max(1, int(lengths.max()))
    generated = torch.stack(tokens, dim=1)[:, :width].cpu()
    logprobs_out = torch.stack(logprobs, dim=1)[:, :width].cpu()
    entropies_out = torch.stack(entropies, dim=1)[:, :width].cpu()
    return generated, logprobs_out, entropies_out, lengths, finished.cpu()


def generate(model, tokenizer, prompts: list[str] | None = None, *, prompt_ids: list[list[int]] | None = None,
             max_new_tokens: int, temperature: float = 1.0, top_p: float = 1.0, greedy: bool = False,
             generator: torch.Generator | None = None, stop_ids: list[int] | None = None,
             max_prompt_length: int | None = None, use_cache: bool = True,
             batch_size: int | None = None, compute_dtype: torch.dtype | None = None,
             should_stop=None) -> list[Completion]:
    """Sample one completion per prompt (pass the same prompt several times for a group). ``compute_dtype``:
    the autocast dtype (None: bf16 on CUDA, float32 on CPU). ``should_stop()`` is asked before every token;
    when it says yes, GenerationInterrupted is raised and nothing is returned."""
    if (prompts is None) == (prompt_ids is None):
        raise ValueError("give either prompts or prompt_ids")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if not greedy and temperature <= 0:
        raise ValueError(f"temperature must be > 0 for sampling, got {temperature}")
    truncated = [False] * len(prompt_ids or [])
    if prompt_ids is None:
        prompt_ids, truncated = encode_prompts(tokenizer, prompts, max_prompt_length)
    if not prompt_ids:
        return []
    stop_ids = stop_ids if stop_ids is not None else [tokenizer.eos_token_id]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[0]
    batch_size = batch_size or len(prompt_ids)
    was_training = model.training
    model.eval()
    completions: list[Completion] = []
    try:
        for start in range(0, len(prompt_ids), batch_size):
            chunk = prompt_ids[start:start + batch_size]
            generated, logprobs, entropies, lengths, finished = _generate_batch(
                model, chunk, pad_id=pad_id, stop_ids=stop_ids, max_new_tokens=max_new_tokens,
                temperature=temperature, top_p=top_p, greedy=greedy, generator=generator, use_cache=use_cache,
                compute_dtype=compute_dtype, should_stop=should_stop)
            for row, ids in enumerate(chunk):
                length = int(lengths[row])
                completion_ids = generated[row, :length].tolist()
                text = tokenizer.decode(completion_ids, skip_special_tokens=True)
                completions.append(Completion(
                    prompt_ids=list(ids),
                    completion_ids=completion_ids,
                    text=text,
                    token_logprobs=logprobs[row, :length].tolist(),
                    token_entropies=entropies[row, :length].tolist(),
                    token_offsets=token_offsets(tokenizer, completion_ids, text),
                    finish_reason="stop" if bool(finished[row]) else "length",
                    prompt_truncated=truncated[start + row],
                ))
    finally:
        model.train(was_training)
    return completions
