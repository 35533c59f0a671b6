"""A realistic 宣城市 for `manage.py demo_data`, so that a newcomer sees the platform working.

It builds the regions, departments (seed 004), categories and routing rules, demo logins (one
password for all), about 200 enterprises with valid credit codes, and a few hundred appeals in
every state of the loop. Appeals move only through `appeals.services`, each call made at a
simulated moment of the last ~60 days (time-machine), so timelines and history are real.

- `texts`: the Chinese text the generator draws from (names, problems, replies, comments);
- `city`: regions, departments, categories, routing rules, logins, enterprises;
- `stories`: each appeal's scenario, filer, filing time and text, and `StoryTime`;
- `replay`: playing the stories through the services;
- `reset`: deleting the demo again.
"""

import random
from datetime import timedelta

from django.utils import timezone

from appeals import events
from appeals.demo.city import MARKER_USERNAME, PASSWORD, City, build_city
from appeals.demo.replay import Replay
from appeals.demo.reset import demo_delete
from appeals.demo.stories import plan_stories
from appeals.services import notify

__all__ = ["MARKER_USERNAME", "PASSWORD", "City", "build_demo", "demo_delete"]

SEED = 20240620  # the date of seed 004's action plan


def build_demo(*, appeal_count: int, out) -> City:
    """Builds the city and plays `appeal_count` stories, writing progress lines to `out`.
    The same demo every time: the generators start from a fixed seed."""
    # Two generators: how many draws the story times make depends on the weekday and hour the
    # command runs, and that must not change which enterprises and stories are drawn.
    rng = random.Random(SEED)  # a repeatable demo, not a secret
    time_rng = random.Random(SEED + 1)
    limit = timezone.now() - timedelta(minutes=5)  # never simulate past the real now
    # The services notify as they go. This is past history: its notifications are recorded as
    # delivered then, and nothing is queued for sending now.
    with notify.replaying():
        city = build_city(rng=rng, limit=limit)
        out.write(
            f"已建立 {len(city.regions)} 个区划、{len(city.departments)} 个单位、"
            f"{len(city.categories)} 个诉求分类、{len(city.enterprises)} 家企业。"
        )
        stories = plan_stories(
            city=city, count=appeal_count, rng=rng, time_rng=time_rng, limit=limit
        )
        replay = Replay(city=city, rng=rng, time_rng=time_rng, limit=limit)
        # Each story plays out at once after its filing, its steps stamped at their own
        # simulated moments.
        for done, story in enumerate(stories, start=1):
            replay.play(story)
            if done % 50 == 0 or done == len(stories):
                out.write(f"已生成 {done}/{len(stories)} 件诉求……")
    # What the apps built on appeals add (appeals.events.listen_demo_built): the board's history.
    events.demo_built(now=limit, out=out)
    return city
