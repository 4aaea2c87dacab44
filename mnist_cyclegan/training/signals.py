"""Ctrl-C and SIGTERM as a flag the training loop reads between steps, so it can save first."""

from __future__ import annotations

import signal


class StopSignal:
    """Turns SIGINT/SIGTERM into `received` while inside `with`, then restores the handlers."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.previous: dict[int, object] = {}

    def __enter__(self) -> StopSignal:
        for number in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[number] = signal.signal(number, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, number: int, frame) -> None:
        self.received = number

    def __exit__(self, *exc) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    @property
    def name(self) -> str:
        return signal.Signals(self.received or signal.SIGTERM).name
