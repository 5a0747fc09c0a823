"""The trainer benchmarks' own arithmetic (bench/trainer): budget matching, timing splits, the TRL reward
wrapper and the results table. Cheap: no training, no TRL import; the benchmarks themselves run under
`npm run bench` (BENCH_QUICK=1 for a smoke run)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench" / "trainer"
sys.path.insert(0, str(BENCH_DIR))

import learning_bench  # noqa: E402
import step_bench  # noqa: E402
import trl_peer  # noqa: E402


def metrics_line(step, layer1_gen, layer2_gen, train, total, layer2_samples=64):
    return {"step": step, "layer1": {"samples": 16, "generation_seconds": layer1_gen},
            "layer2": None if layer2_samples is None else {"samples": layer2_samples, "generation_seconds": layer2_gen},
            "train_seconds": train, "step_seconds": total, "tokens_per_second": 100.0 * step}


def test_step_timings_skip_the_warm_up_step_and_take_medians():
    lines = [metrics_line(1, 9.0, 9.0, 9.0, 30.0),  # warm-up, left out
             metrics_line(2, 1.0, 3.0, 2.0, 6.5),
             metrics_line(3, 2.0, 4.0, 3.0, 9.5),
             metrics_line(4, 3.0, 5.0, 4.0, 12.0)]
    timings = step_bench.step_timings(lines)
    assert timings["steps"] == 3
    assert (timings["layer1"], timings["layer2"], timings["update"], timings["step"]) == (2.0, 4.0, 3.0, 9.5)
    # other = step - phases per step: 0.5, 0.5, 0.0 -> median 0.5
    assert timings["other"] == pytest.approx(0.5)
    assert timings["samples"] == 16 + 64
    assert timings["tokens_per_second"] == 300.0


def test_step_timings_of_grpo_have_no_layer2():
    lines = [metrics_line(1, 1.0, 0, 1.0, 2.0, None), metrics_line(2, 1.0, 0, 2.0, 3.5, None)]
    timings = step_bench.step_timings(lines)
    assert timings["layer2"] == 0.0 and timings["samples"] == 16 and timings["other"] == pytest.approx(0.5)


def test_grpo_gets_proportionally_more_questions_for_the_same_sample_budget(tmp_path):
    args = learning_bench.parse_args(["--steps", "3", "--eval-size", "5", "--eval-every", "7",
                                      "--model", str(tmp_path), "--set", "questions_per_step=3",
                                      "--set", "num_generations=4", "--set", "layer2_num_generations=2"])
    mgrpo, grpo = learning_bench.budget_matched_configs(args)
    # MGRPO: 3 questions x 4 answers + 3 x 4 x 2 corrections = 36 per step; GRPO: 9 questions x 4 = 36.
    assert (mgrpo["algorithm"], grpo["algorithm"]) == ("mgrpo", "grpo")
    assert grpo["questions_per_step"] == 9 and grpo["num_generations"] == 4
    for key in ("learning_rate", "beta", "temperature", "max_steps", "seed", "max_completion_length"):
        assert mgrpo[key] == grpo[key]
    assert mgrpo["max_steps"] == 3 and mgrpo["eval_size"] == 5 and grpo["eval_steps"] == 7


def test_set_parses_json_values_and_bare_strings():
    assert learning_bench.parse_set("learning-rate=3e-4") == ("learning_rate", 3e-4)
    assert learning_bench.parse_set("layer2_inputs=all") == ("layer2_inputs", "all")
    with pytest.raises(Exception):
        learning_bench.parse_set("no-equals-sign")


def test_trl_reward_wrapper_scores_with_our_verifier_row_by_row():
    rewards = trl_peer.chain_correctness_reward(
        prompts=["Q: 1+2\n"] * 3, completions=["1+2=3\nA: 3\n", "1+2=4\nA: 4\n", "no answer"],
        answer=["3", "3", "3"], completion_ids=[[1], [2], [3]], trainer_state=None)
    assert rewards == [1.0, 0.0, 0.0]


def test_metric_cells_format_percentages_signed_deltas_and_undefined_ratios():
    metrics = {"acc_t1": 0.25, "acc_t2": 0.5, "delta": 0.25, "delta_i2c": 0.3, "delta_c2i": 0.05,
               "cl": 0.8, "cs": 0.4, "rss": None}
    assert learning_bench.metric_cells(metrics) == ["25.0", "50.0", "+25.0", "+30.0", "+5.0", "0.800", "0.400", "n/a"]


def test_verdict_says_no_plainly_when_correction_hurts():
    before = {"acc_t1": 0.5, "acc_t2": 0.4, "delta_i2c": 0.05, "delta_c2i": 0.15}
    after = {"acc_t1": 0.6, "acc_t2": 0.55, "delta_i2c": 0.05, "delta_c2i": 0.10}
    text = "\n".join(learning_bench.verdict_lines({"before": {"metrics": before}, "after": {"metrics": after}}))
    assert "Acc@t2 above Acc@t1 after training: **no**" in text
    assert "Delta i->c above Delta c->i after training: **no**" in text
    after_good = {"acc_t1": 0.6, "acc_t2": 0.7, "delta_i2c": 0.12, "delta_c2i": 0.02}
    text = "\n".join(learning_bench.verdict_lines({"before": {"metrics": before}, "after": {"metrics": after_good}}))
    assert "**yes** (70.0 vs 60.0" in text and text.count("**yes**") == 2


def test_comparison_lines_report_each_peer_delta_and_best_pass():
    def result(name, t1, t2, i2c, c2i):
        return {"name": name, "after": {"metrics": {"acc_t1": t1, "acc_t2": t2, "delta": t2 - t1,
                                                     "delta_i2c": i2c, "delta_c2i": c2i}}}
    names = {"mgrpo": "MGRPO", "grpo": "GRPO", "trl": "TRL"}
    lines = learning_bench.comparison_lines(
        [result("mgrpo", 0.77, 0.87, 0.14, 0.04), result("grpo", 0.87, 0.80, 0.045, 0.115)], names)
    assert lines[0] == "- GRPO at the same budget: Delta -7.0 (i->c 4.5 vs c->i 11.5)."
    assert lines[1] == ("- Best accuracy each policy reaches, with or without its correction pass: "
                        "MGRPO 87.0, GRPO 87.0.")
