"""MGRPO trainer: multi-layer GRPO (first answers, then self-corrections) with debuggable rollouts.

The run-directory format and the trainer protocol are defined in ``trainer/RUN_FORMAT.md`` and
``mgrpo/schemas/run-format.schema.json``.
"""

__version__ = "0.1.0"
