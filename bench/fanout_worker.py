"""The fan-out's worker for bench/suite.py (`_sweep_beside_fan_out_worker`): what a Celery
worker on the notifications' queue does, without Celery's own overhead: it writes the
notifications of every fired escalation not yet notified (sla.escalations_notify, 500 at a
time) as they appear, and exits once the file named as its argument exists and nothing is left.
Prints "ready" when Django is set up, so that its start-up is not timed."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import suite  # sets the production environment and Django up

stop = Path(sys.argv[1])
print("ready", flush=True)
while True:
    stopping = stop.exists()  # read before the last pass: nothing fired after it is missed
    notified = suite._fan_out_inline()
    if stopping and not notified:
        break
    if not notified:
        time.sleep(0.02)
