"""A process-reward data set from a run: step labels as JSON lines in TRL's stepwise-supervision layout.

One row per solution, the layout TRL's PRMTrainer reads (``{"prompt", "completions": [step, ...], "labels":
[bool, ...]}``), plus ``label_sources`` (one per label), ``id`` and ``question_id``. Labels come from:

- ``checker``: the step checker's labels in the records (right -> true, wrong -> false). The row is cut
  before the first unchecked step, since a step without a label cannot be written as a bool.
- ``value``: cached Monte-Carlo step values (step-values/): true when some continuation from the step
  reached the right answer (Math-Shepherd's hard label, value > 0).
- ``implicit``: layer-2 departures (MGRPO's implicit process supervision). A wrong first answer that a
  correction turned right is labelled by its corrections' first departure (metrics.departure_position): the
  steps before it true, the departed step false, the row cut there (later steps are unlabelled). With several
  fixing corrections the earliest departure counts: every fixing correction kept the steps before it.

``implicit_vs_checker`` measures how well implicit labels find wrong steps, against the checker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .metrics import departure_position, step_texts
from .runlog import dumps_line, read_run

SOURCES = ("implicit", "checker", "value")


def _all_records(run: dict) -> list[dict]:
    return [record for step in sorted(run["rollouts"]) for record in run["rollouts"][step]]


def _step_strings(record: dict) -> list[str]:
    """The steps' text as written (not normalized): what a PRM reads."""
    return [record["completion"][span["start"]:span["end"]] for span in record["steps"]]


def _row(record: dict, labels: list[bool], source: str) -> dict:
    return {"id": record["id"], "question_id": record["question_id"], "prompt": record["prompt"],
            "completions": _step_strings(record)[:len(labels)], "labels": labels,
            "label_sources": [source] * len(labels)}


def checker_rows(records: Iterable[dict]) -> Iterator[dict]:
    for record in records:
        labels = []
        for item in record.get("step_labels") or []:
            if item["label"] == "unchecked":
                break
            labels.append(item["label"] == "right")
        if labels:
            yield _row(record, labels, "checker")


def value_rows(records: Iterable[dict], step_values: dict[str, list[dict]]) -> Iterator[dict]:
    for record in records:
        estimates = step_values.get(record["id"])
        if estimates:
            values = estimates[-1]["values"][:len(record["steps"])]  # the newest estimate
            if values:
                yield _row(record, [value > 0 for value in values], "value")


def implicit_labels(parent: dict, corrections: Iterable[dict]) -> list[bool] | None:
    """Labels of a wrong first answer's steps from its wrong -> right corrections, or None when none fixed it
    (or none departed from it)."""
    if parent["correct"]:
        return None
    parent_steps = step_texts(parent["completion"], parent["steps"])
    departures = [departure_position(parent_steps, step_texts(c["completion"], c["steps"]))
                  for c in corrections if c["correct"]]
    departures = [position for position in departures if position is not None]
    if not departures:
        return None
    departure = min(departures)
    labels = [True] * min(departure, len(parent_steps))
    if departure < len(parent_steps):
        labels.append(False)
    return labels


def implicit_rows(records: list[dict]) -> Iterator[dict]:
    corrections: dict[str, list[dict]] = {}
    for record in records:
        if record["layer"] == 2 and record["parent_id"]:
            corrections.setdefault(record["parent_id"], []).append(record)
    for record in records:
        if record["layer"] == 1:
            labels = implicit_labels(record, corrections.get(record["id"], []))
            if labels:
                yield _row(record, labels, "implicit")


def export_rows(run: dict, source: str = "implicit") -> list[dict]:
    """The rows of ``run`` (runlog.read_run) for one label source."""
    records = _all_records(run)
    if source == "checker":
        return list(checker_rows(records))
    if source == "value":
        return list(value_rows(records, run.get("step_values", {})))
    if source == "implicit":
        return list(implicit_rows(records))
    raise ValueError(f"label source must be one of {', '.join(SOURCES)}, got {source!r}")


@dataclass
class WrongStepAgreement:
    """Implicit "this step is wrong" against the checker, over steps both label (checker: right or wrong)."""

    rows: int = 0
    true_positive: int = 0   # implicit wrong, checker wrong
    false_positive: int = 0  # implicit wrong, checker right
    false_negative: int = 0  # implicit right, checker wrong
    true_negative: int = 0

    @property
    def precision(self) -> float | None:
        flagged = self.true_positive + self.false_positive
        return self.true_positive / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        wrong = self.true_positive + self.false_negative
        return self.true_positive / wrong if wrong else None

    def as_dict(self) -> dict:
        return {"rows": self.rows, "true_positive": self.true_positive, "false_positive": self.false_positive,
                "false_negative": self.false_negative, "true_negative": self.true_negative,
                "precision": self.precision, "recall": self.recall}


def implicit_vs_checker(records: list[dict]) -> WrongStepAgreement:
    """Precision and recall of the implicit labels' "this step is wrong" against the checker's labels, over the
    steps an implicit row labels (for the learning benchmark)."""
    by_id = {record["id"]: record for record in records}
    agreement = WrongStepAgreement()
    for row in implicit_rows(records):
        checker = by_id[row["id"]].get("step_labels")
        if checker is None:
            continue
        agreement.rows += 1
        for implicit_right, truth in zip(row["labels"], checker):
            if truth["label"] == "unchecked":
                continue
            checker_wrong = truth["label"] == "wrong"
            if not implicit_right and checker_wrong:
                agreement.true_positive += 1
            elif not implicit_right:
                agreement.false_positive += 1
            elif checker_wrong:
                agreement.false_negative += 1
            else:
                agreement.true_negative += 1
    return agreement


def export_step_labels(run_dir: str | Path, to: str | Path, source: str = "implicit") -> dict:
    """Write the rows of one label source to ``to`` (JSON lines, replaced whole). Returns a summary: rows
    written, and for implicit labels on a run with checker labels, their agreement with the checker."""
    run = read_run(run_dir)
    rows = export_rows(run, source)
    path = Path(to)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(dumps_line(row) for row in rows), encoding="utf-8")
    summary = {"rows": len(rows), "source": source, "path": str(path)}
    records = _all_records(run)
    if source == "implicit" and any(record.get("step_labels") is not None for record in records):
        summary["implicit_vs_checker"] = implicit_vs_checker(records).as_dict()
    return summary
