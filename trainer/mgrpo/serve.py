"""``python -m mgrpo serve --checkpoint DIR``: the editor's checkpoint requests answered by PyTorch (GPU when there
is one), for checkpoints too big for the local ONNX runtime. One interface, two backends: it speaks the protocol of
extension/src/onnx/protocol.ts, one JSON object per line (requests on stdin, replies on stdout):

  {"id": 1, "kind": "score", "prompt": ..., "completion": ...}
      -> {"id": 1, "kind": "result", "result": {"checkpoint", "promptTokens", "tokens": [{start, end, logprob, entropy}]}}
  {"id": 2, "kind": "sample", "prompt": ..., "count": N, "maxNewTokens": ..., "temperature": ..., "topP": ...,
   "greedy": false, "seed": 0, "stopIds": [optional]}
      -> {"id": 2, "kind": "progress", "done": k, "total": maxNewTokens} ... then
         {"id": 2, "kind": "result", "result": {"checkpoint", "completions": [{text, tokenCount, stopped, logprobs}]}}
  {"kind": "cancel", "id": 2}  ends request 2 before its next token: {"id": 2, "kind": "error", "error": {"code": "cancelled"}}

A request that fails gets {"id", "kind": "error", "error": {"code": "failed", "message"}}; the server goes on. Requests
run one at a time in arrival order; a reader thread takes cancels meanwhile. End of stdin ends the server.
Score numbers are temperature-1 log-probs of the completion's tokens given the prompt (BOS added as the trainer
adds it), the same as the ONNX runtime's.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from pathlib import Path
from typing import Any, Callable, TextIO

REQUEST_KINDS = ("score", "sample", "cancel")


class RequestError(ValueError):
    """A malformed request: the message names the field."""


def _field(request: dict, name: str, kind: type, check: Callable[[Any], bool] = lambda _: True, default: Any = ...):
    if name not in request:
        if default is ...:
            raise RequestError(f"request has no {name!r}")
        return default
    value = request[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool or not check(value):
        raise RequestError(f"request field {name!r} is invalid: {value!r}")
    return value


class CheckpointServer:
    """The loaded checkpoint and the two requests. ``write`` sends one reply object."""

    def __init__(self, checkpoint: str | Path, write: Callable[[dict], None], device: str = "auto"):
        from .policy import load_policy, quiet_transformers, select_device, stop_token_ids

        quiet_transformers()
        self.checkpoint = str(Path(checkpoint).resolve())
        self.device = select_device(device)
        self.model, self.tokenizer = load_policy(self.checkpoint, self.device)
        self.model.eval()
        self.stop_ids = stop_token_ids(self.model, self.tokenizer)
        self.write = write
        self.cancelled: set[int] = set()

    def score(self, request: dict) -> dict:
        import torch

        prompt = _field(request, "prompt", str)
        completion = _field(request, "completion", str)
        prompt_ids = self.tokenizer(prompt)["input_ids"]
        completion_ids = self.tokenizer(completion, add_special_tokens=False)["input_ids"]
        if not prompt_ids:
            raise RequestError("the prompt encodes to no tokens, so the first completion token has no context")
        ids = prompt_ids + completion_ids
        with torch.no_grad():
            logits = self.model(input_ids=torch.tensor([ids], device=self.device), use_cache=False).logits[0, :-1].float()
        log_distribution = torch.log_softmax(logits, dim=-1)
        chosen = log_distribution.gather(-1, torch.tensor(ids[1:], device=self.device)[:, None]).squeeze(-1)
        entropy = -(log_distribution.exp() * log_distribution).nan_to_num().sum(-1)
        from .sampling import token_offsets

        starts = token_offsets(self.tokenizer, completion_ids, completion)
        first = len(prompt_ids) - 1
        tokens = [{"start": start, "end": starts[index + 1] if index + 1 < len(starts) else len(completion),
                   "logprob": float(chosen[first + index]), "entropy": float(entropy[first + index])}
                  for index, start in enumerate(starts)]
        return {"checkpoint": self.checkpoint, "promptTokens": len(prompt_ids), "tokens": tokens}

    def sample(self, request: dict) -> dict:
        import torch

        from .sampling import generate

        request_id = request["id"]
        prompt = _field(request, "prompt", str)
        count = _field(request, "count", int, lambda v: 1 <= v <= 1024)
        max_new_tokens = _field(request, "maxNewTokens", int, lambda v: v >= 1)
        temperature = _field(request, "temperature", float, lambda v: v > 0)
        top_p = _field(request, "topP", float, lambda v: 0 < v <= 1)
        greedy = _field(request, "greedy", bool, default=False)
        seed = _field(request, "seed", int, default=0)
        stop_ids = _field(request, "stopIds", list, lambda v: all(isinstance(t, int) for t in v), default=self.stop_ids)
        step = [0]

        def should_stop() -> bool:
            self.write({"id": request_id, "kind": "progress", "done": step[0], "total": max_new_tokens})
            step[0] += 1
            return request_id in self.cancelled

        completions = generate(self.model, self.tokenizer, [prompt] * count, max_new_tokens=max_new_tokens,
                               temperature=temperature, top_p=top_p, greedy=greedy,
                               generator=torch.Generator(device=self.device).manual_seed(seed),
                               stop_ids=stop_ids, should_stop=should_stop)
        return {"checkpoint": self.checkpoint, "completions": [
            {"text": c.text, "tokenCount": len(c.completion_ids), "stopped": c.finish_reason == "stop",
             "logprobs": c.token_logprobs} for c in completions]}

    def handle(self, request: dict) -> None:
        from .sampling import GenerationInterrupted

        request_id = request.get("id")
        try:
            if not isinstance(request_id, int):
                raise RequestError(f"request has no integer 'id': {json.dumps(request)[:200]}")
            kind = request.get("kind")
            if kind == "score":
                result = self.score(request)
            elif kind == "sample":
                result = self.sample(request)
            else:
                raise RequestError(f"unknown request kind {kind!r}; expected one of {REQUEST_KINDS}")
            self.write({"id": request_id, "kind": "result", "result": result})
        except GenerationInterrupted:
            self.write({"id": request_id, "kind": "error", "error": {"code": "cancelled", "message": "cancelled"}})
        except Exception as error:  # one bad request must not end the server
            self.write({"id": request_id, "kind": "error", "error": {"code": "failed", "message": str(error)}})
        finally:
            self.cancelled.discard(request_id)


def serve(checkpoint: str | Path, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout, device: str = "auto") -> None:
    lock = threading.Lock()

    def write(message: dict) -> None:
        with lock:
            stdout.write(json.dumps(message) + "\n")
            stdout.flush()

    server = CheckpointServer(checkpoint, write, device)
    pending: queue.Queue = queue.Queue()

    def read() -> None:
        # Cancels take effect at once; other requests wait their turn.
        for line in stdin:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
            except json.JSONDecodeError as error:
                write({"id": None, "kind": "error", "error": {"code": "failed", "message": f"not JSON: {error}"}})
                continue
            if isinstance(request, dict) and request.get("kind") == "cancel":
                server.cancelled.add(request.get("id"))
            else:
                pending.put(request if isinstance(request, dict) else {"id": None, "kind": repr(request)})
        pending.put(None)

    threading.Thread(target=read, daemon=True).start()
    while (request := pending.get()) is not None:
        server.handle(request)
