"""The trainer's conversation with its host (trainer/RUN_FORMAT.md, "Protocol").

- Events: one JSON object per line on stdout, flushed. To keep stdout clean even when a library prints,
  ``Protocol.take_stdout()`` keeps a private handle on the real stdout and points file descriptor 1 (and
  ``sys.stdout``) at stderr.
- Commands: JSON lines on stdin, read on a daemon thread into a queue; malformed ones produce a warning
  event. End of stdin is not a command, unless the host asks for it (``stop_on_close``): a host that
  owns the trainer through a pipe closes it when it dies, however it dies, and the trainer then stops.
- SIGTERM and SIGINT queue a "stop"; a second one exits at once (the run directory stays valid, since
  every file is written atomically or by whole lines).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import sys
import threading
from typing import Any, TextIO

COMMANDS = ("stop", "pause", "resume", "checkpoint")


class Protocol:
    def __init__(self, out: TextIO | None = None, enabled: bool = True):
        self._out = out if out is not None else sys.stdout
        self._lock = threading.Lock()
        self.enabled = enabled
        self.commands: "queue.Queue[str]" = queue.Queue()
        self._signals_seen = 0
        self._reader: threading.Thread | None = None
        # Set with every queued "stop" (command, signal, closed stdin) and never consumed: long work (generation,
        # evaluation) polls it between tokens to give up within seconds; the loop still reads the queue.
        self.stop_requested = threading.Event()

    @classmethod
    def take_stdout(cls) -> "Protocol":
        """A protocol that owns the process's real stdout; everything else written to stdout goes to stderr."""
        sys.stdout.flush()
        real_stdout = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        return cls(real_stdout)

    # events -----------------------------------------------------------------------------------------
    def emit(self, event: str, **fields: Any) -> None:
        if not self.enabled:
            return
        line = json.dumps({"event": event, **fields}, ensure_ascii=False, allow_nan=False)
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()

    def log(self, message: str, level: str = "info") -> None:
        self.emit("log", level=level, message=message)

    def warning(self, message: str) -> None:
        self.emit("warning", message=message)

    def error(self, message: str, detail: str | None = None) -> None:
        fields = {"message": message}
        if detail:
            fields["detail"] = detail
        self.emit("error", **fields)

    # commands ---------------------------------------------------------------------------------------
    def handle_line(self, line: str) -> None:
        """Parse one stdin line; queue a valid command, warn about anything else. Blank lines are ignored."""
        text = line.strip()
        if not text:
            return
        try:
            message = json.loads(text)
        except json.JSONDecodeError as error:
            self.warning(f"ignored malformed command (not JSON: {error.msg}): {text[:200]}")
            return
        if not isinstance(message, dict) or set(message) != {"command"} or message["command"] not in COMMANDS:
            self.warning(f'ignored malformed command {text[:200]}; expected {{"command": one of {", ".join(COMMANDS)}}}')
            return
        if message["command"] == "stop":
            self.stop_requested.set()
        self.commands.put(message["command"])

    def start_reading(self, stream: TextIO | None = None, stop_on_close: bool = False) -> None:
        stream = stream if stream is not None else sys.stdin
        if stream is None:
            return

        def read() -> None:
            try:
                for line in stream:
                    self.handle_line(line)
            except (OSError, ValueError):  # stdin closed under us: no more commands
                pass
            if stop_on_close:
                self.stop_requested.set()
                self.commands.put("stop")

        self._reader = threading.Thread(target=read, name="mgrpo-stdin", daemon=True)
        self._reader.start()

    def install_signal_handlers(self) -> None:
        def on_signal(signum, _frame) -> None:
            self._signals_seen += 1
            if self._signals_seen > 1:
                # A second signal: the user means it. Files already written stay valid.
                os._exit(128 + signum)
            self.stop_requested.set()
            self.commands.put("stop")

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def pending(self) -> list[str]:
        """Commands received since the last call, in order."""
        received = []
        while True:
            try:
                received.append(self.commands.get_nowait())
            except queue.Empty:
                return received

    def wait_command(self, timeout: float | None = None) -> str | None:
        try:
            return self.commands.get(timeout=timeout)
        except queue.Empty:
            return None
