"""What every trainer benchmark shares: paths, the machine description, and writing a results page.

Benchmarks print their figures and write them as markdown into ``bench/results/`` so a reader sees them
without running anything. Each page starts with the same header (date, machine, torch, threads, seed,
command) so figures from different machines are never mistaken for each other.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import statistics
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# BENCH_TRAINER_DIR runs the benchmarks on a frozen copy of the trainer (e.g. `git archive HEAD trainer`
# unpacked under bench/out/), so a long study is not changed half-way by edits to the checkout.
TRAINER_DIR = Path(os.environ.get("BENCH_TRAINER_DIR") or REPO_ROOT / "trainer").resolve()
RESULTS_DIR = REPO_ROOT / "bench" / "results"
OUT_DIR = REPO_ROOT / "bench" / "out"  # git-ignored scratch: run directories, saved peer models
SHIPPED_MODEL = TRAINER_DIR / "models" / "mgrpo-demo-tiny"


def trainer_version() -> str:
    """Which trainer code ran: the checkout's HEAD commit (and whether it had uncommitted changes under
    trainer/), or the commit named in a frozen copy's COMMIT file next to it."""
    import subprocess

    marker = TRAINER_DIR.parent / "COMMIT"
    if marker.is_file():
        return f"{marker.read_text(encoding='utf-8').strip()} (frozen copy in {display_path(TRAINER_DIR)})"
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, text=True, capture_output=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "trainer"], cwd=REPO_ROOT, text=True,
                               capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with uncommitted changes under trainer/" if dirty else "")

# The benchmarks import the trainer package from the checkout, like the tests do.
if str(TRAINER_DIR) not in sys.path:
    sys.path.insert(0, str(TRAINER_DIR))


def quick_mode() -> bool:
    """BENCH_QUICK=1 shrinks every benchmark to a smoke run (figures are then not meaningful)."""
    return os.environ.get("BENCH_QUICK", "") not in ("", "0", "false", "no")


def bench_threads() -> int:
    """Torch threads for every benchmark process: BENCH_THREADS, default 1.

    Why 1: on this 2-core machine, shared with other work, a forward+backward of the demo model measured
    0.6-0.9 s with 1 thread and 2.5-8.7 s with 2 (OpenMP threads spin-waiting on a busy core). One thread
    gives figures that are stable and comparable between runs; set BENCH_THREADS=2 on an idle machine to
    measure both cores."""
    text = os.environ.get("BENCH_THREADS", "1")
    try:
        threads = int(text)
    except ValueError:
        raise SystemExit(f"BENCH_THREADS must be a positive integer, got {text!r}") from None
    if threads < 1:
        raise SystemExit(f"BENCH_THREADS must be a positive integer, got {text!r}")
    return threads


def apply_threads() -> int:
    """Use ``bench_threads()`` here and in every child process (trainer runs, the TRL peer)."""
    import torch

    threads = bench_threads()
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["MKL_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
    return threads


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_description() -> dict[str, str]:
    import torch

    return {
        "cpu": cpu_model(),
        "nproc": str(os.cpu_count()),
        "torch": torch.__version__,
        "torch threads": str(torch.get_num_threads()),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def command_line() -> str:
    """The command that reproduces this run, relative to the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script_text = str(script.relative_to(REPO_ROOT))
    except ValueError:
        script_text = str(script)
    prefix = "BENCH_QUICK=1 " if quick_mode() else ""
    return prefix + " ".join([".venv/bin/python", shlex.quote(script_text), *map(shlex.quote, sys.argv[1:])])


def header_lines(title: str, seed: int | None, extra: dict[str, str] | None = None) -> list[str]:
    machine = machine_description()
    lines = [
        f"# {title}",
        "",
        f"- Date: {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- Machine: {machine['cpu']}, nproc {machine['nproc']}, {machine['platform']}",
        f"- torch {machine['torch']} ({machine['torch threads']} threads, BENCH_THREADS), Python {machine['python']}",
        f"- Load average at the start (1, 5, 15 min): {START_LOAD}",
    ]
    if seed is not None:
        lines.append(f"- Seed: {seed}")
    for key, value in (extra or {}).items():
        lines.append(f"- {key}: {value}")
    lines.append(f"- Command: `{command_line()}`")
    if quick_mode():
        lines.append("- **Quick mode (BENCH_QUICK=1): a smoke run; the figures below are not meaningful.**")
    lines.append("")
    return lines


def markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def write_results(name: str, lines: list[str]) -> Path:
    """Write ``bench/results/<name>.md``; quick runs go to ``bench/out/`` so they never overwrite real figures."""
    folder = OUT_DIR / "results-quick" if quick_mode() else RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return path


def median(values: list[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    return statistics.median(values)


def fmt_seconds(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    if seconds >= 10:
        return f"{seconds:.0f} s"
    return f"{seconds:.2f} s"


def fmt_percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def model_description(path: str | Path) -> str:
    """The model folder and a fingerprint of its weights, so a page is tied to the exact checkpoint it measured
    (the shipped model can be rebuilt, and then these figures are stale)."""
    import hashlib

    weights = sorted(Path(path).glob("*.safetensors"))
    digest = hashlib.sha256()
    for weight_file in weights:
        digest.update(weight_file.read_bytes())
    fingerprint = f", weights sha256 {digest.hexdigest()[:12]}" if weights else ""
    return f"`{display_path(path)}`{fingerprint}"


def display_path(path: str | Path) -> str:
    """A path relative to the repository root when it is inside it (results pages stay machine-neutral)."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


# Read when the benchmark starts, before its own work loads the machine.
START_LOAD = load_average()
