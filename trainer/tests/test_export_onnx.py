"""export-onnx: the ONNX graph with a KV cache computes what PyTorch computes (per-token log-probs within 1e-4,
identical greedy continuations, left-padded batches), its manifest describes it, and the shipped demo export
belongs to the shipped demo weights. onnxruntime (Python) runs the graph here; the extension's
test/unit/onnxParity.test.ts holds onnxruntime-node to the same PyTorch numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import TRAINER_ROOT, build_tiny_model

DEMO_MODEL = TRAINER_ROOT / "models" / "mgrpo-demo-tiny"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A 2-layer tiny Llama with grouped-query attention (4 heads, 2 KV heads), exported once."""
    from mgrpo.export_onnx import export_onnx

    checkpoint = build_tiny_model(tmp_path_factory.mktemp("onnx-ckpt"), seed=3)
    manifest = export_onnx(checkpoint)
    return checkpoint, checkpoint / "onnx", manifest


def _session(folder):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])


def _run(session, manifest, input_ids, attention_mask, position_ids, past=None):
    batch = input_ids.shape[0]
    feeds = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64),
             "position_ids": position_ids.astype(np.int64)}
    for index, name in enumerate(manifest["inputs"][3:]):
        feeds[name] = past[index] if past is not None else np.zeros(
            (batch, manifest["num_key_value_heads"], 0, manifest["head_dim"]), np.float32)
    logits, *present = session.run(None, feeds)
    return logits, present


def _log_softmax(logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def ort_token_logprobs(session, manifest, ids):
    array = np.array([ids])
    logits, _ = _run(session, manifest, array, np.ones_like(array), np.arange(len(ids))[None])
    log_distribution = _log_softmax(logits[0, :-1].astype(np.float64))
    return log_distribution[np.arange(len(ids) - 1), ids[1:]]


def ort_greedy(session, manifest, ids, max_new_tokens):
    """Prompt once, then one token per step through the cache (the loop the extension runs)."""
    stop = set(manifest["stop_token_ids"])
    array = np.array([ids])
    mask = np.ones_like(array)
    logits, past = _run(session, manifest, array, mask, np.arange(len(ids))[None])
    generated, position = [], len(ids)
    for _ in range(max_new_tokens):
        token = int(logits[0, -1].argmax())
        generated.append(token)
        if token in stop:
            break
        mask = np.concatenate([mask, [[1]]], 1)
        logits, past = _run(session, manifest, np.array([[token]]), mask, np.array([[position]]), past)
        position += 1
    return generated


def test_manifest_describes_graph_and_checkpoint(exported):
    from mgrpo.export_onnx import file_sha256

    checkpoint, folder, manifest = exported
    assert json.loads((folder / "onnx-manifest.json").read_text()) == manifest
    assert manifest["checkpoint"] == ".."  # relative: the export sits inside its checkpoint
    assert manifest["weights_sha256"] == {"model.safetensors": file_sha256(checkpoint / "model.safetensors")}
    assert (manifest["vocab_size"], manifest["num_layers"]) == (100, 2)
    assert (manifest["num_attention_heads"], manifest["num_key_value_heads"], manifest["head_dim"]) == (4, 2, 8)
    assert manifest["special_tokens"]["eos"] == {"text": "<eos>", "id": 2}
    assert manifest["stop_token_ids"] == [2]
    assert manifest["inputs"] == ["input_ids", "attention_mask", "position_ids", "past_key_values.0.key",
                                  "past_key_values.0.value", "past_key_values.1.key", "past_key_values.1.value"]
    assert manifest["outputs"] == ["logits", "present.0.key", "present.0.value", "present.1.key", "present.1.value"]
    session = _session(folder)
    assert [value.name for value in session.get_inputs()] == manifest["inputs"]
    assert [value.name for value in session.get_outputs()] == manifest["outputs"]
    assert (folder / "tokenizer.json").read_bytes() == (checkpoint / "tokenizer.json").read_bytes()


def test_token_logprobs_match_pytorch(exported, tiny_policy):
    from mgrpo.export_onnx import PARITY_TEXTS, parity_reference

    checkpoint, folder, manifest = exported
    session = _session(folder)
    assert [case["text"] for case in manifest["parity"]] == list(PARITY_TEXTS)
    for case in manifest["parity"]:
        ours = ort_token_logprobs(session, manifest, case["input_ids"])
        assert len(ours) == len(case["input_ids"]) - 1
        assert np.max(np.abs(ours - np.array(case["token_logprobs"]))) < 1e-4
    # The manifest's numbers are this checkpoint's, not any model's: a different (seed-0) model disagrees.
    model, tokenizer = tiny_policy
    other = parity_reference(model, tokenizer, [2])
    assert np.max(np.abs(np.array(other[0]["token_logprobs"]) - np.array(manifest["parity"][0]["token_logprobs"]))) > 1e-2


def test_greedy_continuation_identical_through_the_cache(exported):
    _, folder, manifest = exported
    session = _session(folder)
    for case in manifest["parity"]:
        assert ort_greedy(session, manifest, case["input_ids"], len(case["greedy_ids"])) == case["greedy_ids"]


def test_left_padded_batch_matches_rows_alone(exported):
    """A batch of prompts of different lengths, left-padded with position ids from the mask as the trainer's
    sampler makes them, gives each row the log-probs it gets alone, then again after one cached step."""
    _, folder, manifest = exported
    session = _session(folder)
    rows = [case["input_ids"] for case in manifest["parity"]] + [[1, 40, 41, 42]]
    width = max(len(row) for row in rows)
    ids = np.array([[0] * (width - len(row)) + row for row in rows])
    mask = np.array([[0] * (width - len(row)) + [1] * len(row) for row in rows])
    positions = np.clip(mask.cumsum(-1) - 1, 0, None)
    logits, past = _run(session, manifest, ids, mask, positions)
    next_tokens = np.array([[7], [8], [9]])
    mask2 = np.concatenate([mask, np.ones((3, 1), np.int64)], 1)
    logits2, _ = _run(session, manifest, next_tokens, mask2, positions[:, -1:] + 1, past)
    for index, row in enumerate(rows):
        alone = _log_softmax(_run(session, manifest, np.array([row + [int(next_tokens[index, 0])]]),
                                  np.ones((1, len(row) + 1)), np.arange(len(row) + 1)[None])[0][0])
        assert np.max(np.abs(_log_softmax(logits[index, -1]) - alone[-2])) < 1e-4
        assert np.max(np.abs(_log_softmax(logits2[index, -1]) - alone[-1])) < 1e-4


def test_shipped_demo_export_belongs_to_the_shipped_weights():
    from mgrpo.export_onnx import file_sha256

    folder = DEMO_MODEL / "onnx"
    manifest = json.loads((folder / "onnx-manifest.json").read_text())
    assert manifest["weights_sha256"] == {"model.safetensors": file_sha256(DEMO_MODEL / "model.safetensors")}, \
        "the demo model changed: re-run python -m mgrpo export-onnx --checkpoint trainer/models/mgrpo-demo-tiny"
    assert manifest["onnx_sha256"] == file_sha256(folder / "model.onnx")
    session = _session(folder)
    for case in manifest["parity"]:
        ours = ort_token_logprobs(session, manifest, case["input_ids"])
        assert np.max(np.abs(ours - np.array(case["token_logprobs"]))) < 1e-4
        assert ort_greedy(session, manifest, case["input_ids"], len(case["greedy_ids"])) == case["greedy_ids"]


def test_not_a_checkpoint_is_a_clear_error(tmp_path):
    from mgrpo.cli import main
    from mgrpo.export_onnx import ExportError, export_onnx

    with pytest.raises(ExportError, match="no config.json"):
        export_onnx(tmp_path)
    assert main(["export-onnx", "--checkpoint", str(tmp_path / "missing")]) == 2


# Completions and ground truths on which the extension's TypeScript port of the verifier
# (extension/src/model/answerVerifier.ts) must agree with mgrpo.task.verify; the fixture holds Python's verdicts.
VERIFIER_FIXTURE = TRAINER_ROOT.parent / "test" / "fixtures" / "verifier-cases.json"
VERIFIER_CASES = [
    ("3+5=8\n8*2=6\nA: 6\n", "6"), ("3+5=8\n8*2=6\nA: 6\n", "7"), ("A: 9\nWait.\nA: 7\n", "7"),
    ("A: 9\nWait.\nA: 7\n", "9"), ("no answer here", "1"), ("A:\n", "1"), ("  answer :  42.  \n", "42"),
    ("Final answer: 1,000\n", "1000"), ("#### $1,234.50", "1234.5"), ("The answer is 0.50", ".5"),
    ("so the final answer is: -0", "0"), ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"), ("A: +4", "4"),
    ("x\\boxed{3} then A: 5", "5"), ("A: 5 then \\boxed{3}", "3"), ("theanswer is 4", "4"), ("A: 007", "7"),
    ("Answer: Paris  France", "Paris France"), ("A: 3.0", "3"), ("a:2\n", "2"), ("A: 2\r\n", "2"),
    ("x\rA: 5", "5"), ("A: 1\u00a0", "1"), ("A: 1\x1c", "1"), ("B: 4\nA: \n", "4"), ("\\boxed{unclosed", "x"),
    ("A: 12,34", "1234"), ("A: $5", "5"), ("A: -.5", "-0.5"), ("A: 10.", "10"),
]


def _verifier_verdicts() -> list[dict]:
    from mgrpo.task import verify

    verdicts = []
    for completion, truth in VERIFIER_CASES:
        verdict = verify(completion, truth)
        verdicts.append({"completion": completion, "ground_truth": truth, "reward": verdict.reward,
                         "parsed_answer": verdict.parsed_answer, "correct": verdict.correct})
    return verdicts


def test_verifier_fixture_holds_python_verdicts():
    """Regenerate with: .venv/bin/python -c 'import sys; sys.path.insert(0, "trainer/tests"); import
    test_export_onnx as t; t.write_verifier_fixture()' (from the repository root, with trainer on the path)."""
    assert json.loads(VERIFIER_FIXTURE.read_text(encoding="utf-8")) == _verifier_verdicts()


def write_verifier_fixture() -> None:
    VERIFIER_FIXTURE.write_text(json.dumps(_verifier_verdicts(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# The PyTorch backend (python -m mgrpo serve): the editor's requests on the demo model, same protocol, same numbers.

def _serve(requests: list[dict]) -> list[dict]:
    import io

    from mgrpo.serve import serve

    stdin = io.StringIO("".join(json.dumps(request) + "\n" for request in requests) + "not json\n")
    stdout = io.StringIO()
    serve(DEMO_MODEL, stdin=stdin, stdout=stdout, device="cpu")
    return [json.loads(line) for line in stdout.getvalue().splitlines()]


def test_serve_answers_score_and_sample_with_the_export_numbers():
    manifest = json.loads((DEMO_MODEL / "onnx" / "onnx-manifest.json").read_text())
    scored_case, greedy_case = manifest["parity"]
    split = scored_case["text"].index("\n") + 1
    replies = _serve([
        {"id": 1, "kind": "score", "prompt": scored_case["text"][:split], "completion": scored_case["text"][split:]},
        {"id": 2, "kind": "sample", "prompt": greedy_case["text"], "count": 2, "maxNewTokens": len(greedy_case["greedy_ids"]),
         "temperature": 1, "topP": 1, "greedy": True, "seed": 0},
        {"id": 3, "kind": "sample", "prompt": "Q: 1\n", "count": 1, "maxNewTokens": 5000, "temperature": 1,
         "topP": 1, "greedy": False, "seed": 0, "stopIds": []},
        {"kind": "cancel", "id": 3},
        {"id": 4, "kind": "sample", "prompt": "Q: 1\n", "count": 0, "maxNewTokens": 4, "temperature": 1, "topP": 1},
        {"id": 5, "kind": "train"},
    ])
    results = {reply["id"]: reply for reply in replies if reply["kind"] != "progress"}
    score = results[1]["result"]
    assert score["promptTokens"] == split + 1
    tokens = score["tokens"]
    assert [(t["start"], t["end"]) for t in tokens[:3]] == [(0, 1), (1, 2), (2, 3)]
    expected = scored_case["token_logprobs"][split:]
    assert len(tokens) == len(expected)
    assert max(abs(t["logprob"] - e) for t, e in zip(tokens, expected)) < 1e-4
    assert max(abs(t["entropy"] - e) for t, e in zip(tokens, scored_case["entropies"][split:])) < 1e-4
    from mgrpo.char_tokenizer import build_hf_tokenizer

    greedy_text = build_hf_tokenizer().decode(greedy_case["greedy_ids"], skip_special_tokens=True)
    completions = results[2]["result"]["completions"]
    assert [c["text"] for c in completions] == [greedy_text, greedy_text]
    assert all(c["tokenCount"] == len(greedy_case["greedy_ids"]) for c in completions)
    progress = [reply["done"] for reply in replies if reply["kind"] == "progress" and reply["id"] == 2]
    assert progress[:3] == [0, 1, 2]
    assert results[3]["error"]["code"] == "cancelled"
    assert results[4]["error"] == {"code": "failed", "message": "request field 'count' is invalid: 0"}
    assert "unknown request kind 'train'" in results[5]["error"]["message"]
    assert results[None]["error"]["message"].startswith("not JSON")


def test_real_architecture_exports_and_matches(tiny_qwen2_dir, tmp_path):
    """Qwen2 with a byte-level BPE tokenizer and a chat EOS (<|im_end|>): the export runs, its manifest names
    the chat stop token, and onnxruntime gives PyTorch's numbers and greedy tokens, as for the demo model."""
    from mgrpo.export_onnx import export_onnx

    manifest = export_onnx(tiny_qwen2_dir, tmp_path / "onnx")
    assert manifest["model_type"] == "qwen2"
    assert manifest["checkpoint"] == str(tiny_qwen2_dir.resolve())  # not inside the checkpoint: absolute
    assert manifest["special_tokens"]["eos"]["text"] == "<|im_end|>"
    assert manifest["special_tokens"]["eos"]["id"] in manifest["stop_token_ids"]
    session = _session(tmp_path / "onnx")
    for case in manifest["parity"]:
        ours = ort_token_logprobs(session, manifest, case["input_ids"])
        assert np.max(np.abs(ours - np.array(case["token_logprobs"]))) < 1e-4
        assert ort_greedy(session, manifest, case["input_ids"], len(case["greedy_ids"])) == case["greedy_ids"]
