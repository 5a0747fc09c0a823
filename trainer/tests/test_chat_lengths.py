"""Chat-template prompts and prompt lengths, on the real-architecture fixture (Qwen2, byte-level BPE, ChatML)."""

from __future__ import annotations

import pytest

from mgrpo.lengths import LengthError, check_lengths, fit_layer2_prompt
from mgrpo.prompts import DEFAULT_GUIDING_PHRASES, PromptBuilder, wants_chat

SYSTEM = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"


@pytest.fixture(scope="module")
def chat_builder(tiny_qwen2_policy):
    _, tokenizer = tiny_qwen2_policy
    return PromptBuilder(tokenizer, "Solve: {question}", chat=True)


def test_chat_setting_auto_true_false(tiny_qwen2_policy, tiny_policy):
    _, qwen = tiny_qwen2_policy
    _, char = tiny_policy
    assert wants_chat("auto", qwen) is True and wants_chat("auto", char) is False
    assert wants_chat(False, qwen) is False and wants_chat(True, qwen) is True
    with pytest.raises(ValueError, match="no chat template"):
        wants_chat(True, char)


def test_layer1_and_layer2_are_chatml_conversations(chat_builder):
    layer1 = chat_builder.layer1("2+2 × 3?")
    assert layer1 == SYSTEM + "<|im_start|>user\nSolve: 2+2 × 3?<|im_end|>\n<|im_start|>assistant\n"
    layer2 = chat_builder.layer2("2+2 × 3?", layer1, "It is 12.", "Wait, let me double-check that.")
    assert layer2 == (SYSTEM + "<|im_start|>user\nSolve: 2+2 × 3?<|im_end|>\n"
                      "<|im_start|>assistant\nIt is 12.<|im_end|>\n"
                      "<|im_start|>user\nWait, let me double-check that.<|im_end|>\n<|im_start|>assistant\n")
    tokenizer = chat_builder.tokenizer
    ids = chat_builder.encode(layer2)
    # The rendered chat holds its own special tokens: encoding adds none, and each marker is one token.
    assert tokenizer.decode(ids) == layer2
    assert ids.count(tokenizer.convert_tokens_to_ids("<|im_start|>")) == 5
    assert ids.count(tokenizer.convert_tokens_to_ids("<|im_end|>")) == 4


def test_plain_builder_keeps_the_templates(tiny_policy):
    _, tokenizer = tiny_policy
    plain = PromptBuilder(tokenizer)
    assert plain.layer1("1+2") == "Q: 1+2\n"
    assert plain.layer2("1+2", "Q: 1+2\n", "A: 3", "Check.") == "Q: 1+2\nA: 3\nCheck.\n"
    assert plain.encode("Q:")[0] == tokenizer.bos_token_id  # base models keep their BOS


def test_a_long_first_answer_is_cut_in_the_middle(chat_builder):
    tokenizer = chat_builder.tokenizer
    question = "Natalia sold clips to 48 of her friends; how many?"
    layer1 = chat_builder.layer1(question)
    answer = "START 漢字 " + " ".join(f"{n}×{n}={n * n}" for n in range(60)) + " END"
    full = fit_layer2_prompt(chat_builder, question, layer1, answer, "Check.", None)
    assert not full.truncated and full.text.count("START") == 1
    limit = len(full.ids) - 100
    fitted = fit_layer2_prompt(chat_builder, question, layer1, answer, "Check.", limit)
    assert fitted.truncated and len(fitted.ids) <= limit
    assert fitted.ids == chat_builder.encode(fitted.text)  # the text is what the model sees
    # Question, chat header, both ends of the answer and the phrase are kept; the marker says how much went.
    assert fitted.text.startswith(SYSTEM) and question in fitted.text
    assert "START" in fitted.text and "END" in fitted.text and fitted.text.endswith("<|im_start|>assistant\n")
    assert f"[... {fitted.cut_tokens} tokens cut ...]" in fitted.text
    answer_tokens = len(tokenizer(answer, add_special_tokens=False)["input_ids"])
    assert 100 <= fitted.cut_tokens < answer_tokens
    assert "\ufffd" not in fitted.text


def test_check_lengths_refuses_with_the_numbers(chat_builder):
    questions = ["short?", "a much longer question about apples and pears " * 3]
    report = check_lengths(chat_builder, questions, DEFAULT_GUIDING_PHRASES, 256, 128, 1024)
    assert report.prompt_limit == 256 and report.context == 1024
    layer1_longest = len(chat_builder.encode(chat_builder.layer1(questions[1])))
    assert report.longest_layer1 == layer1_longest
    assert report.layer2_without_answer > report.longest_layer1
    assert report.may_cut  # 128 answer tokens + the rest cannot fit in 256 ... and the check says so
    assert report.layer2_worst_case > 256
    assert not check_lengths(chat_builder, questions, DEFAULT_GUIDING_PHRASES, 512, 128, 1024).may_cut

    with pytest.raises(LengthError, match=r"max_prompt_length 900 \+ max_completion_length 200 = 1100 tokens, over "
                                          r"the model's context of 1024") as error:
        check_lengths(chat_builder, questions, DEFAULT_GUIDING_PHRASES, 900, 200, 1024)
    assert error.value.keys == ("max_prompt_length", "max_completion_length")
    with pytest.raises(LengthError, match=f"longest layer-1 prompt is {layer1_longest} tokens") as error:
        check_lengths(chat_builder, questions, DEFAULT_GUIDING_PHRASES, layer1_longest - 1, 16, 1024)
    assert "max_prompt_length" in error.value.keys
    with pytest.raises(LengthError, match="even with its first answer cut to nothing") as error:
        check_lengths(chat_builder, questions, DEFAULT_GUIDING_PHRASES, layer1_longest + 5, 16, 1024)
    # No max_prompt_length: the context minus the completion is the limit.
    assert check_lengths(chat_builder, questions, DEFAULT_GUIDING_PHRASES, None, 24, 1024).prompt_limit == 1000


# ------------------------------------------------------------------------------------- runs, as a user starts them

import json  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402

from conftest import run_mgrpo, schema_validator, tiny_config, write_config  # noqa: E402
from mgrpo.runlog import read_run  # noqa: E402

PHRASE = "Check."


def write_jsonl(path, questions):
    path.write_text("".join(json.dumps({"question": q, "answer": str(i)}) + "\n" for i, q in enumerate(questions)),
                    encoding="utf-8")
    return path


def test_chat_run_cuts_long_layer2_prompts_records_and_counts_them(tmp_path, tiny_qwen2_dir, tiny_qwen2_policy,
                                                                  run_schema):
    _, tokenizer = tiny_qwen2_policy
    questions = ["How many apples × 3?", "Café: 2 + 2 = ?", "√16 = ?", "数学 7 + 5 = ?"]
    train = write_jsonl(tmp_path / "train.jsonl", questions)
    held = write_jsonl(tmp_path / "test.jsonl", ["What is 9 - 4?", "Is 3 > 2?"])
    builder = PromptBuilder(tokenizer, "{question}", chat=True)
    longest = max(questions, key=lambda q: len(builder.encode(builder.layer1(q))))
    around_nothing = len(builder.encode(builder.layer2(longest, "", "\n[... 40 tokens cut ...]\n", PHRASE)))
    limit = around_nothing + 12  # room for a few answer tokens, not for 40
    config = tiny_config(tiny_qwen2_dir, task="jsonl", dataset_path=str(train), eval_dataset_path=str(held),
                         layer1_template="{question}", guiding_phrases=[PHRASE], max_completion_length=40,
                         max_prompt_length=limit, max_steps=2, eval_size=2, save_steps=0, beta=0.0,
                         mask_truncated_completions=True)
    run_dir = tmp_path / "run"
    result = run_mgrpo("train", "--config", str(write_config(tmp_path, config)), "--run-dir", str(run_dir),
                       timeout=300)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    run = read_run(run_dir)
    records = [record for step in sorted(run["rollouts"]) for record in run["rollouts"][step]]
    validator = schema_validator(run_schema, "rolloutRecord")
    for record in records:
        validator.validate(record)
        assert record["prompt"].startswith(SYSTEM) and record["prompt"].endswith("<|im_start|>assistant\n")
        assert record["prompt_tokens"] <= limit
        assert len(builder.encode(record["prompt"])) == record["prompt_tokens"]  # the prompt the model saw
    cut = [record for record in records if record["prompt_truncated"]]
    assert cut, "a random model's 40-token first answers must overflow the layer-2 prompt"
    assert all(record["layer"] == 2 and "tokens cut ...]" in record["prompt"] for record in cut)
    for line in run["metrics"]:
        step_cut = [r for r in run["rollouts"][line["step"]] if r["layer"] == 2 and r["prompt_truncated"]]
        assert line["layer2"]["prompts_truncated"] == len(step_cut)
        assert line["layer1"]["prompts_truncated"] == 0
    warnings = [e for e in events if e["event"] == "warning" and "max_prompt_length" in e["message"]]
    assert len(warnings) == 1  # said once


def test_config_errors_exit_2_naming_the_key(tmp_path, tiny_model_dir, tiny_qwen2_dir):
    cases = [
        (tiny_config(tiny_model_dir, chain_min_ops=1, chain_max_ops=1, eval_size=100), "'eval_size'"),
        (tiny_config(tiny_model_dir, task="jsonl", dataset_path=str(tmp_path / "missing.jsonl")),
         "'dataset_path'"),
        (tiny_config(tiny_qwen2_dir, max_prompt_length=1000, max_completion_length=100), "max_position_embeddings"),
        (tiny_config(tiny_model_dir, chat_template=True), "'chat_template'"),
    ]
    for index, (config, named) in enumerate(cases):
        folder = tmp_path / f"case{index}"
        folder.mkdir()
        result = run_mgrpo("train", "--config", str(write_config(folder, config)), "--run-dir", str(folder / "run"))
        assert result.returncode == 2, (named, result.stderr[-2000:])
        assert named in result.stderr and "Traceback" not in result.stderr
        error = [json.loads(line) for line in result.stdout.splitlines() if '"error"' in line]
        assert error and named in error[-1]["message"]


def test_sigterm_during_a_long_evaluation_stops_within_seconds(tmp_path, tiny_model_dir):
    from test_protocol import TrainerProcess

    # A step-0 evaluation of 400 problems x 300 tokens takes minutes on a CPU; SIGTERM must not wait for it.
    config = tiny_config(tiny_model_dir, max_steps=5, eval_size=400, max_completion_length=300,
                         max_prompt_length=200, generation_batch_size=8, save_steps=0)
    trainer = TrainerProcess(write_config(tmp_path, config), tmp_path / "run")
    try:
        trainer.wait_for("started", timeout=120)
        time.sleep(1.0)  # inside the evaluation's generation now
        sent = time.monotonic()
        trainer.process.send_signal(signal.SIGTERM)
        finished = trainer.wait_for("finished", timeout=60)
        code = trainer.process.wait(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        trainer.process.kill()
    assert code == 0 and finished["status"] == "stopped" and finished["step"] == 0
    assert elapsed < 15, f"took {elapsed:.1f} s to stop"
    run = read_run(tmp_path / "run")
    assert run["manifest"]["status"] == "stopped" and run["malformed"] == 0
    assert not run["evals"]  # the interrupted evaluation wrote nothing half-done
    # It was the evaluation's generation that gave up, not a loop that happened to finish.
    assert "stop requested during generation" in (tmp_path / "run" / "trainer.log").read_text(encoding="utf-8")


def test_mask_truncated_completions_leaves_length_finished_completions_out_of_the_loss():
    from types import SimpleNamespace

    from mgrpo.sampling import Completion
    from mgrpo.trainer import Trainer

    def completion(reason):
        return Completion([1], [2, 3], "x", [0.0, 0.0], [0.0, 0.0], [0, 1], reason)

    masking = SimpleNamespace(config={"mask_truncated_completions": True})
    keeping = SimpleNamespace(config={"mask_truncated_completions": False})
    assert Trainer._in_loss(masking, completion("length")) is False
    assert Trainer._in_loss(masking, completion("stop")) is True
    assert Trainer._in_loss(keeping, completion("length")) is True


def test_eval_command_config_errors_exit_2(tmp_path, tiny_model_dir):
    missing = tiny_config(tiny_model_dir, task="jsonl", dataset_path=str(tmp_path / "gone.jsonl"))
    result = run_mgrpo("eval", "--config", str(write_config(tmp_path, missing)))
    assert result.returncode == 2 and "'dataset_path'" in result.stderr and "Traceback" not in result.stderr
    # One-operation chains hold about 30 held-out problems: asking for 500 is refused, not drawn forever.
    small = tiny_config(tiny_model_dir, chain_min_ops=1, chain_max_ops=1, eval_size=3)
    result = run_mgrpo("eval", "--config", str(write_config(tmp_path, small)), "--n", "500", timeout=60)
    assert result.returncode == 2 and "held-out problems" in result.stderr
