"""Command line: ``python -m mgrpo {train,eval,validate-config}``; ``python -m mgrpo --help`` explains all.

Exit codes: 0 done (finished or stopped), 1 the run failed, 2 a usage or config error (the message names
the key, the value and what is allowed). Errors are also an ``error`` event on stdout, which carries only
JSON lines during training.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from pathlib import Path

from . import __version__
from .config import PRESETS, ConfigError, config_keys, load_schema, parse_override, resolve_config

log = logging.getLogger("mgrpo")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
MGRPO trainer: multi-layer GRPO. Each step samples first answers (layer 1, GRPO groups), then the policy's
corrections of them (layer 2, a GRPO group per answer, prompted with the answer and a guiding phrase), and
updates one policy from both with the clipped surrogate and a KL penalty to a frozen reference.

commands:
  train            train, writing a run directory (trainer/RUN_FORMAT.md) and JSON-line events on stdout
  eval             greedy two-pass evaluation (answer, then one correction) of a model folder
  validate-config  check a config file against the schema and print the resolved config
  step-values      Monte-Carlo values of a record's steps (k continuations per step prefix), cached in the run
  export-step-labels  step labels as JSON lines for process-reward-model training (TRL stepwise supervision)
  export-onnx      a checkpoint as ONNX with a KV cache for the editor (Score Trace, What If)
  serve            the same editor requests answered by PyTorch (big checkpoints), JSON lines on stdin/stdout
  import           bring verl / TRL / NeMo-RL / prime-rl rollouts into a run folder (python -m mgrpo import -h)

examples:
  python -m mgrpo train --preset demo --run-dir runs/demo
  python -m mgrpo train --config my.json --run-dir runs/a --max-steps 50 --learning-rate 1e-5
  python -m mgrpo train --run-dir runs/a --resume          (continues from the newest checkpoint)
  python -m mgrpo eval --model runs/a/checkpoints/step-000050 --n 200
  python -m mgrpo validate-config my.json

exit codes: 0 finished or stopped, 1 the run failed, 2 bad usage or config.
"""


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _metavar(subschema: dict) -> str:
    if "enum" in subschema:
        return "{" + ",".join("null" if option is None else str(option) for option in subschema["enum"]) + "}"
    types = subschema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    for name, metavar in (("integer", "INT"), ("number", "FLOAT"), ("boolean", "BOOL"), ("array", "JSON_LIST")):
        if name in types:
            return metavar
    return "TEXT"


def _key_help(subschema: dict) -> str:
    default = json.dumps(subschema.get("default"))
    # argparse expands %-formats in help text.
    return (subschema.get("description", "") + f" (default: {default})").replace("%", "%%")


def config_key_reference(width: int = 100) -> str:
    """Every config key with its description and default, from the schema (for --help)."""
    schema = load_schema()
    lines = ["config keys (JSON file, or a flag with - for _; flags win over the file, the file over the preset):"]
    for key in config_keys(schema):
        subschema = schema["properties"][key]
        lines.append(f"  {key} / {_flag(key)} {_metavar(subschema)}")
        lines.extend(textwrap.wrap(_key_help(subschema).replace("%%", "%"), width=width,
                                   initial_indent="      ", subsequent_indent="      "))
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as an error event too, with exit code 2."""

    def error(self, message: str):  # noqa: D401 - argparse's signature
        emit_error_event(f"{self.prog}: {message}")
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def emit_error_event(message: str, out=None) -> None:
    out = out or sys.stdout
    out.write(json.dumps({"event": "error", "message": message}) + "\n")
    out.flush()


def build_parser() -> argparse.ArgumentParser:
    schema = load_schema()
    parser = _Parser(prog="python -m mgrpo", description=DESCRIPTION, epilog=config_key_reference(),
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mgrpo {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{train,eval,validate-config,step-values,export-step-labels,export-onnx,serve,verify,import}", parser_class=_Parser)

    train = commands.add_parser("train", help="train a policy with MGRPO (or GRPO)",
                                description="Train, writing a run directory and JSON-line events on stdout. "
                                            "Stdin takes JSON commands: stop, pause, resume, checkpoint.")
    train.add_argument("--config", metavar="FILE", help="JSON config file (see config keys below)")
    train.add_argument("--run-dir", metavar="DIR", required=True, help="run directory to write (created if needed)")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --run-dir from its newest complete checkpoint; without --config "
                            "or --preset, the config saved in its run.json is used")
    train.add_argument("--stop-on-stdin-close", action="store_true",
                       help="treat end of stdin as a stop command; a host that owns the trainer through a pipe "
                            "(the extension) passes it, so the trainer checkpoints and exits when the host dies")
    group = train.add_argument_group("config overrides (each config key as a flag; they win over the file)")
    for key in config_keys(schema):
        subschema = schema["properties"][key]
        group.add_argument(_flag(key), dest=f"override_{key}", metavar=_metavar(subschema),
                           default=argparse.SUPPRESS, help=_key_help(subschema))

    evaluate = commands.add_parser("eval", help="greedy two-pass evaluation of a model folder",
                                   description="Greedy two-pass evaluation (answer, then one correction pass) on "
                                               "the held-out split. Prints the MGRPO.md table; with --run-dir also "
                                               "writes eval/step-NNNNNN.json.")
    evaluate.add_argument("--model", metavar="PATH", help="model folder (a checkpoint folder works); default: the "
                                                          "config's model_name_or_path")
    evaluate.add_argument("--config", metavar="FILE", help="config for task, templates and phrases (default: demo)")
    evaluate.add_argument("--run-dir", metavar="DIR", help="also write DIR/eval/step-NNNNNN.json")
    evaluate.add_argument("--n", type=int, metavar="N", help="number of held-out problems (default: eval_size)")
    evaluate.add_argument("--step", type=int, metavar="N",
                          help="step number for the eval file (default: the checkpoint's step, else 0)")
    evaluate.add_argument("--samples", type=int, metavar="K", default=None,
                          help="also report sampled accuracy over K samples per problem (default: eval_num_samples)")
    evaluate.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None, help="override the config's device")
    evaluate.add_argument("--json", action="store_true", help="print the evaluation result as JSON instead of a table")

    validate = commands.add_parser("validate-config", help="check a config file and print the resolved config",
                                   description="Validate a config file against schemas/config.schema.json and print "
                                               "the fully resolved config (defaults and preset filled in) as JSON.")
    validate.add_argument("file", metavar="FILE")
    validate.add_argument("--preset", choices=sorted(PRESETS), default=None, help="preset to resolve against")

    values = commands.add_parser(
        "step-values", help="Monte-Carlo values of rollout steps, cached in the run folder",
        description="For each record of a step (or one record): from the prompt plus the completion cut after each "
                    "step, draw K continuations with a checkpoint and verify them; a step's value is the fraction "
                    "right, the largest drop marks the likely error. Appends to RUN/step-values/ and prints one "
                    "JSON line per record on stdout (progress on stderr). Deterministic with --seed.")
    values.add_argument("--run-dir", metavar="DIR", required=True)
    values.add_argument("--step", type=int, metavar="N", required=True, help="training step of the records")
    values.add_argument("--sample", metavar="ID", help="one record id (default: every record of the step)")
    values.add_argument("--checkpoint", metavar="DIR",
                        help="model folder to draw with (default: the run's newest checkpoint)")
    values.add_argument("-k", type=int, default=8, metavar="K", help="continuations per step prefix (default 8)")
    values.add_argument("--seed", type=int, default=0, metavar="S", help="sampling seed (default 0)")
    values.add_argument("--temperature", type=float, default=None, help="default: the run's temperature")
    values.add_argument("--max-completion-length", type=int, default=None, metavar="N",
                        help="default: the run's max_completion_length")
    values.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None, help="default: the run's device")

    export = commands.add_parser(
        "export-step-labels", help="step labels as JSON lines for PRM training",
        description="Writes one solution per line in TRL's stepwise-supervision layout (prompt, completions, "
                    "labels) plus label_sources. Sources: implicit (layer-2 first departures from wrong first "
                    "answers that a correction fixed), checker (the step checker's labels), value (cached step "
                    "values). Prints a JSON summary; for implicit labels on a checked run, their precision and "
                    "recall of wrong steps against the checker.")
    export.add_argument("--run-dir", metavar="DIR", required=True)
    export.add_argument("--to", metavar="FILE", required=True, help="JSON-lines file to write (replaced)")
    export.add_argument("--source", choices=["implicit", "checker", "value"], default="implicit")

    onnx_export = commands.add_parser(
        "export-onnx", help="a checkpoint as ONNX with a KV cache, for the editor's local runtime",
        description="Writes model.onnx (past_key_values.N.key/value in, present.N.key/value out, dynamic batch), "
                    "the tokenizer files and onnx-manifest.json (checkpoint, weight hashes, vocabulary, special "
                    "tokens, PyTorch parity numbers). The extension's Score Trace and What If commands run it.")
    onnx_export.add_argument("--checkpoint", metavar="DIR", required=True, help="model or checkpoint folder")
    onnx_export.add_argument("--out", metavar="DIR", help="export folder (default: CHECKPOINT/onnx)")

    serve_parser = commands.add_parser(
        "serve", help="answer the editor's score/sample requests with PyTorch (JSON lines on stdin/stdout)",
        description="The PyTorch backend of the extension's Score Trace and What If, for checkpoints too big for "
                    "its local ONNX runtime: the protocol of extension/src/onnx/protocol.ts, one JSON object per "
                    "line. End of stdin ends it.")
    serve_parser.add_argument("--checkpoint", metavar="DIR", required=True, help="model or checkpoint folder")
    serve_parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")

    verify_parser = commands.add_parser(
        "verify", help="judge completions with a task's verifier (JSON lines on stdin/stdout)",
        description='Reads {"completion": ..., "ground_truth": ...} per line on stdin and writes {"reward", '
                    '"parsed_answer", "correct"} per line on stdout, in order: the extension\'s What If judges '
                    'corrections of a JSON-lines task with math-verify this way. A line that is not such an object '
                    'gets {"error": ...} and reading goes on.')
    verify_parser.add_argument("--verifier", choices=["exact", "math"], default="exact",
                               help="exact: the chain task's verifier; math: math-verify, as task jsonl (default exact)")
    verify_parser.add_argument("--timeout", type=float, default=5.0, help="math: seconds per answer (default 5)")

    from .importers.command import add_import_parser  # no torch import: the importers stay fast to start

    add_import_parser(commands)
    return parser


def _overrides(args: argparse.Namespace) -> dict:
    schema = load_schema()
    values = {}
    for name, text in vars(args).items():
        if name.startswith("override_"):
            key = name[len("override_"):]
            values[key] = parse_override(key, text, schema)
    return values


def setup_logging(run_dir: Path | None = None) -> None:
    logger = logging.getLogger("mgrpo")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
    if not any(isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    if run_dir is not None:
        file_handler = logging.FileHandler(run_dir / "trainer.log", encoding="utf-8")
        file_handler.setFormatter(formatter)
        logger.addHandler(file_handler)
    logging.captureWarnings(True)


def _config_error(error: ConfigError, out=None) -> int:
    print(f"error: {error}", file=sys.stderr)
    emit_error_event(str(error), out)
    return EXIT_USAGE


def cmd_train(args: argparse.Namespace) -> int:
    from .protocol import Protocol

    # From here on stdout carries only protocol events; anything else printed lands on stderr.
    protocol = Protocol.take_stdout()
    run_dir = Path(args.run_dir)
    try:
        overrides = _overrides(args)
        base = None
        manifest_path = run_dir / "run.json"
        if args.resume and args.config is None and "preset" not in overrides and manifest_path.exists():
            base = json.loads(manifest_path.read_text(encoding="utf-8")).get("config")
        config = resolve_config(args.config, overrides, base=base, base_source=str(manifest_path))
    except ConfigError as error:
        return _config_error(error, protocol._out)

    from .distributed import exit_worker, launched_by_torchrun
    from .policy import quiet_transformers
    from .trainer import Trainer, UsageError

    quiet_transformers()
    run_dir.mkdir(parents=True, exist_ok=True)
    main_rank = int(os.environ.get("RANK", "0")) == 0
    setup_logging(run_dir if main_rank else None)
    if main_rank:  # under torchrun every rank inherits the one stdin: a command read by another rank would be lost
        protocol.start_reading(stop_on_close=args.stop_on_stdin_close)
    protocol.install_signal_handlers()
    try:
        code = Trainer(config, run_dir, protocol, resume=args.resume).run()
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        protocol.error(str(error))
        code = EXIT_USAGE
    if launched_by_torchrun():
        exit_worker(code)
    return code


def cmd_eval(args: argparse.Namespace) -> int:
    overrides = {}
    if args.model:
        overrides["model_name_or_path"] = str(Path(args.model).resolve()) if Path(args.model).exists() else args.model
    if args.device:
        overrides["device"] = args.device
    base = None
    manifest_path = Path(args.run_dir) / "run.json" if args.run_dir else None
    if args.config is None and manifest_path is not None and manifest_path.is_file():
        # Evaluating a run's checkpoint: use that run's task, templates and phrases.
        base = json.loads(manifest_path.read_text(encoding="utf-8")).get("config")
    try:
        config = resolve_config(args.config, overrides, preset=None if args.config or base else "demo", base=base,
                                base_source=str(manifest_path))
    except ConfigError as error:
        return _config_error(error)

    from .evaluate import evaluate
    from .metrics import format_step_truth, format_table
    from .policy import PolicyLoadError, load_policy, quiet_transformers, select_device, stop_token_ids
    from .runlog import RunWriter
    from .steps import StepLabeller
    from .trainer import build_task

    quiet_transformers()
    setup_logging()
    if config["num_threads"]:
        import torch

        torch.set_num_threads(config["num_threads"])
    try:
        device = select_device(config["device"])
        model, tokenizer = load_policy(config["model_name_or_path"], device, config["dtype"])
    except PolicyLoadError as error:
        print(f"error: {error}", file=sys.stderr)
        emit_error_event(str(error))
        return EXIT_USAGE
    step = args.step
    state_file = Path(config["model_name_or_path"]) / "state.json"
    if step is None:
        step = json.loads(state_file.read_text(encoding="utf-8"))["step"] if state_file.is_file() else 0
    n = args.n if args.n is not None else config["eval_size"]
    samples = args.samples if args.samples is not None else config["eval_num_samples"]
    from .prompts import PromptBuilder, wants_chat

    try:  # a missing data set, an impossible --n, a chat_template the tokenizer lacks: the user's to fix
        task = build_task(config)
        problems = task.eval_problems(n)
        builder = PromptBuilder(tokenizer, config["layer1_template"], config["layer2_template"],
                                chat=wants_chat(config["chat_template"], tokenizer))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        emit_error_event(str(error))
        return EXIT_USAGE
    try:
        step_labeller = StepLabeller.for_config(config)
    except ValueError as error:
        return _config_error(ConfigError("step_checker", config["step_checker"], str(error)))
    result = evaluate(model, tokenizer, problems, step=step, layer1_template=config["layer1_template"],
                      layer2_template=config["layer2_template"], guiding_phrases=config["guiding_phrases"],
                      max_completion_length=config["max_completion_length"],
                      max_prompt_length=config["max_prompt_length"], stop_ids=stop_token_ids(model, tokenizer),
                      batch_size=config["generation_batch_size"], num_samples=samples,
                      temperature=config["temperature"], top_p=config["top_p"], seed=config["seed"],
                      step_labeller=step_labeller, prompt_builder=builder, verifier=task.verify)
    if args.run_dir:
        path = RunWriter(args.run_dir).write_eval(step, result)
        print(f"wrote {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(format_table(result["metrics"], title=f"{config['model_name_or_path']} (step {step}, greedy, n={n})"))
        if result.get("step_truth"):
            print(format_step_truth(result["step_truth"]))
        if result["sampled_accuracy"] is not None:
            print(f"sampled accuracy (k={samples}, temperature {config['temperature']}): "
                  f"{100 * result['sampled_accuracy']:.1f}")
    return EXIT_OK


def _usage_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    emit_error_event(message)
    return EXIT_USAGE


def cmd_step_values(args: argparse.Namespace) -> int:
    from .policy import PolicyLoadError, load_policy, quiet_transformers, select_device, stop_token_ids
    from .runlog import read_run
    from .step_values import ValueSettings, records_to_value, step_values_for_run

    run_dir = Path(args.run_dir)
    try:
        run = read_run(run_dir)
        records = records_to_value(run, args.step, args.sample)
    except FileNotFoundError:
        return _usage_error(f"{run_dir} is not a run folder (no run.json)")
    except ValueError as error:
        return _usage_error(str(error))
    config = run["manifest"].get("config", {})
    checkpoint = args.checkpoint or run["manifest"].get("last_checkpoint")
    if not checkpoint:
        return _usage_error("the run has no checkpoint yet; pass --checkpoint DIR")
    checkpoint = Path(checkpoint) if args.checkpoint else run_dir / checkpoint
    try:
        settings = ValueSettings(
            k=args.k, seed=args.seed,
            temperature=args.temperature if args.temperature is not None else float(config.get("temperature", 1.0)),
            top_p=float(config.get("top_p", 1.0)),
            max_completion_length=args.max_completion_length or int(config.get("max_completion_length", 64)),
            max_prompt_length=config.get("max_prompt_length"), batch_size=config.get("generation_batch_size"))
    except ValueError as error:
        return _usage_error(str(error))
    quiet_transformers()
    setup_logging()
    try:
        device = select_device(args.device or config.get("device", "auto"))
        model, tokenizer = load_policy(str(checkpoint), device, config.get("dtype", "auto"))
    except PolicyLoadError as error:
        return _usage_error(str(error))

    def progress(done: int, total: int, record_id: str, cached: bool) -> None:
        print(f"step-values: {done}/{total} {record_id}{' (cached)' if cached else ''}", file=sys.stderr, flush=True)

    for line in step_values_for_run(run_dir, run, records, model, tokenizer, settings, checkpoint,
                                    stop_ids=stop_token_ids(model, tokenizer), progress=progress):
        print(json.dumps(line, ensure_ascii=False), flush=True)
    return EXIT_OK


def cmd_export_step_labels(args: argparse.Namespace) -> int:
    from .prm_export import export_step_labels

    try:
        summary = export_step_labels(args.run_dir, args.to, args.source)
    except FileNotFoundError:
        return _usage_error(f"{args.run_dir} is not a run folder (no run.json)")
    except ValueError as error:
        return _usage_error(str(error))
    print(json.dumps(summary))
    return EXIT_OK


def cmd_export_onnx(args: argparse.Namespace) -> int:
    from .export_onnx import ExportError, export_onnx

    setup_logging()
    try:
        manifest = export_onnx(args.checkpoint, args.out)
    except ExportError as error:
        return _usage_error(str(error))
    print(json.dumps({key: manifest[key] for key in ("checkpoint", "weights_sha256", "vocab_size", "num_layers")}))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .policy import PolicyLoadError
    from .serve import serve

    setup_logging()
    try:
        serve(args.checkpoint, device=args.device)
    except PolicyLoadError as error:
        return _usage_error(str(error))
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        config = resolve_config(args.file, preset=args.preset)
    except ConfigError as error:
        return _config_error(error)
    model = config["model_name_or_path"]
    if model and not Path(model).exists():
        print(f"note: model_name_or_path {model!r} is not a local folder; it must be in the local Hugging Face "
              f"cache to train", file=sys.stderr)
    print(json.dumps(config, indent=2, ensure_ascii=False))
    print(f"{args.file}: valid", file=sys.stderr)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from .task import verify

    judge = verify
    if args.verifier == "math":
        from .verify_math import MathVerifier

        judge = MathVerifier(timeout_seconds=args.timeout)
    try:
        for number, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                completion, ground_truth = item["completion"], item["ground_truth"]
                if not isinstance(completion, str) or not isinstance(ground_truth, str):
                    raise TypeError("completion and ground_truth must be strings")
            except (ValueError, KeyError, TypeError) as error:
                print(json.dumps({"error": f"stdin line {number}: {type(error).__name__}: {error}"}), flush=True)
                continue
            verdict = judge(completion, ground_truth)
            print(json.dumps({"reward": verdict.reward, "parsed_answer": verdict.parsed_answer,
                              "correct": verdict.correct}, ensure_ascii=False), flush=True)
    finally:
        if args.verifier == "math":
            judge.close()
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    # OpenMP threads that spin while waiting make PyTorch many times slower when the CPU is shared (VS Code,
    # a test run, other work); passive waiting costs almost nothing when it is not. Must precede torch's import.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.command == "import":
        from .importers.command import cmd_import

        return cmd_import(args)
    handlers = {"train": cmd_train, "eval": cmd_eval, "validate-config": cmd_validate,
                "step-values": cmd_step_values, "export-step-labels": cmd_export_step_labels,
                "export-onnx": cmd_export_onnx, "serve": cmd_serve, "verify": cmd_verify}
    return handlers[args.command](args)
