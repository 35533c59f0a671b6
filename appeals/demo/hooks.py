"""How the apps above appeals (leads, reports) add to the demo: receivers of these signals,
connected in their AppConfig.ready(), since appeals may not import them (tests/test_layout.py).
They are told after the city and its appeals are built, and before the demo is deleted."""

from django.dispatch import Signal

# Sent with city= (appeals.demo.City), limit= (the latest simulated moment) and out= (progress).
demo_built = Signal()
# Sent with users= (the demo's logins) before their appeals and accounts are deleted.
demo_deleting = Signal()
