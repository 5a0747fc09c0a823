"""The trainer benchmarks' own arithmetic (bench/trainer): budget matching, timing splits, run reuse, the TRL
reward wrapper, per-problem outcomes, checks that can say no, and the learning bench end to end in a tiny
configuration (one seed, two steps, eight problems, no TRL). The full benchmarks run under `npm run bench`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench" / "trainer"
sys.path.insert(0, str(BENCH_DIR))

import learning_bench  # noqa: E402
import numpy as np  # noqa: E402
import run_tools  # noqa: E402
import stats  # noqa: E402
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
    args = learning_bench.parse_args(["--steps", "3", "--eval-size", "5", "--model", str(tmp_path),
                                      "--set", "questions_per_step=3", "--set", "num_generations=4",
                                      "--set", "layer2_num_generations=2", "--mgrpo-set", "layer2_loss_weight=0.5"])
    mgrpo, grpo = learning_bench.budget_matched_configs(args, seed=7)
    # MGRPO: 3 questions x 4 answers + 3 x 4 x 2 corrections = 36 per step; GRPO: 9 questions x 4 = 36.
    assert (mgrpo["algorithm"], grpo["algorithm"]) == ("mgrpo", "grpo")
    assert grpo["questions_per_step"] == 9 and grpo["num_generations"] == 4
    for key in ("learning_rate", "beta", "temperature", "seed", "max_completion_length", "eval_size"):
        assert mgrpo[key] == grpo[key]
    assert mgrpo["seed"] == 7 and mgrpo["eval_num_samples"] == 0
    # --mgrpo-set changes MGRPO alone; GRPO trains twice as long for the equal-time row, evaluated at 3 and 6.
    assert mgrpo["layer2_loss_weight"] == 0.5 and grpo["layer2_loss_weight"] == 1.0
    assert (mgrpo["max_steps"], mgrpo["eval_steps"]) == (3, 3)
    assert (grpo["max_steps"], grpo["eval_steps"]) == (6, 3)


def test_budget_match_refuses_what_it_cannot_match(tmp_path):
    args = learning_bench.parse_args(["--model", str(tmp_path), "--set", "layer2_inputs=wrong_only"])
    with pytest.raises(SystemExit, match="layer2_inputs 'all'"):
        learning_bench.budget_matched_configs(args)
    args = learning_bench.parse_args(["--model", str(tmp_path), "--set", "lr_scheduler_type=linear"])
    with pytest.raises(SystemExit, match="constant"):
        learning_bench.budget_matched_configs(args)


def test_set_parses_json_values_and_bare_strings():
    assert learning_bench.parse_set("learning-rate=3e-4") == ("learning_rate", 3e-4)
    assert learning_bench.parse_set("layer2_inputs=all") == ("layer2_inputs", "all")
    with pytest.raises(Exception):
        learning_bench.parse_set("no-equals-sign")


def test_trl_reward_wrapper_scores_with_our_verifier_and_counts_what_trl_generated():
    reward = trl_peer.CountingReward()
    rewards = reward(prompts=["Q: 1+2\n"] * 3, completions=["1+2=3\nA: 3\n", "1+2=4\nA: 4\n", "no answer"],
                     answer=["3", "3", "3"], completion_ids=[[1], [2], [3]], trainer_state=None)
    assert rewards == [1.0, 0.0, 0.0]
    reward(prompts=["Q"], completions=["A: 1"], answer=["1"])
    assert (reward.calls, reward.completions) == (2, 4)
    assert reward.__name__ == "chain_correctness_reward"


def run_json(**changes):
    config = {"seed": 0, "learning_rate": 2e-4, "lr_scheduler_type": "constant", "max_steps": 120, "eval_steps": 20,
              "save_steps": 0, "save_total_limit": 5, "eval_size": 500}
    config.update(changes)
    return {"status": "running", "completed_steps": 0, "config": config}


def test_a_longer_constant_rate_run_covers_a_shorter_one_and_nothing_else_does():
    wanted = dict(run_json()["config"], max_steps=20, eval_steps=20)
    assert run_tools.run_covers(run_json(), wanted, steps_done=120)
    assert run_tools.run_covers(run_json(), wanted, steps_done=25)                      # still going, past 20
    assert not run_tools.run_covers(run_json(), wanted, steps_done=10)                  # not there yet
    assert not run_tools.run_covers(run_json(learning_rate=1e-4), wanted, steps_done=120)  # trained differently
    assert not run_tools.run_covers(run_json(eval_size=200), wanted, steps_done=120)       # other problems
    linear = dict(wanted, lr_scheduler_type="linear")
    assert not run_tools.run_covers(run_json(lr_scheduler_type="linear"), linear, 120)  # rate depends on length
    assert run_tools.run_covers(run_json(lr_scheduler_type="linear", max_steps=20), linear, 20)


def test_equal_time_row_is_the_evaluated_step_closest_in_training_time():
    run = {"evals": {0: {}, 40: {}, 80: {}}, "seconds_at": {0: 0.0, 40: 40.0, 80: 79.0}}
    assert learning_bench.wall_matched_step(run, 70.0) == 80
    assert learning_bench.wall_matched_step(run, 55.0) == 40


def eval_problem(question, answer, t1, t2):
    from mgrpo.task import verify

    return {"question_id": f"chain-{question}", "question": question, "ground_truth": answer, "t1_completion": t1,
            "t1_correct": verify(t1, answer).correct, "t2_completion": t2, "t2_correct": verify(t2, answer).correct}


def test_outcome_columns_mark_transitions_and_right_answers_reached_through_a_wrong_step():
    # 3+9*3*5: 3+9=2, 2*3=6, 6*5=0. "2*3=4, 4*5=0" reaches the right answer 0 through a wrong second step.
    lucky = "3+9=2\n2*3=4\n4*5=0\nA: 0\n"
    sound = "3+9=2\n2*3=6\n6*5=0\nA: 0\n"
    wrong = "3+9=2\n2*3=6\n6*5=1\nA: 1\n"
    result = {"problems": [eval_problem("3+9*3*5", "0", sound, sound),
                           eval_problem("3+9*3*5", "0", wrong, lucky),
                           eval_problem("3+9*3*5", "0", lucky, wrong)]}
    columns = run_tools.outcome_columns(result, chain_task=True)
    assert stats.OUTCOME_COLUMNS == ("t1", "t2", "i2c", "c2i", "t1_flawed", "t2_flawed")
    assert columns.tolist() == [[1, 1, 0, 0, 0, 0], [0, 1, 1, 0, 0, 1], [1, 0, 0, 1, 1, 0]]
    assert run_tools.outcome_columns(result, chain_task=False)[:, 4:].sum() == 0


def block(t1, t2):
    t1, t2 = np.asarray(t1, dtype=float), np.asarray(t2, dtype=float)
    return np.column_stack([t1, t2, (1 - t1) * t2, t1 * (1 - t2), np.zeros_like(t1), np.zeros_like(t1)])


def test_analysis_pairs_policies_problem_by_problem_and_says_no_when_mgrpo_loses():
    # One seed, 10 problems repeated 10 times. before: t1 5/10, t2 6/10; MGRPO: t1 6, t2 7; GRPO: t1 9, t2 8.
    before = block([1] * 5 + [0] * 5, [1] * 6 + [0] * 4)
    mgrpo = block([1] * 6 + [0] * 4, [1] * 7 + [0] * 3)
    grpo = block([1] * 9 + [0], [1] * 8 + [0] * 2)
    matrix = np.tile(np.hstack([before, mgrpo, grpo]), (10, 1))
    analysis = learning_bench.Analysis([matrix], ["before", "mgrpo", "grpo"], reps=500)
    aim = analysis.diff(("mgrpo", "acc_t2"), ("grpo", "best"))
    assert aim.point == pytest.approx(0.7 - 0.9)
    assert analysis.seeds_above_zero(("mgrpo", "acc_t2"), ("grpo", "best")) == (0, 1)
    # MGRPO t2 vs GRPO t1 (its better pass): no pair where MGRPO alone is right, 2 x 10 where GRPO alone is.
    assert analysis.mcnemar(("mgrpo", "acc_t2"), ("grpo", "best")) == pytest.approx(stats.mcnemar_exact(0, 20))
    assert analysis.mcnemar(("mgrpo", "delta_i2c"), ("grpo", "delta_i2c")) is None
    text = "\n".join(learning_bench.check_lines(analysis))
    assert "best accuracy of GRPO (ours) at equal samples: **no**, the opposite holds, -20.0" in text
    assert "MGRPO's Delta i->c above its Delta c->i (its correction pass helps): **yes**, Delta +10.0" in text
    # +10 points on 100 problems, every discordant pair the same way: the interval excludes 0.
    assert "Training improved MGRPO's Acc@t2 (trained minus before): **yes**, +10.0" in text


def test_estimates_print_as_percentages_with_signed_differences_and_undefined_ratios():
    estimate = stats.Estimate(0.25, 0.2, 0.3)
    assert learning_bench.fmt_estimate(estimate, "percent") == "25.0 [20.0, 30.0]"
    assert learning_bench.fmt_estimate(stats.Estimate(-0.05, -0.1, 0.01), "signed") == "-5.0 [-10.0, +1.0]"
    assert learning_bench.fmt_estimate(stats.Estimate(float("nan"), 0, 0), "ratio") == "n/a"
    assert learning_bench.verdict(stats.Estimate(0.02, 0.001, 0.04)) == "**yes**"
    assert learning_bench.verdict(stats.Estimate(0.02, -0.01, 0.04)).startswith("**no**, not shown")


def test_learning_bench_runs_end_to_end_in_a_tiny_configuration(tmp_path, monkeypatch):
    """Two tiny runs (MGRPO and GRPO, one seed), the analysis and the page; then a second call reuses them."""
    monkeypatch.setenv("BENCH_QUICK", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    argv = ["--steps", "1", "--eval-size", "4", "--no-trl", "--out", str(tmp_path), "--reps", "100",
            "--page", "test-learning-smoke"]
    assert learning_bench.main(argv) == 0
    page = (learning_bench.bench_common.OUT_DIR / "results-quick" / "test-learning-smoke.md").read_text()
    assert "| MGRPO (ours) | 1 | 12 |" in page  # 2 questions x 2 answers x (1 + 2 corrections)
    assert "| GRPO (ours), equal samples | 1 | 12 |" in page
    assert "| GRPO (ours), about equal training time | 2 | 24 |" in page
    assert "## Checks that can fail" in page and "exact McNemar p" in page
    runs = sorted(path.name for path in tmp_path.iterdir() if path.is_dir())
    assert len(runs) == 2
    assert learning_bench.main([*argv, "--reuse"]) == 0
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_dir()) == runs
    assert "runs reused from" in (learning_bench.bench_common.OUT_DIR / "results-quick" / "test-learning-smoke.md").read_text()


def test_a_frozen_trainer_copy_is_named_by_its_commit(tmp_path, monkeypatch):
    (tmp_path / "trainer").mkdir()
    (tmp_path / "COMMIT").write_text("abc1234\n")
    monkeypatch.setattr(learning_bench.bench_common, "TRAINER_DIR", tmp_path / "trainer")
    assert learning_bench.bench_common.trainer_version().startswith("abc1234 (frozen copy in ")


def test_study_runs_are_evaluated_where_the_pages_read_them():
    import study

    final = {spec.name: spec for spec in study.final_specs()}
    assert sorted(final) == sorted([f"mgrpo-base-s{s}" for s in range(5)] + [f"grpo-s{s}" for s in range(5)])
    assert final["grpo-s3"].eval_steps() == [0, 20, 40, 60, 80]    # equal samples at 20 and 40, equal time at 40, 80
    assert final["mgrpo-base-s3"].eval_steps() == [0, 20, 40]
    g2 = next(spec for spec in study.screening_specs() if spec.name == "mgrpo-g2x2-s0")
    assert g2.eval_steps() == [0, 67] and g2.overrides == {"layer2_num_generations": 2}
    # A chosen setting that generates fewer samples a step runs longer for the same budget, evaluated at its end.
    chosen = study.final_specs({"layer2_inputs": "sample"}, "sample05x67", steps=67)
    assert [spec.name for spec in chosen] == [f"mgrpo-sample05x67-s{s}" for s in range(5)]
    assert all(spec.eval_steps() == [0, 67] and spec.overrides == {"layer2_inputs": "sample"} for spec in chosen)


def test_study_compares_a_setting_with_grpo_at_the_closest_sample_count():
    import study

    grpo = {"evals": {0: {}, 20: {}, 40: {}}, "samples_at": {0: 0, 20: 1600, 40: 3200}}
    assert study.nearest_by_samples(grpo, 3216) == 40
    assert study.nearest_by_samples(grpo, 2000) == 20


def test_study_page_keeps_the_hand_written_answer_when_regenerated(tmp_path):
    import study

    page = tmp_path / "trainer-study.md"
    assert study.kept_answer(page)[0] == study.ANSWER_HEADING
    page.write_text("# title\n\n- header\n\n## The answer\n\nMGRPO wins here, loses there.\n\n## Screening\n\n| a |\n")
    assert study.kept_answer(page) == ["## The answer", "", "MGRPO wins here, loses there.", ""]
