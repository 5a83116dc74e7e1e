"""The progress of an import on a stream, as ``done/total`` notifications with a bar.

On a terminal it is a :class:`rich.progress.Progress`. Any other stream (a pipe, a log file) and
a dumb terminal get the plain text they got before rich, ``\\r[#####.....] 5000/10000
notifications``: rich would write only the last frame there, and what captures standard error (a
cron log, the command's tests) reads this format.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn


class ProgressBar:
    """A progress bar on ``stream``, redrawn at most ``per_second`` times a second; call it with
    ``(done, total)``. :meth:`finish` ends it and may be called again, or before any call."""

    def __init__(
        self,
        stream: TextIO,
        noun: str,
        *,
        width: int = 30,
        per_second: float = 10.0,
        clock: Callable[[], float] = time.monotonic,  # paces the plain text; rich paces itself
    ) -> None:
        self._stream = stream
        self._noun = noun
        self._width = width
        self._interval = 1.0 / per_second
        self._clock = clock
        self._drawn_at: float | None = None
        self._rich: Progress | None = None
        self._task: TaskID | None = None
        console = Console(file=stream)
        # Rich only where it can redraw: its is_interactive alone would also take a pipe when
        # FORCE_COLOR is set, and a dumb terminal would get just the last frame.
        if stream.isatty() and console.is_interactive:
            self._rich = Progress(
                BarColumn(bar_width=width),
                MofNCompleteColumn(),
                TextColumn("{task.description}", markup=False),
                console=console,
                refresh_per_second=per_second,
                # Drawing on its own stream, it has no business replacing sys.stdout and stderr.
                redirect_stdout=False,
                redirect_stderr=False,
            )
        self.done = 0
        self.started = False

    def __call__(self, done: int, total: int) -> None:
        self.done = done
        self.started = True
        if self._rich is None:
            self._write(done, total)
            return
        if self._task is None:
            self._task = self._rich.add_task(self._noun, total=total)
            self._rich.start()
        self._rich.update(self._task, completed=done, total=total)

    def _write(self, done: int, total: int) -> None:
        now = self._clock()
        finished = done >= total
        if not finished and self._drawn_at is not None and now - self._drawn_at < self._interval:
            return
        self._drawn_at = now
        filled = self._width * done // total if total else self._width
        bar = "#" * filled + "." * (self._width - filled)
        self._stream.write(f"\r[{bar}] {done}/{total} {self._noun}")
        self._stream.flush()

    def finish(self) -> None:
        if self._rich is not None:
            self._rich.stop()  # does nothing if not started or stopped already
        if self._drawn_at is not None:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn_at = None
