"""Measuring a process from the outside: peak resident memory, sampled in a thread."""

from __future__ import annotations

import contextlib
import threading

import psutil


class PeakRss:
    """`with PeakRss(process) as rss:` … `rss.peak`, `rss.baseline` (bytes)."""

    def __init__(self, process: psutil.Process | None = None, *, every_s: float = 0.005) -> None:
        self._process = process or psutil.Process()
        self._every_s = every_s
        self.baseline = self._process.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            with contextlib.suppress(psutil.Error):  # the process may be exiting
                self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
