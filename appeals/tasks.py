"""Celery tasks of the appeals app. Each takes ids, calls one service, and is safe to run twice."""
