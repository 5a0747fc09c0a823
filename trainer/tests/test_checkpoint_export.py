"""onnx_export: a training run exports its checkpoints to ONNX as it saves them ("checkpoints": every one,
"final": the one saved at the end), each export naming its checkpoint and the hash of that checkpoint's weights;
a checkpoint that cannot be exported (LoRA adapter, broken weights) is a warning and the run goes on; exporting
leaves the training's random streams where they were."""

from __future__ import annotations

import json
import random
import shutil

import pytest

from conftest import run_mgrpo, schema_validator, tiny_config, write_config


def _train(tiny_model_dir, folder, mode: str):
    config = tiny_config(tiny_model_dir, max_steps=2, save_steps=1, eval_size=0, onnx_export=mode)
    run_dir = folder / "run"
    result = run_mgrpo("train", "--config", str(write_config(folder, config)), "--run-dir", str(run_dir),
                       timeout=300)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    return run_dir, events


def _assert_export_of(checkpoint):
    from mgrpo.export_onnx import file_sha256

    manifest = json.loads((checkpoint / "onnx" / "onnx-manifest.json").read_text(encoding="utf-8"))
    assert manifest["checkpoint"] == ".."  # CHECKPOINT/onnx points back at CHECKPOINT
    assert manifest["weights_sha256"] == {"model.safetensors": file_sha256(checkpoint / "model.safetensors")}
    assert (checkpoint / "onnx" / "model.onnx").stat().st_size > 0
    return manifest


def test_every_checkpoint_exported(tiny_model_dir, tmp_path, run_schema):
    run_dir, events = _train(tiny_model_dir, tmp_path, "checkpoints")
    validator = schema_validator(run_schema, "event")
    for event in events:
        validator.validate(event)
    assert [event["step"] for event in events if event["event"] == "checkpoint"] == [1, 2]
    assert [event for event in events if event["event"] == "warning"] == []
    for step in (1, 2):
        _assert_export_of(run_dir / "checkpoints" / f"step-00000{step}")
    assert events[-1] == {**events[-1], "event": "finished", "status": "finished"}


def test_final_exports_only_the_last_checkpoint(tiny_model_dir, tmp_path):
    # save_steps 1 already saved step 2, so the save at the end only re-uses it: it must still be exported.
    run_dir, events = _train(tiny_model_dir, tmp_path, "final")
    assert not (run_dir / "checkpoints" / "step-000001" / "onnx").exists()
    _assert_export_of(run_dir / "checkpoints" / "step-000002")
    assert events[-1]["status"] == "finished"


def test_wants_export_by_mode():
    from mgrpo.checkpoint_export import wants_export

    assert [wants_export(mode, final) for mode in ("none", "checkpoints", "final") for final in (False, True)] \
        == [False, False, True, True, False, True]
    with pytest.raises(ValueError, match="onnx_export: got 'all'"):
        wants_export("all", True)


def test_lora_checkpoint_skipped_with_warning(tmp_path):
    from mgrpo.checkpoint_export import export_checkpoint

    (tmp_path / "adapter_config.json").write_text("{}", encoding="utf-8")
    warnings = []
    assert export_checkpoint(tmp_path, warnings.append) is None
    assert len(warnings) == 1 and "LoRA adapter" in warnings[0] and "mgrpo.lora merge" in warnings[0]
    assert not (tmp_path / "onnx").exists()


def test_failed_export_is_a_warning_and_leaves_no_torn_folder(tiny_model_dir, tmp_path):
    from mgrpo.checkpoint_export import export_checkpoint

    checkpoint = tmp_path / "step-000001"
    shutil.copytree(tiny_model_dir, checkpoint)
    (checkpoint / "model.safetensors").write_bytes(b"not a safetensors file")
    warnings = []
    assert export_checkpoint(checkpoint, warnings.append) is None
    assert len(warnings) == 1
    assert f"exporting {checkpoint} failed" in warnings[0]
    assert f"python -m mgrpo export-onnx --checkpoint {checkpoint}" in warnings[0]
    assert not (checkpoint / "onnx").exists()


def test_export_leaves_random_streams_alone(tiny_model_dir, tmp_path):
    import torch

    from mgrpo.checkpoint_export import export_checkpoint

    checkpoint = tmp_path / "step-000001"
    shutil.copytree(tiny_model_dir, checkpoint)
    torch.manual_seed(11)
    random.seed(11)
    expected = (torch.rand(4).tolist(), random.random())
    torch.manual_seed(11)
    random.seed(11)
    warnings = []
    assert export_checkpoint(checkpoint, warnings.append) == checkpoint / "onnx"
    assert warnings == []
    assert (torch.rand(4).tolist(), random.random()) == expected
    # A second save of the same checkpoint keeps the export it has.
    stamp = (checkpoint / "onnx" / "onnx-manifest.json").stat().st_mtime_ns
    assert export_checkpoint(checkpoint, warnings.append) == checkpoint / "onnx"
    assert (checkpoint / "onnx" / "onnx-manifest.json").stat().st_mtime_ns == stamp
