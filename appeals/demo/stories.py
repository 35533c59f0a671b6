"""The appeals' stories: which scenario each appeal plays, who files it when and about what
(`plan_stories`), and `StoryTime`, the simulated moment of a story's next step."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import chinese_calendar
from django.utils import timezone

from appeals.demo.city import COUNTIES, City, demo_region_codes
from appeals.demo.texts import NOT_ACCEPTED, PROBLEMS, REDIRECTED
from appeals.models import Appeal, Assignment, Enterprise, Reply
from departments.models import Category, Region

ANONYMOUS_SHARE = 0.15

# ---------------------------------------------------------------------------------------------
# Where each appeal ends up
# ---------------------------------------------------------------------------------------------

# Scenario: (weight, filed at least / at most this many days ago). Every scenario is played at
# least once, so even a small run covers every status; the rest are drawn by weight.
SCENARIOS: dict[str, tuple[int, float, float]] = {
    "triage_new": (8, 0.05, 12),
    "triage_returned": (3, 3, 20),
    "assigned": (8, 0.2, 7),
    "in_progress": (7, 3, 25),
    "in_progress_opinions": (5, 4, 30),
    "in_progress_rehandle": (2, 15, 45),
    "in_progress_sent_back": (2, 8, 35),
    "pending_head": (3, 5, 25),
    "pending_office": (3, 7, 30),
    "replied": (7, 5, 30),
    "replied_reviewed": (3, 10, 40),
    "closed_rated": (25, 12, 60),
    "closed_explained": (6, 18, 60),
    "closed_rehandled": (4, 25, 60),
    "closed_by_staff": (5, 18, 60),
    "not_accepted": (4, 1, 60),
    "redirected": (2, 1, 60),
    "merged": (3, 1, 50),
}
_EARLY_ENDS = ("not_accepted", "redirected", "merged")
_STAFF_CHANNELS = (
    Appeal.Channel.HOTLINE,
    Appeal.Channel.MEETING,
    Appeal.Channel.VISIT,
    Appeal.Channel.LETTER,
)

CATEGORY_WEIGHTS = {
    "land": 12,
    "labour": 10,
    "finance": 9,
    "utilities": 10,
    "approval": 12,
    "policy": 12,
    "enforcement": 7,
    "arrears": 10,
    "ip": 5,
    "competition": 5,
    "other": 8,
}


@dataclass
class Story:
    """One appeal's plan, and what it became."""

    scenario: str
    filed_at: datetime
    channel: str
    anonymous: bool
    enterprise: Enterprise | None
    filer: object | None  # the user who files; None = the public web form
    category: Category | None  # the commissioner's classification
    filed_category: Category | None  # what the filer chose, if anything
    region: Region
    title: str
    content: str
    lead_hint: str | None = None
    priority: str = Appeal.Priority.NORMAL
    explanation: str = ""
    merge_target: Story | None = None
    index: int = 0  # its place in filing order
    appeal_id: int = 0
    number: str = ""
    commissioner: object | None = None
    lead: Assignment = field(init=False)  # set when routed
    cos: list[Assignment] = field(default_factory=list)
    reply: Reply = field(init=False)  # set by the latest reply


class StoryTime:
    """The simulated moment of an appeal's next step: hours or days after the previous one,
    staff steps in office hours on working days, never past `limit` (the real now)."""

    def __init__(self, start: datetime, limit: datetime, rng: random.Random):
        self.t, self.limit, self.rng = start, limit, rng

    def after(self, lo_hours: float, hi_hours: float, *, staff: bool = True) -> datetime:
        candidate = self.t + timedelta(hours=self.rng.uniform(lo_hours, hi_hours))
        if staff:
            candidate = self._office_hours(candidate)
        if candidate >= self.limit:
            # Squeeze the rest of the story into the time left rather than into the future,
            # in office hours if there are any left.
            room = self.limit - self.t
            tries = [self.t + room * self.rng.uniform(0.02, 0.5) for _ in range(12)]
            if staff:
                fits = [m for m in map(self._office_hours, tries) if m < self.limit]
                tries = fits or tries
            candidate = tries[0]
        self.t = candidate
        return candidate

    def _office_hours(self, moment: datetime) -> datetime:
        local = timezone.localtime(moment)
        for _attempt in range(30):
            minutes = local.hour * 60 + local.minute
            if _is_workday(local.date()) and 8 * 60 + 30 <= minutes < 17 * 60 + 30:
                return local
            if _is_workday(local.date()) and minutes < 8 * 60 + 30:
                day = local
            else:
                day = local + timedelta(days=1)
            local = day.replace(hour=8, minute=30, second=0, microsecond=0) + timedelta(
                minutes=self.rng.randint(0, 150)
            )
        return local


def plan_stories(
    *, city: City, count: int, rng: random.Random, time_rng: random.Random, limit: datetime
) -> list[Story]:
    """`count` stories in filing order (so registration numbers grow with the filing time),
    none filed after `limit`, the real now."""
    if count == 0:
        return []
    return _Planner(city=city, rng=rng, time_rng=time_rng, limit=limit).plan(count)


class _Planner:
    def __init__(self, *, city: City, rng: random.Random, time_rng: random.Random, limit: datetime):
        self.city = city
        self.rng = rng
        self.time_rng = time_rng
        self.limit = limit
        # Stories that need staff start before the last office hours, so that their staff
        # steps can happen in office hours too (now may be a Sunday night).
        self.office_limit = _last_office_moment(limit)

    def plan(self, count: int) -> list[Story]:
        scenarios = list(SCENARIOS)[:count]
        names, weights = list(SCENARIOS), [w for w, _lo, _hi in SCENARIOS.values()]
        scenarios += self.rng.choices(names, weights=weights, k=count - len(scenarios))
        stories = [self._plan(s) for s in scenarios]
        self._plan_merges(stories)
        stories.sort(key=lambda s: s.filed_at)
        for index, story in enumerate(stories, start=1):
            story.index = index
        return stories

    def _plan(self, scenario: str) -> Story:
        rng = self.rng
        _weight, lo, hi = SCENARIOS[scenario]
        base = self.limit if scenario == "triage_new" else self.office_limit
        filed_at = base - timedelta(days=rng.uniform(lo, hi))
        anonymous = scenario != "merged" and rng.random() < ANONYMOUS_SHARE
        lead_hint, explanation, category, filed_category = None, "", None, None
        if scenario in ("not_accepted", "redirected"):
            title, content, explanation = rng.choice(
                NOT_ACCEPTED if scenario == "not_accepted" else REDIRECTED
            )
            if scenario == "redirected" or rng.random() < 0.5:
                filed_category = self.city.categories["other"]
        else:
            top = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
            cat_code, title, content, lead_hint = rng.choice(PROBLEMS[top])
            category = self.city.categories[cat_code]
        if anonymous:
            enterprise, filer = None, None
            channel = rng.choices([Appeal.Channel.WEB, Appeal.Channel.LETTER], weights=[85, 15])[0]
            region = self.city.regions[rng.choice(demo_region_codes()[1:])]
        else:
            channel = rng.choices(
                [Appeal.Channel.WEB, *_STAFF_CHANNELS], weights=[70, 10, 7, 8, 5]
            )[0]
            filer = None
            if channel == Appeal.Channel.WEB and self.city.enterprise_users and rng.random() < 0.15:
                index = rng.randrange(len(self.city.enterprise_users))
                enterprise, filer = (
                    self.city.enterprise_accounts[index],
                    self.city.enterprise_users[index],
                )
            else:
                enterprise = rng.choice(self.city.enterprises)
            region = required(enterprise.region)
        if channel in _STAFF_CHANNELS:
            # Staff entering a hotline call or a meeting record classify it as they go, in
            # office hours.
            filer = self.city.commissioner_for(enterprise) or rng.choice(self.city.commissioners)
            filed_category = filed_category or category
            filed_at = StoryTime(filed_at, self.limit, self.time_rng).after(0, 0.5)
        elif category is not None and rng.random() < 0.6:
            filed_category = category.parent or category  # the web form offers top categories
        county = required(region if region.level != Region.Level.TOWN else region.parent)
        park = next(zone for code, _n, _g, zone in COUNTIES if code == county.code)
        place = f"{county.name}{region.name}" if region.level == Region.Level.TOWN else region.name
        values = {
            "park": park,
            "place": place,
            "n": rng.randint(3, 12),
            "mu": rng.randint(20, 150),
            "days": rng.randint(20, 75),
            "amount": rng.choice([35, 48, 60, 86, 120, 150, 230, 380, 520, 760]),
            "months": rng.randint(2, 8),
            "people": rng.randint(20, 180),
        }
        return Story(
            scenario=scenario,
            filed_at=filed_at,
            channel=channel,
            anonymous=anonymous,
            enterprise=enterprise,
            filer=filer,
            category=category,
            filed_category=filed_category,
            region=region,
            title=title,
            content=content.format(**values),
            lead_hint=lead_hint,
            # Only staff say what is urgent (appeal_file ignores the public's choice).
            priority=Appeal.Priority.URGENT
            if rng.random() < 0.1 and channel in _STAFF_CHANNELS
            else Appeal.Priority.NORMAL,
            explanation=explanation,
        )

    def _plan_merges(self, stories: list[Story]) -> None:
        """A duplicate repeats an earlier appeal of the same enterprise, usually by phone."""
        targets = [s for s in stories if s.scenario not in _EARLY_ENDS and not s.anonymous]
        for story in stories:
            if story.scenario != "merged":
                continue
            if not targets:  # nothing to merge into: end it as not accepted instead
                story.scenario = "not_accepted"
                story.title, story.content, story.explanation = NOT_ACCEPTED[0]
                continue
            earlier = [t for t in targets if t.filed_at < story.filed_at - timedelta(days=1)]
            target = self.rng.choice(earlier or targets)
            if target.filed_at >= story.filed_at:
                story.filed_at = min(
                    target.filed_at + timedelta(hours=self.rng.uniform(2, 48)),
                    target.filed_at + (self.limit - target.filed_at) / 2,
                )
            story.merge_target = target
            story.enterprise, story.region = target.enterprise, target.region
            story.category = story.filed_category = target.category
            story.channel = self.rng.choice([Appeal.Channel.HOTLINE, Appeal.Channel.WEB])
            story.filer = None
            if story.channel == Appeal.Channel.HOTLINE:
                story.filer = self.city.commissioner_for(story.enterprise) or self.rng.choice(
                    self.city.commissioners
                )
                story.filed_at = StoryTime(story.filed_at, self.limit, self.time_rng).after(0, 0.5)
            story.title = f"再次反映：{target.title}"[:100]
            story.content = (
                f"{target.content[:120]}……此前已反映过该问题，至今未收到明确答复，"
                "现再次反映，请尽快处理。"
            )


_T = TypeVar("_T")


def required(value: _T | None) -> _T:
    """The value a story step relies on; None means the steps were played out of order."""
    if value is None:
        raise RuntimeError("demo_data: a story step ran before the step it depends on")
    return value


def _is_workday(day) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the package has no holiday data for
        return day.weekday() < 5


def _last_office_moment(moment: datetime) -> datetime:
    """`moment` if it falls in office hours (08:30–17:30 on a working day), else the end of the
    last office hours before it."""
    local = timezone.localtime(moment)
    for _attempt in range(30):
        minutes = local.hour * 60 + local.minute
        if _is_workday(local.date()) and minutes >= 8 * 60 + 30:
            if minutes < 17 * 60 + 30:
                return local
            return local.replace(hour=17, minute=29, second=0, microsecond=0)
        local = (local - timedelta(days=1)).replace(hour=23, minute=59)
    return local
