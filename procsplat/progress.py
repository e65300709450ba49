"""Progress of long stages: a rich bar on a terminal, plain lines when output goes to a file.

A cluster job or `procsplat train > log.txt` gets one line every `interval` seconds (and one at
the end) instead of a bar that redraws into nothing, e.g.
`train: 120/250 (48 %), 61 s, ~66 s left, loss 0.0412`.
"""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class Progress:
    def __init__(self, label: str, total: int, done: int = 0, enabled: bool = True,
                 stream: Optional[TextIO] = None, interval: float = 10.0, tty: Optional[bool] = None):
        self.label, self.total, self.done = label, int(total), int(done)
        self.stream = sys.stdout if stream is None else stream
        self.interval = interval
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)()) if tty is None else tty
        self._start = time.monotonic()
        self._first = self.done
        self._last_line = self._start
        self._bar = self._task = None
        self.fields: dict = {}

    def __enter__(self) -> "Progress":
        if self.enabled and self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, Progress as Bar, TextColumn, TimeRemainingColumn

            self._bar = Bar(TextColumn(f"[bold]{self.label}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                            TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
                            console=Console(file=self.stream))
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=self.total, completed=self.done, info="")
        return self

    def update(self, done: int, total: Optional[int] = None, **fields) -> None:
        """`done` of the total so far; a new `total` when the work grows as it is discovered (a batch
        learns a scene's objects once it has opened it)."""
        self.done = int(done)
        if total is not None:
            self.total = int(total)
        self.fields.update(fields)
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, total=self.total, info=self._info())
            return
        now = time.monotonic()
        if now - self._last_line >= self.interval or self.done >= self.total:
            self._last_line = now
            self.stream.write(self.line(now) + "\n")
            self.stream.flush()

    def _info(self) -> str:
        return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in self.fields.items())

    def line(self, now: Optional[float] = None) -> str:
        now = time.monotonic() if now is None else now
        elapsed = now - self._start
        pct = 100.0 * self.done / max(self.total, 1)
        text = f"{self.label}: {self.done}/{self.total} ({pct:.0f} %), {elapsed:.0f} s"
        rate = (self.done - self._first) / elapsed if elapsed > 0 else 0.0
        if 0 < self.done < self.total and rate > 0:
            text += f", ~{(self.total - self.done) / rate:.0f} s left"
        info = self._info()
        return text + (f", {info}" if info else "")

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
