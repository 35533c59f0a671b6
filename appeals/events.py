"""Workflow events, for the apps built on top of appeals.

`appeals` never imports the apps that depend on it (the sla app keeps its clocks in step with
the loop). Instead each registers a listener in its AppConfig.ready(), and every timeline event
recorded by a service is passed to every listener, in the same transaction, so a clock can never
disagree with the appeal it measures.
"""

from collections.abc import Callable
from typing import Any

Listener = Callable[[Any, dict], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def emit(event, context: dict) -> None:
    for listener in _listeners:
        listener(event, context)


# What the apps built on appeals add to a freshly built demo (appeals.demo): reports writes a
# month of the board's daily snapshots, so that its 30-day trend is not empty. Each finisher is
# called as finisher(now=…, out=…) once the demo's appeals are all played, in the same
# transaction; `now` is the simulated present, `out` takes progress lines.
_demo_finishers: list[Callable[..., None]] = []


def listen_demo_built(finisher: Callable[..., None]) -> None:
    if finisher not in _demo_finishers:
        _demo_finishers.append(finisher)


def demo_built(*, now, out) -> None:
    for finisher in _demo_finishers:
        finisher(now=now, out=out)
