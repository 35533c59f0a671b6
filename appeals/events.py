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
