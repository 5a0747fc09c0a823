"""The prime-rl importer on folders laid out as prime-rl 559b447 writes them (FileMonitor, verifiers a60a606
Episode records; see fixtures/sources/prime-rl-upstream/README.md). Each test names the older assumption (flat
trace lines, ``train/<env>/`` folders, one metrics line per step) it would have failed on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mgrpo.importers import RunImporter, SourceOptions, open_source
from mgrpo.importers.prime_rl import PrimeRlSource
from mgrpo.importers.samples import ImportStats
from test_import_sources import SOURCES, by_group, import_folder, validate_imported_run

UPSTREAM = SOURCES / "prime-rl-upstream"
STEP1_EFFECTIVE = Path("rollouts/step_1/train/effective/traces.jsonl")
STEP1_ALL = Path("rollouts/step_1/train/all/traces.jsonl")


def copy_upstream(tmp_path: Path) -> Path:
    return Path(shutil.copytree(UPSTREAM, tmp_path / "prime-run"))


def episodes(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_episodes(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows))


def import_run(source: Path, tmp_path: Path, run_schema: dict) -> dict:
    return validate_imported_run(import_folder(source, tmp_path / "run").run_dir, run_schema)


def test_a_step_is_its_effective_cohort_not_every_arrival_as_well(tmp_path, run_schema):
    """train/all and train/effective hold the same episodes; reading both (train/**) doubled the step."""
    run = import_run(UPSTREAM, tmp_path, run_schema)
    step1 = run["rollouts"][1]
    assert len(step1) == 4
    assert {record["source"]["location"].split(":")[0] for record in step1} == {str(STEP1_EFFECTIVE)}
    skipped = run["manifest"]["source"]["skipped_files"]
    assert "trained-on cohort" in skipped[str(STEP1_ALL)]
    assert all("eval" in name for name in skipped if name != str(STEP1_ALL)) and len(skipped) == 3


def test_episode_records_become_samples(tmp_path, run_schema):
    """Text from the trace's message graph, reward from rewards {score, weight}, advantage from the nodes' token
    advantages, groups from group.id, the prompt's id from task.key: none of these is a top-level key."""
    run = import_run(UPSTREAM, tmp_path, run_schema)
    right, wrong = by_group(run["rollouts"][1])[0]
    assert right["prompt"].startswith("user: Solve the grade-school math problem.")
    assert right["prompt"].endswith("How many clips did she sell?")
    assert (right["completion"], right["ground_truth"]) == ("48/2=24, 48+24=72\n#### 72", "72")
    assert (right["reward"], right["rewards"], right["advantage"]) == (1.0, {"correct": 1.0}, 0.5)
    assert (wrong["reward"], wrong["advantage"]) == (0.0, -0.5)
    key = episodes(UPSTREAM / STEP1_EFFECTIVE)[0]["task"]["key"]
    assert right["question_id"] == wrong["question_id"] == f"task-{key}"
    assert right["source"]["fields"]["group"] == "0" and right["source"]["fields"]["episode"]["id"] == "e01"
    assert right["source"]["fields"]["trace"]["metrics"] == {"num_turns": 1.0}
    # 12 prompt tokens + the 5-token generation prompt come before the first sampled token; 9 were sampled.
    assert (right["prompt_tokens"], right["completion_tokens"]) == (17, 9)
    assert run["manifest"]["model"]["name_or_path"] == "Qwen/Qwen3-0.6B"


def test_truncation_is_the_last_calls_finish_reason(tmp_path, run_schema):
    """There is no is_truncated key: Trace.is_truncated is a property (stop condition or finish_reason 'length')."""
    run = import_run(UPSTREAM, tmp_path, run_schema)
    cut, stopped = by_group(run["rollouts"][1])[1]
    assert (cut["finish_reason"], stopped["finish_reason"]) == ("length", "stop")
    assert (cut["advantage"], stopped["advantage"]) == (0.0, 0.0)
    metrics = {line["step"]: line for line in run["metrics"]}
    assert metrics[1]["layer1"]["truncated_fraction"] == 0.25


def test_a_step_still_collecting_is_read_from_its_arrivals(tmp_path, run_schema):
    """Step 2 has only train/all (its batch has not shipped): samples without advantages, grouped by group.id
    although one was dispatched a step earlier (run.work.step 1)."""
    run = import_run(UPSTREAM, tmp_path, run_schema)
    step2 = run["rollouts"][2]
    assert [record["advantage"] for record in step2] == [None, None]
    assert [record["reward"] for record in step2] == [1.0, 0.0]
    assert len({record["group"] for record in step2}) == 1
    assert "advantage" in run["manifest"]["source"]["absent_fields"]


def test_an_episode_without_a_trace_is_counted_unreadable(tmp_path, run_schema):
    """train/all keeps failed episodes (traces: [], errors: [...]); read from there, they are reported."""
    source = copy_upstream(tmp_path)
    (source / STEP1_EFFECTIVE).unlink()
    run = import_run(source, tmp_path, run_schema)
    assert len(run["rollouts"][1]) == 4
    assert run["manifest"]["source"]["rows_unreadable"] == 1
    assert any("SandboxError: runtime failed to start" in problem for problem in run["manifest"]["source"]["problems"])


def test_metrics_are_every_line_of_the_step_merged(tmp_path, run_schema):
    """Trainer and orchestrator append several lines per step to the run folder's metrics.jsonl; the last line
    alone (the old reading) is only the trainer's time metrics."""
    run = import_run(UPSTREAM, tmp_path, run_schema)
    metrics = {line["step"]: line for line in run["metrics"]}
    logged = metrics[1]["source_metrics"]
    assert logged["loss/mean"] == 0.0123 and logged["progress/rollouts"] == 5
    assert logged["train/agg/effective/agent/rewards/correct/mean"] == 0.25 and logged["optim/grad_norm"] == 0.42
    assert logged["time/step"] == 4.5  # logged by both; the later (trainer) line wins
    assert metrics[2]["source_metrics"]["eval/gsm8k/effective/agent/rewards/correct/mean"] == 1.0
    # The trainer's names fill the run format's loss and entropy (the dashboard charts them); no reference KL.
    assert metrics[1]["loss"] == 0.0123 and metrics[1]["entropy"] == 0.61 and metrics[1]["kl"] is None


def test_weighted_and_unscored_rewards(tmp_path, run_schema):
    """Trace.reward sums score x weight; a null entry means scoring did not run (no reward, not 0)."""
    source = copy_upstream(tmp_path)
    rows = episodes(source / STEP1_EFFECTIVE)
    rows[0]["traces"][0]["rewards"] = {"correct": {"score": 1.0, "weight": 0.5},
                                       "format": {"score": 1.0, "weight": 0.25}}
    rows[1]["traces"][0]["rewards"] = {"correct": None}
    write_episodes(source / STEP1_EFFECTIVE, rows)
    run = import_run(source, tmp_path, run_schema)
    first, second = by_group(run["rollouts"][1])[0]
    assert (first["reward"], first["rewards"]) == (0.75, {"correct": 0.5, "format": 0.25})
    assert second["reward"] is None
    assert run["manifest"]["source"]["rewards_not_finite"] == 1


def tool_turn_trace(trace: dict) -> dict:
    """The trace as a two-turn tool use with a retried first reply (a second branch off the prompt)."""
    user, reply = trace["nodes"]
    retry = {**reply, "message": {"role": "assistant", "content": "abandoned"}}
    call = {"parent": 0, "message": {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "name": "calc", "arguments": "{\"x\": \"48/2\"}"}]}, "sampled": True,
        "timestamp": reply["timestamp"], "token_ids": [7, 8, 9, 10], "mask": [False, True, True, True],
        "is_content": [], "logprobs": [-0.1, -0.1, -0.1], "advantages": [1.0, 1.0, 1.0]}
    result = {"parent": 2, "message": {"role": "tool", "tool_call_id": "c1", "content": "24"}, "sampled": False,
              "timestamp": reply["timestamp"], "token_ids": [11, 12], "mask": [False, False], "is_content": [],
              "logprobs": []}
    final = {**reply, "parent": 3, "advantages": [0.0] * len(reply["logprobs"])}
    return {**trace, "nodes": [user, retry, call, result, final]}


def test_multi_turn_text_is_the_final_branch(tmp_path, run_schema):
    """Completion = every message of the last root-to-leaf path from the first sampled one, tool calls shown."""
    source = copy_upstream(tmp_path)
    rows = episodes(source / STEP1_EFFECTIVE)
    rows[0]["traces"][0] = tool_turn_trace(rows[0]["traces"][0])
    write_episodes(source / STEP1_EFFECTIVE, rows)
    record = by_group(import_run(source, tmp_path, run_schema)["rollouts"][1])[0][0]
    assert record["completion"] == ('assistant: [tool_call calc({"x": "48/2"})]\ntool: 24\n'
                                    "assistant: 48/2=24, 48+24=72\n#### 72")
    assert "abandoned" not in record["completion"]
    assert record["completion_tokens"] == 3 + 9 and record["prompt_tokens"] == 12 + 1
    # prime-rl's scalar_advantage: the mean non-zero token advantage over every node of the trace, the
    # abandoned branch's 9 tokens at 0.5 included: (9 * 0.5 + 3 * 1.0) / 12.
    assert record["advantage"] == 0.625


def test_multi_agent_episodes_group_per_agent_and_skip_untrainable_agents(tmp_path):
    source = copy_upstream(tmp_path)
    rows = episodes(source / STEP1_EFFECTIVE)
    for row in rows:
        solver = row["traces"][0]
        judge = {**solver, "id": solver["id"] + "-judge", "agent": {**solver["agent"], "name": "judge",
                                                                      "trainable": False}}
        proposer = {**solver, "id": solver["id"] + "-p", "agent": {**solver["agent"], "name": "proposer"}}
        row["traces"] = [solver, proposer, judge]
    write_episodes(source / STEP1_EFFECTIVE, rows)
    source_reader = open_source(source, "prime-rl", SourceOptions())
    stats = ImportStats()
    samples = source_reader.read(source_reader.step_files(stats)[0], stats)
    assert len(samples) == 8
    assert {sample.group_key for sample in samples} == {"group-0/agent", "group-0/proposer", "group-1/agent",
                                                        "group-1/proposer"}
    assert sum("not trainable" in problem for problem in stats.problems) >= 1


def test_detection_and_run_folder_or_rollouts_folder(tmp_path):
    """Both the run folder and its rollouts/ folder are accepted; metrics come from the run folder either way."""
    assert PrimeRlSource.matches(UPSTREAM) and PrimeRlSource.matches(UPSTREAM / "rollouts")
    reader = PrimeRlSource(UPSTREAM / "rollouts")
    files = reader.step_files(ImportStats())
    assert [item.step for item in files] == [1, 2]
    assert reader.step_metrics(files[0], ImportStats())["loss/mean"] == 0.0123


def test_trace_per_line_files_before_august_20_2026(tmp_path, run_schema):
    """Until 03cdc51 prime-rl wrote Trace.to_record() lines (None kept, run.step, no group): grouped by task."""
    source = copy_upstream(tmp_path)
    traces = []
    for row in episodes(source / STEP1_EFFECTIVE):
        trace = row["traces"][0]
        trace["run"] = {"type": "train", "id": "run-7f3a", "name": None, "step": 1}
        for node in trace["nodes"]:
            node.setdefault("parent", None)
            node.setdefault("advantages", None)
        traces.append(trace)
    write_episodes(source / STEP1_EFFECTIVE, traces)
    run = import_run(source, tmp_path, run_schema)
    groups = by_group(run["rollouts"][1])
    assert [[record["advantage"] for record in group] for group in groups] == [[0.5, -0.5], [0.0, 0.0]]
    assert groups[0][0]["question_id"] == f"task-{traces[0]['task']['key']}"
    assert groups[0][0]["source"]["fields"]["episode"] == {"run": traces[0]["run"]}


def test_follow_reads_a_step_once_its_batch_shipped(tmp_path, run_schema):
    """While a step collects only train/all grows; once it ships, train/effective is written and the next step's
    arrivals begin: the step is then imported from effective (with advantages), and the last one at stop."""
    source = copy_upstream(tmp_path)
    shutil.rmtree(source / "rollouts" / "step_2")
    effective = (source / STEP1_EFFECTIVE).read_text()
    (source / STEP1_EFFECTIVE).unlink()
    importer = RunImporter(open_source(source, "prime-rl", SourceOptions()), tmp_path / "run")
    calls = []

    def should_stop() -> bool:
        calls.append(None)
        if len(calls) == 2:  # after the first poll: step 1 is still the latest step, so nothing was imported
            assert importer.writer.metrics_path.read_text() == ""
            (source / STEP1_EFFECTIVE).write_text(effective)
            shutil.copytree(UPSTREAM / "rollouts" / "step_2", source / "rollouts" / "step_2")
        return len(calls) > 4

    assert importer.follow(poll_seconds=0.01, should_stop=should_stop) == "stopped"
    run = validate_imported_run(tmp_path / "run", run_schema)
    assert [record["advantage"] for record in run["rollouts"][1]] == [0.5, -0.5, 0.0, 0.0]
    assert len(run["rollouts"][2]) == 2


def test_metrics_log_reads_each_appended_byte_once(tmp_path, monkeypatch):
    """A live prime-rl run appends several metrics lines per step; each step's lookup used to re-read the whole
    file (quadratic over a run). Now a step reads only what was appended, and a file that shrank or was replaced is
    read again from its start."""
    source = copy_upstream(tmp_path)
    metrics = source / "metrics.jsonl"
    reader = PrimeRlSource(source)
    files = {item.step: item for item in reader.step_files(ImportStats())}
    read_sizes: list[int] = []
    real_open = Path.open

    class Counting:
        """The metrics file's handle, counting the bytes each opening reads (by line or whole)."""

        def __init__(self, handle):
            self.handle = handle
            read_sizes.append(0)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def seek(self, *args):
            return self.handle.seek(*args)

        def read(self, *args):
            data = self.handle.read(*args)
            read_sizes[-1] += len(data)
            return data

        def __iter__(self):
            for line in self.handle:
                read_sizes[-1] += len(line)
                yield line

    def counting_open(self, mode="r", *args, **kwargs):
        handle = real_open(self, mode, *args, **kwargs)
        return Counting(handle) if self == metrics and mode == "rb" else handle

    monkeypatch.setattr(Path, "open", counting_open)
    first = reader.step_metrics(files[1], ImportStats())
    assert first["loss/mean"] == 0.0123 and first["time/step"] == 4.5
    assert read_sizes == [metrics.stat().st_size]
    reader.step_metrics(files[2], ImportStats())
    assert len(read_sizes) == 1, "nothing appended: nothing read"

    # The trainer writes step 2's loss in two pieces: half a line is not read as a row until it is whole.
    line = json.dumps({"step": 2, "loss/mean": 0.5}) + "\n"
    with metrics.open("a") as handle:
        handle.write(line[:10])
    assert "loss/mean" not in reader.step_metrics(files[2], ImportStats())
    with metrics.open("a") as handle:
        handle.write(line[10:])
    assert reader.step_metrics(files[2], ImportStats())["loss/mean"] == 0.5
    assert read_sizes[1:] == [10, len(line)], "each call reads from the last whole line on"

    # Replaced by a shorter file (a restarted run): read again from the start; old steps are gone.
    metrics.write_text(json.dumps({"step": 1, "loss/mean": 0.9}) + "\n")
    assert reader.step_metrics(files[1], ImportStats())["loss/mean"] == 0.9
    assert reader.step_metrics(files[2], ImportStats()) is None


TINY = Path(__file__).resolve().parents[1] / "models" / "mgrpo-demo-tiny"


def with_demo_tokens(source: Path) -> dict[str, list[float]]:
    """Rewrites step 1's effective traces so every sampled node's token ids are the demo tokenizer's for its text
    (after three template tokens that are not sampled), with log-probs -0.01, -0.02, ... on the sampled tokens.
    Returns the log-probs by reply text. Used here and by the e2e test of mgrpo.importTokenizer."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(TINY)
    path = source / STEP1_EFFECTIVE
    rows = episodes(path)
    expected = {}
    for row in rows:
        for trace in row["traces"]:
            for node in trace["nodes"]:
                if node.get("sampled"):
                    ids = tokenizer.encode(node["message"]["content"], add_special_tokens=False)
                    node["token_ids"], node["mask"] = [7, 7, 7] + ids, [False] * 3 + [True] * len(ids)
                    node["logprobs"] = [-0.01 * (index + 1) for index in range(len(ids))]
                    expected[node["message"]["content"]] = node["logprobs"]
    write_episodes(path, rows)
    return expected


def test_tokenizer_places_the_sampling_logprobs_of_model_messages(tmp_path, run_schema):
    """A MessageNode's logprobs cover the tokens its mask marks sampled (verifiers graph.py); with --tokenizer a
    reply gets them as token_logprobs with offsets into its text, each model message's tokens within that message
    (a multi-turn reply is rendered "assistant: ...\\nuser: ...\\nassistant: ..."; the user turn has none).
    Tokens that do not spell the text shown keep no token data rather than misplaced data."""
    from transformers import AutoTokenizer

    source = copy_upstream(tmp_path)
    expected = with_demo_tokens(source)
    path = source / STEP1_EFFECTIVE
    rows = episodes(path)
    rows[1]["traces"][0]["nodes"][-1]["message"]["content"] += " (edited after sampling)"
    turns = rows[2]["traces"][0]["nodes"]  # a second turn: the reply is two model messages
    ids = AutoTokenizer.from_pretrained(TINY).encode("4", add_special_tokens=False)
    turns += [{"parent": 1, "message": {"role": "user", "content": "Check it."}, "sampled": False, "token_ids": [7],
               "mask": [False], "logprobs": []},
              {"parent": 2, "message": {"role": "assistant", "content": "4"}, "sampled": True, "token_ids": ids,
               "mask": [True] * len(ids), "logprobs": [-0.5] * len(ids)}]
    write_episodes(path, rows)

    run = validate_imported_run(import_folder(source, tmp_path / "run", tokenizer=str(TINY)).run_dir, run_schema)
    records = {record["completion"]: record for record in run["rollouts"][1]}
    placed = [record for record in records.values() if record["token_logprobs"] is not None]
    assert len(placed) == len(records) - 1, "every reply but the edited one carries its log-probs"
    multi_turn = next(text for text in records if "user: Check it." in text)
    first_reply = rows[2]["traces"][0]["nodes"][1]["message"]["content"]
    assert multi_turn == f"assistant: {first_reply}\nuser: Check it.\nassistant: 4"
    record = records.pop(multi_turn)
    assert record["token_logprobs"] == pytest.approx(expected[first_reply] + [-0.5])
    header = len("assistant: ")  # one character per token with the demo tokenizer
    assert record["token_offsets"] == [header + index for index in range(len(first_reply))] + [len(multi_turn) - 1]
    for record in (record for record in records.values() if record["token_logprobs"] is not None):
        assert record["token_logprobs"] == pytest.approx(expected[record["completion"]])
        assert record["token_offsets"] == list(range(len(record["completion"])))
    edited = next(text for text in records if text.endswith("(edited after sampling)"))
    assert records[edited]["token_logprobs"] is None and records[edited]["token_offsets"] is None
    assert any("do not decode to the message's text" in problem for problem in run["manifest"]["source"]["problems"])

    without = validate_imported_run(import_folder(source, tmp_path / "plain").run_dir, run_schema)
    assert all(record["token_logprobs"] is None for record in without["rollouts"][1])
    assert "token_logprobs" in without["manifest"]["source"]["absent_fields"]
