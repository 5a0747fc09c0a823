"""Rows no trainer should write but some do: missing keys, NaN rewards, bytes that are not UTF-8, lines that
are not JSON objects, a 10 MB completion. Each is counted (run.json and stderr), never fatal, and the run
folder still validates."""

from __future__ import annotations

import json
import math

import pyarrow
import pyarrow.parquet

from test_import_sources import import_folder, validate_imported_run

TEN_MB = 10 * 1024 * 1024


def verl_line(output, score=1.0, **extra) -> bytes:
    row = {"input": "Q: 1+1\n", "output": output, "gts": "2", "score": score, "step": 1, **extra}
    return json.dumps(row).encode("utf-8") + b"\n"


def test_verl_odd_rows(tmp_path, run_schema, capsys):
    source = tmp_path / "verl"
    source.mkdir()
    huge = "1+1=2\n" + "x" * TEN_MB + "\nAnswer: 2"
    lines = [
        verl_line("1+1=2\nAnswer: 2"),
        b'{"input": "Q: 1+1\\n", "gts": "2", "score": 1.0, "step": 1}\n',      # no output: unreadable
        b"this is not json\n",                                                     # unreadable
        b"[1, 2, 3]\n",                                                            # not an object: unreadable
        verl_line("1+1=3", score=float("nan")),                                    # NaN score: reward absent
        verl_line("1+1=\xff2").replace("\\u00ff".encode(), b"\xff"),               # raw byte 0xff in the output
        verl_line(huge),
        b'{"input": "Q: 1+1\\n", "output": "partial',                              # a live writer's torn line
    ]
    (source / "1.jsonl").write_bytes(b"".join(lines))
    importer = import_folder(source, tmp_path / "run")
    run = validate_imported_run(importer.run_dir, run_schema)
    stats = run["manifest"]["source"]
    assert (stats["rows_imported"], stats["rows_unreadable"], stats["rows_non_utf8"], stats["rewards_not_finite"]) \
        == (4, 3, 1, 1)
    records = run["rollouts"][1]
    assert [record["source"]["location"] for record in records] == ["1.jsonl:1", "1.jsonl:5", "1.jsonl:6", "1.jsonl:7"]
    nan_row = records[1]
    assert nan_row["reward"] is None and nan_row["rewards"] == {}
    assert "reward" in stats["absent_fields"]
    # the group's stats come from the rewards it has: 1.0 (row 1), 1.0 (row 6), 1.0 (row 7); NaN is not a 0
    assert nan_row["group_reward_mean"] == 1.0 and nan_row["group_reward_std"] == 0.0
    assert records[2]["completion"] == "1+1=\ufffd2"
    assert records[3]["completion"] == huge and len(records[3]["steps"]) == 2
    err = capsys.readouterr().err
    assert "1.jsonl:2: skipped: no 'output' text" in err
    assert "1.jsonl:3: skipped: not JSON" in err and "1.jsonl:4: skipped: a JSON list, not an object" in err
    assert "1.jsonl:6: bytes that are not UTF-8" in err
    assert not any(isinstance(value, float) and math.isnan(value) for value in run["metrics"][0]["layer1"].values()
                   if value is not None)


def test_nemo_rl_odd_rows(tmp_path, run_schema):
    source = tmp_path / "logs"
    source.mkdir()
    good = {"content": ["<|im_start|>assistant\nAnswer: 2"], "rewards": [1.0], "idx": [0]}
    rows = [
        json.dumps(good),
        json.dumps({"rewards": [1.0], "idx": [0]}),                                # no content: unreadable
        json.dumps({"content": ["no chat header, all completion"], "rewards": [float("nan")], "idx": [0]}),
        json.dumps({"content": [42], "rewards": [0.0]}),                           # content of no known shape
    ]
    (source / "train_data_step3.jsonl").write_text("\n".join(rows) + "\n")
    importer = import_folder(source, tmp_path / "run")
    run = validate_imported_run(importer.run_dir, run_schema)
    records = run["rollouts"][3]
    assert len(records) == 2 and importer.stats.unreadable == 2 and importer.stats.rewards_not_finite == 1
    assert records[1]["prompt"] is None and records[1]["completion"] == "no chat header, all completion"
    assert "prompt" in run["manifest"]["source"]["absent_fields"]


def test_prime_rl_odd_rows(tmp_path, run_schema):
    traces = tmp_path / "out" / "rollouts" / "step_1" / "train" / "env"
    traces.mkdir(parents=True)
    rows = [
        {"example_id": 1, "prompt": "Q", "completion": "A: 1", "reward": None},   # no reward
        {"example_id": 1, "prompt": "Q"},                                          # no completion: unreadable
        {"example_id": 1, "prompt": "Q", "completion": "A: 2", "reward": "high"},  # not a number
        {"example_id": 1, "prompt": "Q", "completion": "A: 3", "reward": 1.0, "metrics": {"m": float("inf")}},
    ]
    (traces / "traces.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    importer = import_folder(tmp_path / "out", tmp_path / "run")
    run = validate_imported_run(importer.run_dir, run_schema)
    records = run["rollouts"][1]
    assert [record["reward"] for record in records] == [None, None, 1.0]
    assert records[2]["rewards"] == {"reward": 1.0}  # the infinite rubric score is dropped
    assert importer.stats.unreadable == 1 and importer.stats.rewards_not_finite == 2


def test_trl_odd_rows_and_a_torn_parquet(tmp_path, run_schema):
    folder = tmp_path / "trl" / "completions"
    folder.mkdir(parents=True)
    table = pyarrow.table({
        "step": [1, 1, 1], "prompt": ["Q", "Q", "Q"], "completion": ["A: 1", None, "y" * TEN_MB],
        "acc": [float("nan"), 1.0, 0.0], "advantage": [float("nan"), 0.5, -0.5],
    })
    pyarrow.parquet.write_table(table, folder / "completions_00001.parquet")
    (folder / "completions_00002.parquet").write_bytes(b"PAR1 torn")
    importer = import_folder(tmp_path / "trl", tmp_path / "run")
    run = validate_imported_run(importer.run_dir, run_schema)
    records = run["rollouts"][1]
    assert len(records) == 2 and records[0]["reward"] is None and records[0]["advantage"] is None
    assert len(records[1]["completion"]) == TEN_MB
    assert run["rollouts"][2] == []
    assert importer.stats.unreadable == 2  # the row without completion, the torn file
