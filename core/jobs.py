"""Queueing a background job by its registered name.

A service that must start a job after its transaction commits (send a notification, recompute
deadlines) names the task instead of importing its app's `tasks` module: that module imports
the services, so the import would close a loop. Each app's `AppConfig.ready()` imports its
`tasks` module, which registers the tasks in every process (web, worker, beat, tests).
"""

from celery import current_app


def enqueue(task_name: str, *args: object, countdown: float | None = None) -> None:
    """Queue the task (run at once when `task_always_eager` is set, as in the tests), to start
    `countdown` seconds from now if given. Raises what the broker raises when it cannot be
    reached: the caller decides what that means."""
    task = current_app.tasks[task_name]
    if countdown is None:
        task.delay(*args)
    else:
        task.apply_async(args, countdown=countdown)
