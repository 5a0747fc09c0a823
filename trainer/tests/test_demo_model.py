"""The shipped demo model loads like any Hugging Face checkpoint and answers in the verifier's format."""

import json
import re
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from mgrpo.prompts import DEFAULT_GUIDING_PHRASES, build_layer1_prompt, build_layer2_prompt
from mgrpo.task import ChainTask, answer_span, step_spans, verify

DEMO_MODEL = Path(__file__).resolve().parents[1] / "models" / "mgrpo-demo-tiny"
STEP_LINE = re.compile(r"^[0-9][+\-*][0-9]=[0-9]$")


@pytest.fixture(scope="module")
def demo():
    if not (DEMO_MODEL / "model.safetensors").is_file():
        pytest.fail(f"the demo model is missing: build it with trainer/scripts/make_demo_model.py (expected {DEMO_MODEL})")
    tokenizer = AutoTokenizer.from_pretrained(str(DEMO_MODEL))
    model = AutoModelForCausalLM.from_pretrained(str(DEMO_MODEL))
    model.eval()
    return model, tokenizer


def greedy(model, tokenizer, prompts):
    batch = tokenizer(prompts, return_tensors="pt", padding=True)
    with torch.no_grad():
        output = model.generate(**batch, do_sample=False, max_new_tokens=64)
    return tokenizer.batch_decode(output[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)


def test_folder_is_a_small_safetensors_checkpoint():
    names = {path.name for path in DEMO_MODEL.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json", "README.md"} <= names
    size_mb = (DEMO_MODEL / "model.safetensors").stat().st_size / 2**20
    assert size_mb < 8, f"demo model is {size_mb:.1f} MiB; it should stay a few MiB"
    config = json.loads((DEMO_MODEL / "config.json").read_text())
    assert config["model_type"] == "llama"
    assert config["vocab_size"] == 100


def test_generates_the_chain_format_greedily(demo):
    model, tokenizer = demo
    assert sum(p.numel() for p in model.parameters()) < 2_000_000
    task = ChainTask(seed=0)
    problem = task.eval_problems(1)[0]
    completion = greedy(model, tokenizer, [build_layer1_prompt(problem.question)])[0]
    lines = completion.rstrip("\n").split("\n")
    n_ops = len(problem.question) // 2
    assert len(lines) == n_ops + 1, completion
    assert all(STEP_LINE.match(line) for line in lines[:-1]), completion
    assert re.fullmatch(r"A: [0-9]", lines[-1]), completion
    # Each step starts from the value the previous step wrote, on the question's operator and digit.
    previous = problem.question[0]
    for index, line in enumerate(lines[:-1]):
        assert line[0] == previous and line[1:3] == problem.question[1 + 2 * index : 3 + 2 * index], completion
        previous = line[-1]
    assert lines[-1] == f"A: {previous}"
    verdict = verify(completion, problem.answer)
    assert verdict.parsed_answer == previous
    assert len(step_spans(completion)) == n_ops and answer_span(completion) is not None


def test_corrects_in_the_same_format(demo):
    model, tokenizer = demo
    problem = ChainTask(seed=0).eval_problems(2)[1]
    layer1_prompt = build_layer1_prompt(problem.question)
    first = greedy(model, tokenizer, [layer1_prompt])[0]
    correction = greedy(model, tokenizer, [build_layer2_prompt(layer1_prompt, first, DEFAULT_GUIDING_PHRASES[1])])[0]
    assert verify(correction, problem.answer).parsed_answer is not None, correction
    assert all(STEP_LINE.match(line) for line in correction.rstrip("\n").split("\n")[:-1]), correction


def test_batched_generation_matches_one_at_a_time(demo):
    """Left padding must not change greedy answers (position ids follow the attention mask)."""
    model, tokenizer = demo
    prompts = [build_layer1_prompt(p.question) for p in ChainTask(seed=0).eval_problems(6)]
    together = greedy(model, tokenizer, prompts)
    alone = [greedy(model, tokenizer, [prompt])[0] for prompt in prompts]
    assert together == alone


def test_model_card_reports_measured_numbers():
    card = (DEMO_MODEL / "README.md").read_text()
    for needed in ["Acc@t1", "Acc@t2", "i->c", "c->i", "T=1", "Wall time", "Seed"]:
        assert needed in card
    summary = json.loads((DEMO_MODEL / "training_summary.json").read_text())
    greedy_eval = summary["eval_greedy"]
    # Calibration goal: first answers often wrong but not hopeless, sampling noisier than greedy.
    assert 0.30 <= greedy_eval["acc_t1"] <= 0.85
    assert summary["eval_sampled"]["acc_t1"] < greedy_eval["acc_t1"]
