"""``python -m mgrpo import SOURCE_DIR --to RUN_DIR [--from KIND] [--follow]``: the command-line face of the
importers. Stdout carries JSON-line events (``rollouts`` per step imported, then ``finished``), as the
trainer's protocol does; messages and counts of unreadable rows go to stderr. Exit 0 done, 2 usage error."""

from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = """\
Import another trainer's rollout folder into a run directory in MGRPO Lens's format (trainer/RUN_FORMAT.md),
so the extension shows its steps, groups, rewards and advantages. The source kind is detected:
  verl      {step}.jsonl                                 (trainer.rollout_data_dir)
  trl       completions/completions_{step:05d}.parquet   (GRPOConfig log_completions=True)
  nemo-rl   train_data_step{N}.jsonl                     (NeMo-RL log folder)
  prime-rl  rollouts/step_{N}/train/.../traces.jsonl     (prime-rl output folder)
What a source does not record (advantages, token log-probs, correctness, ...) stays null, and run.json's
source.absent_fields lists it. Re-running into the same --to folder rewrites it (idempotent).
With --follow it keeps polling and importing new steps until SIGTERM/SIGINT or the end of a piped stdin.
"""


def add_import_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser("import", help="import verl / TRL / NeMo-RL / prime-rl rollouts into a run folder",
                                 description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", metavar="SOURCE_DIR", help="the folder the other trainer wrote")
    parser.add_argument("--to", metavar="RUN_DIR", required=True, help="run directory to write (created if needed)")
    parser.add_argument("--from", dest="kind", choices=["verl", "trl", "nemo-rl", "prime-rl"], default=None,
                        help="source kind (default: detected from the files)")
    parser.add_argument("--follow", action="store_true", help="keep importing as the source grows (a live run)")
    parser.add_argument("--poll-seconds", type=float, default=2.0, metavar="S", help="--follow polling interval")
    parser.add_argument("--model", default=None, metavar="NAME",
                        help="the model the source trained, for run.json (its files do not say)")
    parser.add_argument("--group-size", type=int, default=None, metavar="N",
                        help="trl: the run's num_generations (groups are runs of N consecutive rows); "
                             "default: rows with the same prompt form a group")
    parser.add_argument("--reward-columns", default=None, metavar="A,B",
                        help="trl: the reward-function columns (default: every numeric column but step, advantage)")
    parser.add_argument("--tokenizer", default=None, metavar="DIR",
                        help="nemo-rl, prime-rl: a local tokenizer folder (or a model name already in the Hugging "
                             "Face cache; nothing is downloaded). nemo-rl: splits prompt and completion exactly by "
                             "token and gives token offsets for the log-probs. prime-rl: the sampling log-probs of "
                             "model messages (every turn), placed on the text by token")
    return parser


def cmd_import(args: argparse.Namespace) -> int:
    from . import ImportUsageError, RunImporter, SourceOptions, StopSignal, open_source

    if args.group_size is not None and args.group_size < 1:
        return _usage(f"--group-size must be at least 1, got {args.group_size}")
    if args.poll_seconds <= 0:
        return _usage(f"--poll-seconds must be positive, got {args.poll_seconds}")
    options = SourceOptions(group_size=args.group_size, tokenizer=args.tokenizer, model=args.model,
                            reward_columns=[name.strip() for name in args.reward_columns.split(",") if name.strip()]
                            if args.reward_columns else None)
    try:
        source = open_source(args.source, args.kind, options)
        source.tokenizer()  # a --tokenizer that loads nothing is said now, not after steps were written
        importer = RunImporter(source, args.to, events=sys.stdout)
    except ImportUsageError as error:
        return _usage(str(error))
    if args.tokenizer and not source.uses_tokenizer:
        print(f"mgrpo import: --tokenizer ignored: {source.kind} files hold no token ids", file=sys.stderr)
    print(f"mgrpo import: {source.kind} folder {source.root} -> {args.to}", file=sys.stderr)
    if args.follow:
        stop = StopSignal()
        status = importer.follow(poll_seconds=args.poll_seconds, should_stop=stop)
    else:
        importer.import_all()
        status = "finished"
    stats = importer.stats
    print(f"mgrpo import: {len(importer.metrics)} steps, {stats.rows} rows imported, {stats.unreadable} unreadable, "
          f"{stats.non_utf8_rows} with non-UTF-8 bytes, {stats.rewards_not_finite} rewards not finite; absent: "
          f"{', '.join(sorted(importer.absent)) or 'nothing'}", file=sys.stderr)
    last = max(importer.metrics, default=0)
    print(json.dumps({"event": "finished", "status": status, "step": last}), flush=True)
    return 0


def _usage(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    print(json.dumps({"event": "error", "message": message}), flush=True)
    return 2
